"""Tests for cardinality at preserved complexity: the paper's Table 2 exactly, and real modules."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from resnext_viz.blocks.builder import flop_counter_macs
from resnext_viz.blocks.cardinality import (TABLE2_PAPER, TABLE3_SOURCE, TABLE3_TOP1_ERROR, fixed_width_rows,
                                     solve_preserved_complexity, template_macs, template_params)

# Table 2 (C, d, params, GMACs at 56x56), params = eq. 4 evaluated exactly.
TABLE2 = [(1, 64, 69_632, 0.2184), (2, 40, 69_760, 0.2188), (4, 24, 69_888, 0.2192),
          (8, 14, 71_456, 0.2241), (32, 4, 70_144, 0.2200)]


def template(C: int, d: int, c_in: int = 256, c_out: int = 256) -> nn.Sequential:
    """The block template as real convolutions, without BN: 1x1 -> grouped 3x3 -> 1x1."""
    return nn.Sequential(nn.Conv2d(c_in, C * d, 1, bias=False),
                         nn.Conv2d(C * d, C * d, 3, padding=1, groups=C, bias=False),
                         nn.Conv2d(C * d, c_out, 1, bias=False))


def test_reproduces_table2_exactly():
    rows = {r.C: r for r in solve_preserved_complexity(cardinalities=(1, 2, 4, 8, 32))}
    for C, d, params, gmacs in TABLE2:
        r = rows[C]
        assert (r.d, r.width, r.params) == (d, C * d, params)
        assert round(r.macs / 1e9, 4) == gmacs
        assert r.in_table2
    assert [(C, d, C * d) for C, d, _, _ in TABLE2] == list(TABLE2_PAPER)


def test_default_cardinalities_include_16_and_64():
    rows = solve_preserved_complexity()
    assert [r.C for r in rows] == [1, 2, 4, 8, 16, 32, 64]
    by_c = {r.C: r for r in rows}
    assert by_c[16].d == 8 and not by_c[16].in_table2  # 74,752 is closer than d = 7's 64,400
    assert by_c[64].d == 2
    assert all(abs(r.rel_diff) < 0.08 for r in rows)


def test_closest_d_is_really_closest():
    for r in solve_preserved_complexity(budget=123_457, cardinalities=(1, 3, 5, 16, 100)):
        gaps = [abs(template_params(r.C, d) - 123_457) for d in range(1, 200)]
        assert abs(r.params - 123_457) == min(gaps)


@pytest.mark.parametrize("C, d", [(1, 64), (8, 14), (32, 4)])
def test_solver_rows_match_real_modules(C, d):
    row = next(r for r in solve_preserved_complexity(cardinalities=(C,)) if r.C == C)
    assert row.d == d
    module = template(C, d).to("meta")
    assert sum(p.numel() for p in module.parameters()) == row.params
    assert flop_counter_macs(module, torch.empty(1, 256, 56, 56, device="meta")) == row.macs


def test_fixed_width_more_groups_fewer_params():
    rows = fixed_width_rows(128)
    assert [r.C for r in rows] == [1, 2, 4, 8, 16, 32, 64, 128]
    params = [r.params for r in rows]
    assert params == sorted(params, reverse=True) and len(set(params)) == len(params)
    for r in rows:
        assert r.C * r.d == 128 and r.grouped_params == 9 * 128 * 128 // r.C
        assert r.params == 2 * 256 * 128 + r.grouped_params
        assert r.macs == template_macs(r.C, r.d)
        assert sum(p.numel() for p in template(r.C, r.d).to("meta").parameters()) == r.params


def test_table3_is_cited():
    assert "Table 3" in TABLE3_SOURCE and "1611.05431" in TABLE3_SOURCE
    errors = {(r.model, r.C, r.d): r.top1_error for r in TABLE3_TOP1_ERROR}
    assert errors[("ResNet-50", 1, 64)] == 23.9 and errors[("ResNeXt-50", 32, 4)] == 22.2
    assert errors[("ResNet-101", 1, 64)] == 22.0 and errors[("ResNeXt-101", 32, 4)] == 21.2
    assert len(errors) == 10


@pytest.mark.parametrize("kwargs, message", [
    (dict(budget=0), "budget must be between 1"),
    (dict(budget=2.5), "budget must be a whole number"),
    (dict(cardinalities=()), "at least one cardinality"),
    (dict(cardinalities=(1, 0)), "each cardinality must be between 1"),
    (dict(cardinalities=(4, 4)), "appear once"),
    (dict(budget=10_000, cardinalities=(1, 64)), "even d = 1 needs 33,344 weights"),
    (dict(hw=0), "hw must be between 1"),
])
def test_bad_inputs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        solve_preserved_complexity(**kwargs)
    with pytest.raises(ValueError, match="width must be between 1"):
        fixed_width_rows(0)
