"""Formulas against PyTorch's own counts, and the exact numbers of REFERENCE.md."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from resnext_viz.conv import arithmetic as cm
from resnext_viz.conv.torch_check import pytorch_counts


@st.composite
def valid_specs(draw):
    g = draw(st.integers(1, 32))
    c_in = g * draw(st.integers(1, 16))
    c_out = g * draw(st.integers(1, 16))
    kh, kw = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    padding = draw(st.integers(0, 3))
    h = draw(st.integers(max(1, kh - 2 * padding), 40))
    w = draw(st.integers(max(1, kw - 2 * padding), 40))
    return cm.ConvSpec(c_in=c_in, c_out=c_out, kh=kh, kw=kw, groups=g, bias=draw(st.booleans()), h=h, w=w,
                       stride=draw(st.integers(1, 4)), padding=padding)


def meta_conv(s: cm.ConvSpec) -> torch.nn.Conv2d:
    return torch.nn.Conv2d(s.c_in, s.c_out, (s.kh, s.kw), stride=s.stride, padding=s.padding, groups=s.groups,
                           bias=s.bias, device="meta")


@settings(max_examples=150, deadline=None)
@given(valid_specs())
def test_params_equal_pytorch_numel(s):
    conv = meta_conv(s)
    assert cm.param_count(s) == sum(p.numel() for p in conv.parameters())
    assert cm.weight_count(s) == conv.weight.numel()
    assert cm.weight_shape(s) == tuple(conv.weight.shape)
    assert cm.bias_count(s) == (conv.bias.numel() if s.bias else 0)


@settings(max_examples=100, deadline=None)
@given(valid_specs())
def test_macs_equal_flopcounter_half_and_shape_equal_pytorch(s):
    conv = meta_conv(s)
    with FlopCounterMode(display=False) as fc:
        y = conv(torch.empty(1, s.c_in, s.h, s.w, device="meta"))
    assert cm.macs(s) * 2 == fc.get_total_flops()
    assert cm.output_shape(s) == tuple(y.shape)


@settings(max_examples=60, deadline=None)
@given(valid_specs())
def test_output_shape_matches_a_real_cpu_conv(s):
    conv = torch.nn.Conv2d(s.c_in, s.c_out, (s.kh, s.kw), stride=s.stride, padding=s.padding, groups=s.groups,
                           bias=s.bias)
    assert tuple(conv(torch.zeros(1, s.c_in, s.h, s.w)).shape) == cm.output_shape(s)


def test_seed_example_exact_numbers():
    r = cm.report(cm.ConvSpec(64, 128, 3, 3, groups=32))
    assert r.dense_weights == 73_728 and r.weights == 2_304
    assert r.in_per_group == 2 and r.out_per_group == 4 and r.weights_per_group == 72
    assert cm.fmt_pct(r.weight_reduction) == "96.9%" and r.weight_reduction == 0.96875
    assert r.factor == 32
    assert r.weight_shape == (128, 2, 3, 3)


def test_bias_counted_separately_reference_numbers():
    r = cm.report(cm.ConvSpec(64, 128, 3, 3, groups=32, bias=True))
    assert (r.params, r.dense_params) == (2_432, 73_856)
    assert cm.fmt_pct(r.param_reduction) == "96.7%"
    assert r.weight_reduction == 0.96875


def test_pytorch_check_agrees_for_default_and_huge_layers():
    for s in (cm.ConvSpec(), cm.ConvSpec(8192, 8192, 15, 15, 1, True, 2048, 2048, 1, 16)):
        t = pytorch_counts(s)
        assert (t.params, t.weight_shape, t.output_shape, t.macs) == (
            cm.param_count(s), cm.weight_shape(s), cm.output_shape(s), cm.macs(s))


def test_valid_groups_are_common_divisors():
    assert cm.valid_groups(64, 128) == [1, 2, 4, 8, 16, 32, 64]
    assert cm.valid_groups(12, 18) == [1, 2, 3, 6]
    assert cm.valid_groups(7, 5) == [1]
    for a, b in ((96, 60), (2048, 2048), (1, 8192)):
        assert cm.valid_groups(a, b) == [g for g in range(1, min(a, b) + 1) if a % g == 0 and b % g == 0]


def test_invalid_groups_explained_with_valid_list():
    with pytest.raises(cm.SpecError) as e:
        cm.validate(cm.ConvSpec(64, 128, groups=3))
    msg = str(e.value)
    assert "divide both 64 and 128" in msg and "1, 2, 4, 8, 16, 32, 64" in msg
    assert cm.nearest_valid_groups(64, 128, 3) == 2
    assert cm.nearest_valid_groups(64, 128, 48) == 32


@pytest.mark.parametrize("field,value,needle", [
    ("c_in", 0, "between 1 and 8192"), ("c_out", 9000, "between 1 and 8192"), ("kh", 16, "between 1 and 15"),
    ("stride", 0, "between 1 and 8"), ("padding", -1, "between 0 and 16"),
])
def test_bounds_give_messages(field, value, needle):
    with pytest.raises(cm.SpecError, match=needle):
        cm.validate(cm.ConvSpec().with_(**{field: value, "groups": 1}))


def test_kernel_larger_than_padded_input_is_explained():
    with pytest.raises(cm.SpecError, match="does not fit"):
        cm.validate(cm.ConvSpec(h=2, w=56))


def test_sweep_rows_cover_every_valid_group_and_fall_as_one_over_g():
    rows = cm.sweep_groups(cm.ConvSpec())
    assert [r.groups for r in rows] == cm.valid_groups(64, 128)
    for r in rows:
        assert r.params * r.groups == 73_728 and r.macs * r.groups == rows[0].macs


def test_formatting():
    assert cm.fmt_int(73728) == "73,728"
    assert cm.fmt_bytes(802816) == "784.0 KiB"
    assert cm.fmt_count(6_718_464) == "6.72 M"


def test_percent_never_rounds_up_to_a_full_hundred():
    assert cm.fmt_pct(1 - 1 / 8192) == "99.99%" and cm.fmt_pct(1.0) == "100.0%"
