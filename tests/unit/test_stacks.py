"""Stacked layers: reachability against autograd's Jacobian of a real random-weight torch stack."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from resnext_viz.conv import mech_torch, stacks


def torch_jacobian_pattern(c: int, codes: list[str], seed: int) -> np.ndarray:
    """Oracle written here, not imported: 1x1 convs (nn.Conv2d(c, c, 1, groups=G)) and reshape/transpose shuffles."""
    torch.manual_seed(seed)
    layers = []
    for code in codes:
        if code.startswith("shuffle"):
            g = int(code[7:])
            layers.append(lambda x, g=g: x.view(1, g, c // g, 1, 1).transpose(1, 2).reshape(1, c, 1, 1))
        else:
            layers.append(torch.nn.Conv2d(c, c, 1, groups=int(code[1:]), bias=False, dtype=torch.float64))

    def net(v):
        x = v.view(1, c, 1, 1)
        for f in layers:
            x = f(x)
        return x.view(c)
    x = torch.randn(c, dtype=torch.float64)
    return (torch.autograd.functional.jacobian(net, x) != 0).numpy()   # (c, c) [output, input]


@st.composite
def stacks_of_layers(draw):
    c = draw(st.sampled_from([1, 2, 4, 6, 8, 12, 16, 24]))
    divs = [d for d in range(1, c + 1) if c % d == 0]
    n = draw(st.integers(1, 5))
    codes = [f"{draw(st.sampled_from(['g', 'shuffle']))}{draw(st.sampled_from(divs))}" for _ in range(n)]
    return c, codes


@settings(max_examples=60, deadline=None)
@given(stacks_of_layers(), st.integers(0, 1000))
def test_reachability_equals_autograd_jacobian_pattern(case, seed):
    c, codes = case
    expected = torch_jacobian_pattern(c, codes, seed)
    assert np.array_equal(stacks.reachability(c, codes), expected)
    assert np.array_equal(mech_torch.jacobian_pattern(c, codes, seed), expected)


def test_two_grouped_layers_stay_block_diagonal():
    r = stacks.reachability(16, ["g4", "g4"])
    blocks = np.kron(np.eye(4, dtype=bool), np.ones((4, 4), dtype=bool))
    assert np.array_equal(r, blocks)


def test_grouped_shuffle_grouped_reaches_everything():
    assert stacks.reachability(16, ["g4", "shuffle4", "g4"]).all()
    assert not stacks.reachability(16, ["g4", "g4"]).all()


def test_shuffle_permutation_is_reshape_transpose_flatten():
    x = torch.arange(12).view(3, 4).t().reshape(-1).numpy()
    assert np.array_equal(stacks.shuffle_permutation(12, 3), x)
    assert sorted(stacks.shuffle_permutation(12, 3)) == list(range(12))


def test_steps_are_cumulative_and_end_at_reachability():
    steps = stacks.reachability_steps(16, "g1, g4, g1")
    assert len(steps) == 3 and steps[0].all() and steps[-1].all()
    assert np.array_equal(stacks.reachability_steps(8, ["g2"])[0], stacks.layer_matrix(8, "g2"))


@pytest.mark.parametrize("codes,target_groups", [(["g4", "g4"], 4), (["g4", "shuffle4", "g4"], 4),
                                                  (["g1", "g8", "g1"], 8), (["g2", "g8"], 8), (["shuffle2", "g4"], 2)])
def test_exact_zero_gradient_counts_equal_autograd(codes, target_groups):
    c = 16
    for g in (0, target_groups - 1):
        target = stacks.target_channels(c, target_groups, g)
        ours = stacks.zero_gradients(c, codes, target)
        theirs = mech_torch.zero_gradients(c, codes, target, seed=3)
        assert (ours.input_zeros, ours.weight_zeros, ours.weight_counts) == \
               (theirs.input_zeros, theirs.weight_zeros, theirs.weight_counts)


def test_one_output_group_of_two_grouped_layers_zeroes_three_quarters():
    z = stacks.zero_gradients(16, ["g4", "g4"], stacks.target_channels(16, 4, 1))
    assert z.input_zeros == 12 and z.weight_zeros == (48, 48) and z.weight_counts == (64, 64)
    assert stacks.zero_gradients(16, ["g4", "shuffle4", "g4"], stacks.target_channels(16, 4, 1)).input_zeros == 0


@pytest.mark.parametrize("c,codes,words", [
    (16, ["g3"], "must divide 16"), (16, ["x4"], "not a layer code"), (16, ["shuffle0"], "at least 1 group"),
    (16, [], "1 to 8 layers"), (16, ["g1"] * 9, "Remove 1"), (300, ["g1"], "from 1 to 256"), (16, ["g"], "layer code"),
])
def test_bad_stacks_say_what_to_do(c, codes, words):
    with pytest.raises(ValueError, match=words):
        stacks.reachability(c, codes)


def test_comma_string_is_accepted():
    assert np.array_equal(stacks.reachability(8, " g2 , shuffle2,g2 "), stacks.reachability(8, ["g2", "shuffle2", "g2"]))
