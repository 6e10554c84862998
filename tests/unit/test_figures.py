"""Figures compared by structure: traces, modes, colours, sizes."""

import json

import numpy as np
import plotly.graph_objects as go
import pytest

from resnext_viz.conv import arithmetic as cm
from resnext_viz.conv import figures as F
from resnext_viz.palette import FADED, GROUP_COLORS, group_color


def _edge_segments(fig: go.Figure) -> int:
    n = 0
    for t in fig.data:
        if t.name and t.name.startswith("edges"):
            n += int(np.isnan(np.asarray(t.y, dtype=float)).sum())
    return n


def test_bipartite_draws_every_edge_for_small_layers():
    fig = F.bipartite(64, 128, 32)
    assert fig.layout.meta["mode"] == "edges"
    assert _edge_segments(fig) == 64 * 128 // 32
    nodes = [t for t in fig.data if t.name in ("input channels", "output channels")]
    assert [len(t.y) for t in nodes] == [64, 128]
    # node colour follows the shared palette: input channel 5 is in group 2
    assert nodes[0].marker.color[5] == group_color(2)
    assert "group 2" in nodes[0].hovertext[5] and "input channel 5" in nodes[0].hovertext[5]


def test_bipartite_uses_bands_for_large_layers_and_stays_small():
    fig = F.bipartite(2048, 2048, 32)
    assert fig.layout.meta["mode"] == "bands"
    hover = [t for t in fig.data if t.name == "band hover"][0]
    assert len(hover.hovertext) == 32 and "channels 64–127" in hover.hovertext[1]
    assert len(fig.to_json()) <= 300_000


def test_highlight_fades_other_groups():
    fig = F.bipartite(64, 128, 32, highlight=3)
    faded = [t for t in fig.data if t.name and t.name.startswith("edges colour")]
    assert faded and all(t.line.color == FADED for t in faded)
    hl = [t for t in fig.data if t.name == "edges group 3"]
    assert len(hl) == 1 and hl[0].line.color == group_color(3)
    assert int(np.isnan(np.asarray(hl[0].y, dtype=float)).sum()) == 2 * 4


def test_compare_has_dense_and_grouped_panels():
    fig = F.bipartite_compare(64, 128, 32)
    assert fig.layout.meta["modes"] == ["edges", "edges"]
    titles = [a.text for a in fig.layout.annotations]
    assert any("8,192 connections" in t for t in titles) and any("256 connections" in t for t in titles)
    assert {t.xaxis for t in fig.data} == {"x", "x2"}


def test_connection_mask_block_diagonal_and_pooled_when_large():
    small = F.connection_mask(64, 128, 32)
    z = np.asarray(small.data[0].z, dtype=float)
    assert z.shape == (128, 64) and not small.layout.meta["pooled"]
    assert np.isnan(z[0, 2]) and z[0, 0] == 0 and z[4, 2] == 1   # group 1 uses palette colour 1
    big = F.connection_mask(2048, 2048, 32)
    assert big.layout.meta["pooled"] and big.layout.meta["shape"] == [128, 128]


def test_weight_slices_shape_and_labels():
    fig = F.weight_slices(cm.ConvSpec())
    assert fig.layout.meta["shape"] == [128, 2, 3, 3]
    texts = [a.text for a in fig.layout.annotations]
    assert "group 1: W[4:8] reads x[2:4]" in texts


def test_params_chart_has_every_valid_group():
    fig = F.params_vs_groups(cm.sweep_groups(cm.ConvSpec()), 32)
    assert list(fig.data[0].x) == ["1", "2", "4", "8", "16", "32", "64"]
    assert list(fig.data[0].y)[5] == 2304


def test_palette_is_shared_and_distinct():
    assert len(set(GROUP_COLORS)) == len(GROUP_COLORS) == 7
    assert group_color(7) == group_color(0)


@pytest.mark.parametrize("args", [(8192, 8192, 8192), (8192, 8192, 1), (1, 1, 1), (1, 8192, 1)])
def test_extreme_layers_build_and_serialise(args):
    fig = F.bipartite(*args)
    assert json.loads(fig.to_json())["layout"]["meta"]["edges"] == args[0] * args[1] // args[2]


def test_connection_mask_highlight_greys_other_groups():
    fig = F.connection_mask(64, 128, 32, highlight=3)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert np.isnan(z[0, 0]) and z[12, 6] == 3                 # group 0 greyed, group 3 keeps its colour
    grey = np.asarray(fig.data[1].z, dtype=float)
    assert grey[0, 0] == 0 and np.isnan(grey[12, 6]) and fig.data[1].name == "other groups"


def test_weight_slices_label_the_highlighted_group():
    texts = [a.text for a in F.weight_slices(cm.ConvSpec(), highlight=20).layout.annotations]
    assert any(t.startswith("group 20: W[80:84] reads x[40:42]") for t in texts)


def test_yellow_text_is_darkened_for_readability():
    from resnext_viz.palette import group_text_color

    assert group_text_color(6) != group_color(6) and group_text_color(0) == group_color(0)
