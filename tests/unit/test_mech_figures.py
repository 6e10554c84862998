"""The mechanics figures by structure: frames, play/pause, what is greyed, one heatmap per layer."""

import numpy as np

from resnext_viz.conv import mech_figures as mf
from resnext_viz.conv import stacks
from resnext_viz.conv import stepthrough as sv


def test_one_channel_has_one_frame_per_position_and_play_pause():
    s = sv.StepSpec()
    fig = mf.one_channel(s, sv.tensors(s), 5)
    assert fig.layout.meta["frames"] == len(fig.frames) == 16
    assert fig.layout.meta["reads"] == [4, 6] and fig.layout.meta["group"] == 2
    labels = [b.label for b in fig.layout.updatemenus[0].buttons]
    assert any("Play" in x for x in labels) and any("Pause" in x for x in labels)
    assert [st.label for st in fig.layout.sliders[0].steps][:2] == ["(0, 0)", "(0, 1)"]
    # the last frame shows the whole output plane, equal to the written-out values
    out = next(t for t in fig.frames[-1].data if t.name == "output")
    assert np.array_equal(np.asarray(out.z, dtype=float), sv.plane(s, sv.tensors(s), 5))
    first = next(t for t in fig.frames[0].data if t.name == "output")
    assert np.isnan(np.asarray(first.z, dtype=float)).sum() == 15
    kernels = [t.name for t in fig.data if t.name and t.name.startswith("kernel")]
    assert kernels == ["kernel 4", "kernel 5"]                       # lined up under the planes it reads only


def test_one_channel_dense_reads_every_plane_and_starts_where_asked():
    s = sv.StepSpec(groups=1)
    fig = mf.one_channel(s, sv.tensors(s), 0, start=(2, 1))
    assert len([t for t in fig.data if t.name and t.name.startswith("kernel")]) == 8
    assert fig.layout.sliders[0].active == 2 * 4 + 1


def test_reach_steps_one_heatmap_per_layer_and_counts_in_titles():
    fig = mf.reach_steps(16, ["g4", "shuffle4", "g4"], 4)
    assert len(fig.data) == 3 and fig.layout.meta["layers"] == 3
    titles = [a.text for a in fig.layout.annotations]
    assert "64 of 256 pairs" in titles[0] and "256 of 256 pairs" in titles[2]


def test_shuffle_diagram_draws_every_channel_once():
    fig = mf.shuffle_diagram(12, 3)
    lines = [t for t in fig.data if t.mode == "lines"]
    assert len(lines) == 3 and sum(len([v for v in t.x if v is None]) for t in lines) == 12
    perm = stacks.shuffle_permutation(12, 3)
    assert list(perm[:4]) == [0, 4, 8, 1]


def test_overview_has_every_plane_and_slab():
    s = sv.StepSpec()
    fig = mf.overview(s, sv.output(s, sv.tensors(s)))
    names = [t.name for t in fig.data]
    assert sum(n.startswith("input") for n in names) == 8 and sum(n.startswith("slab") for n in names) == 4
    assert sum(n.startswith("output") for n in names) == 8
