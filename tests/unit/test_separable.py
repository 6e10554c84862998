"""Depthwise-separable counts against nn.Conv2d on the meta device, and MobileNet's ratio against the counts."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resnext_viz.conv import arithmetic as cm
from resnext_viz.conv import mech_torch, separable


def _meta(layer: separable.Layer) -> tuple[int, int]:
    s = layer.spec
    return mech_torch.meta_params(s.c_in, s.c_out, s.kh, s.groups, s.h, s.w, s.stride, s.padding)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 8), st.integers(1, 8), st.sampled_from([1, 3, 5]),
       st.integers(5, 20), st.integers(1, 2), st.integers(0, 2))
def test_counts_equal_meta_device_and_ratio_equals_counts(g, a, b, k, hw, stride, padding):
    spec = cm.ConvSpec(c_in=g * a, c_out=g * b, kh=k, kw=k, groups=g, h=hw, w=hw, stride=stride, padding=padding)
    d = separable.designs(spec)
    for layer in (d.standard, d.grouped, d.depthwise, d.pointwise):
        assert (layer.params, layer.macs) == _meta(layer)
    std = d.standard
    assert Fraction(d.separable_params, std.params) == d.ratio
    assert Fraction(d.separable_macs, std.macs) == d.ratio
    assert d.pointwise.spec.h == cm.output_hw(d.depthwise.spec)[0]


def test_seed_example_numbers():
    d = separable.designs(cm.ConvSpec())          # 64 -> 128, 3x3, G = 32, 56x56
    assert d.standard.params == 73_728 and d.grouped.params == 2_304
    assert d.depthwise.params == 576 and d.pointwise.params == 8_192
    assert d.ratio == Fraction(1, 128) + Fraction(1, 9) == Fraction(137, 1152)
    assert float(d.ratio) == pytest.approx(0.1189, abs=1e-4)
