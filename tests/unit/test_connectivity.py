"""Connectivity against a real grouped convolution's weights."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from resnext_viz.conv import connectivity as cx

CASES = [(64, 128, 32), (12, 18, 3), (8, 8, 8), (6, 10, 1), (96, 60, 12)]


def grouped_weight_as_dense(c_in: int, c_out: int, groups: int) -> np.ndarray:
    """Expand a real grouped conv's (C_out, C_in/G, 1, 1) weight into the (C_out, C_in) dense matrix it acts as."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(c_in, c_out, 1, groups=groups, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.rand_like(conv.weight) + 0.5)   # strictly nonzero weights
    eye = torch.eye(c_in).reshape(c_in, c_in, 1, 1)             # each one-hot input channel, as a batch
    with torch.no_grad():
        response = conv(eye).reshape(c_in, c_out)               # (C_in, C_out): output for input channel i
    return response.T.numpy()                                   # (C_out, C_in)


@pytest.mark.parametrize("c_in,c_out,g", CASES)
def test_mask_equals_nonzero_pattern_of_real_grouped_conv(c_in, c_out, g):
    assert np.array_equal(cx.dense_mask(c_in, c_out, g), grouped_weight_as_dense(c_in, c_out, g) != 0)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 16), st.integers(1, 12), st.integers(1, 12))
def test_edges_count_and_each_output_sees_its_own_group(g, a, b):
    c_in, c_out = g * a, g * b
    e = cx.edges(c_in, c_out, g)
    assert len(e) == cx.edge_count(c_in, c_out, g) == c_in * c_out // g
    assert len({(i, o) for i, o, _ in e}) == len(e)               # no duplicate edge
    for o in range(c_out):
        ins = e[e[:, 1] == o][:, 0]
        assert len(ins) == c_in // g
        og = cx.group_of_output(c_out, g, o)
        assert all(cx.group_of_input(c_in, g, i) == og for i in ins)
        lo, hi = cx.input_range(c_in, g, og)
        assert set(ins.tolist()) == set(range(lo, hi))             # a contiguous block, not interleaved
    assert np.array_equal(e[:, 2], cx.group_of_output(c_out, g, e[:, 1]))


def test_mask_is_block_diagonal_and_density_one_over_g():
    m = cx.dense_mask(64, 128, 32)
    assert m.sum() == 64 * 128 // 32
    assert m[0:4, 0:2].all() and not m[0:4, 2:].any()
    assert m[124:128, 62:64].all()


@pytest.mark.parametrize("c_in,c_out,g,side", [(100, 60, 5, 16), (300, 200, 100, 16), (2048, 2048, 32, 128),
                                              (64, 128, 32, 128)])
def test_pooled_mask_equals_block_average_of_dense_mask(c_in, c_out, g, side):
    frac, rs, cs = cx.pooled_mask(c_in, c_out, g, max_side=side)
    m = cx.dense_mask(c_in, c_out, g)
    ref = np.array([[m[r * rs:(r + 1) * rs, c * cs:(c + 1) * cs].mean() for c in range(frac.shape[1])]
                    for r in range(frac.shape[0])])
    assert frac.shape[0] <= side and frac.shape[1] <= side
    np.testing.assert_allclose(frac, ref, atol=1e-6)


def test_bands_partition_channels_and_edges():
    bs = cx.bands(2048, 2048, 32)
    assert len(bs) == 32
    assert sum(b.edges for b in bs) == cx.edge_count(2048, 2048, 32)
    assert bs[0].in_start == 0 and bs[-1].in_stop == 2048 and bs[5].out_start == 5 * 64


def test_band_threshold():
    assert not cx.draws_bands(64, 128, 32) and not cx.draws_bands(64, 128, 1)
    assert cx.draws_bands(2048, 2048, 32)


def test_invalid_groups_rejected_with_explanation():
    with pytest.raises(ValueError, match="Valid group counts"):
        cx.edges(64, 128, 3)
