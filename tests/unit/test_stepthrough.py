"""The step-through's written-out dot products against torch.nn.functional.conv2d."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from resnext_viz.conv import mech_torch
from resnext_viz.conv import stepthrough as sv


@st.composite
def specs(draw):
    g = draw(st.integers(1, 4))
    c_in, c_out = g * draw(st.integers(1, 3)), g * draw(st.integers(1, 3))
    k = draw(st.integers(1, 4))
    padding = draw(st.integers(0, 2))
    h = draw(st.integers(max(1, k - 2 * padding), 8))
    w = draw(st.integers(max(1, k - 2 * padding), 8))
    s = sv.StepSpec(c_in=c_in, c_out=c_out, groups=g, h=h, w=w, k=k, stride=draw(st.integers(1, 3)),
                    padding=padding, seed=draw(st.integers(0, 9999)))
    assume(s.out_hw[0] * s.out_hw[1] <= sv.MAX_POSITIONS and s.cells() <= sv.MAX_CELLS)
    return s


@settings(max_examples=120, deadline=None)
@given(specs(), st.data())
def test_written_out_value_equals_conv2d(s, data):
    t = sv.tensors(s)
    ref = F.conv2d(torch.from_numpy(t.x)[None], torch.from_numpy(t.w), torch.from_numpy(t.b),
                   stride=s.stride, padding=s.padding, groups=s.groups)[0].numpy()
    ho, wo = s.out_hw
    assert ref.shape == (s.c_out, ho, wo)
    o, i, j = data.draw(st.integers(0, s.c_out - 1)), data.draw(st.integers(0, ho - 1)), data.draw(st.integers(0, wo - 1))
    one = sv.step(s, t, o, i, j)
    assert one.value == ref[o, i, j]
    assert one.products.sum() + one.bias == ref[o, i, j]
    assert list(one.channels) == list(range(one.group * s.per_in, (one.group + 1) * s.per_in))
    # the written-out line ends with the same number
    assert sv.written_out(one)[-1].endswith(sv._n(ref[o, i, j]))


@settings(max_examples=30, deadline=None)
@given(specs())
def test_whole_output_equals_conv2d(s):
    t = sv.tensors(s)
    assert np.array_equal(sv.output(s, t), mech_torch.conv2d(s, t))


def test_default_is_teaching_size_and_integer():
    s = sv.StepSpec()
    t = sv.tensors(s)
    assert s.out_hw == (4, 4) and t.x.shape == (8, 6, 6) and t.w.shape == (8, 2, 3, 3)
    assert np.array_equal(t.x, np.round(t.x)) and t.x.min() >= 0 and t.x.max() <= 4
    assert np.array_equal(sv.tensors(s.with_(groups=1)).x, t.x)       # the G = 1 toggle keeps the input


def test_grouped_filter_reads_only_its_block():
    s = sv.StepSpec()
    t = sv.tensors(s)
    x2 = t.x.copy()
    x2[:2] += 100                                                       # change group 0's inputs only
    t2 = sv.Tensors(x2, t.w, t.b)
    assert np.array_equal(sv.plane(s, t, 7), sv.plane(s, t2, 7))        # output 7 is group 3's
    assert not np.array_equal(sv.plane(s, t, 0), sv.plane(s, t2, 0))


@pytest.mark.parametrize("changes,words", [
    (dict(c_in=16, c_out=16, h=10, w=10), "at most 1,200"), (dict(c_in=17), "from 1 to 16"),
    (dict(groups=3), "Valid here: 1, 2, 4, 8"), (dict(h=2, k=3), "smaller than the 3×3 kernel"),
    (dict(h=10, w=10, k=1, c_in=2, c_out=2, groups=1, padding=2), "at most 100"),
])
def test_bounds_refuse_with_a_suggestion(changes, words):
    with pytest.raises(ValueError, match=words):
        sv.validate(sv.StepSpec().with_(**changes))


def test_written_out_lines():
    s = sv.StepSpec(c_in=2, c_out=2, groups=2, h=2, w=2, k=1)
    t = sv.Tensors(np.array([[[1., 2], [3, 4]], [[5, 6], [7, 8]]]), np.array([[[[2.]]], [[[-1.]]]]), np.array([1., 0]))
    lines = sv.written_out(sv.step(s, t, 1, 0, 1))
    assert lines == ["channel 1: 6·(−1) = (−6)", "y[1, 0, 1] = (−6) + bias 0 = (−6)"]
