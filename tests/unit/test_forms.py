"""Tests for the paper's three equivalent forms (Fig. 3): same function, same weights, same size."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from resnext_viz.blocks.builder import flop_counter_macs
from resnext_viz.blocks.forms import (FormSpec, block_diagonal, branch_slices, build_forms, compare_forms,
                               init_form_weights)

SPECS = [
    FormSpec(c_in=64, C=8, d=4, c_out=64, height=8, width=8),
    FormSpec(c_in=32, C=4, d=3, c_out=48, stride=2, height=9, width=13),  # stride 2, non-square, c_out != c_in
    FormSpec(c_in=16, C=1, d=8, c_out=16, height=9, width=13),  # C = 1: a plain bottleneck
    FormSpec(c_in=24, C=6, d=1, c_out=40, stride=2, height=7, width=5, batch=3),  # d = 1: depthwise middle
    FormSpec(c_in=256, C=32, d=4, c_out=256, height=6, width=6, batch=1),  # Fig. 3's own sizes
]


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_three_forms_agree_in_float64(spec):
    result = compare_forms(spec, "cpu", torch.float64, seed=3, time_forms=False)
    assert result.output_max_abs > 0.1  # the outputs are not trivially zero
    assert all(diff < 1e-10 for diff in result.max_abs_diff.values()), result.max_abs_diff
    assert result.params == {"a": spec.params, "b": spec.params, "c": spec.params}


@pytest.mark.parametrize("spec", SPECS[:3], ids=str)
def test_macs_match_flop_counter(spec):
    x = torch.randn(spec.batch, spec.c_in, spec.height, spec.width, dtype=torch.float64)
    for form in build_forms(spec).values():
        assert flop_counter_macs(form, x) == spec.macs


def test_float32_agrees_to_rounding():
    result = compare_forms(SPECS[0], "cpu", "float32", time_forms=False)
    assert max(result.max_abs_diff.values()) < 1e-4 * result.output_max_abs


def test_each_form_owns_an_equal_copy_of_the_source():
    spec = SPECS[1]
    w = init_form_weights(spec, seed=1)
    forms = build_forms(spec, w)
    x = torch.randn(spec.batch, spec.c_in, spec.height, spec.width, dtype=torch.float64)
    with torch.no_grad():
        before = {k: f(x) for k, f in forms.items()}
        for t in (w.w1, w.w2, w.w3):
            t.mul_(-3.0).add_(1.0)  # vandalise the source after building
        after = {k: f(x) for k, f in forms.items()}
    assert all(torch.equal(before[k], after[k]) for k in forms)
    pointers = [p.data_ptr() for f in forms.values() for p in f.parameters()]
    pointers += [w.w1.data_ptr(), w.w2.data_ptr(), w.w3.data_ptr()]
    assert len(pointers) == len(set(pointers))


@pytest.mark.parametrize("spec", SPECS[:2], ids=str)
def test_branch_slices_locate_each_branch_in_the_grouped_form(spec):
    forms = build_forms(spec, seed=2)
    a, b, c = forms["a"], forms["b"], forms["c"]
    for s in branch_slices(spec):
        branch = a.branches[s.branch]
        r1, r2, c3 = (slice(*s.conv1_rows), slice(*s.conv2_rows), slice(*s.conv3_cols))
        assert torch.equal(c.conv1.weight[r1], branch[0].weight)
        assert torch.equal(c.conv2.weight[r2], branch[2].weight)  # group conv2_group's filters
        assert torch.equal(c.conv3.weight[:, c3], branch[4].weight)
        assert torch.equal(b.conv3.weight[:, c3], branch[4].weight)
        assert torch.equal(b.branches[s.branch][2].weight, branch[2].weight)
    assert "conv2 group 1" in branch_slices(spec)[1].describe()


def test_grouped_conv_is_a_dense_conv_with_block_diagonal_weights():
    C, d = 4, 3
    w = torch.randn(C * d, d, 3, 3, dtype=torch.float64)  # (C*d, d, 3, 3)
    dense = block_diagonal(w, C)
    assert dense.shape == (C * d, C * d, 3, 3)
    assert dense[0:d, d:].abs().sum() == 0 and dense[d:2 * d, :d].abs().sum() == 0
    x = torch.randn(2, C * d, 7, 6, dtype=torch.float64)
    assert torch.allclose(F.conv2d(x, w, padding=1, groups=C), F.conv2d(x, dense, padding=1), atol=1e-12)
    with pytest.raises(ValueError, match="groups"):
        block_diagonal(w, 5)


def test_compare_forms_times_every_form():
    result = compare_forms(SPECS[0], budget_s=0.02)
    assert set(result.times) == {"a", "b", "c"}
    assert all(t.n >= 3 and t.median_s > 0 for t in result.times.values())


@pytest.mark.parametrize("kwargs, message", [
    (dict(C=0), "C must be between 1 and 512"),
    (dict(d=0), "d must be between 1 and 4096"),
    (dict(stride=3), "stride must be 1 or 2"),
    (dict(C=512, d=16), "over the 4096 limit"),
    (dict(height=2.0), "height must be a whole number"),
    (dict(batch=256, height=512, width=512), "largest feature map"),
])
def test_bad_specs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FormSpec(**kwargs)


def test_bad_device_or_dtype():
    with pytest.raises(ValueError, match="float16 on the CPU"):
        compare_forms(SPECS[0], "cpu", torch.float16, time_forms=False)
