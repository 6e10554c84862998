"""Image-lesson figures by structure (traces, colours, meta) and the feature-map PNG by pixels."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from resnext_viz.inside import summaries as fp
from resnext_viz.inside import figures as ff
from resnext_viz.inside import grid_png as gpng
from resnext_viz.inside import images
from resnext_viz.inside import probes
from resnext_viz.inside import gradients as gp
from resnext_viz.blocks.resnet import resnext50_32x4d
from resnext_viz.palette import GROUP_COLORS, group_color


def _act(channels: int = 128, size: int = 14, seed: int = 0) -> np.ndarray:
    """Return a (C, H, W) float32 activation where channel c holds the value c + 1 at its centre, noise elsewhere."""
    rng = np.random.default_rng(seed)
    act = rng.normal(0, 0.1, size=(channels, size, size)).astype(np.float32)
    act[:, size // 2, size // 2] = np.arange(1, channels + 1)
    return act


def _rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))


# ---------------------------------------------------------------- the feature-map mosaic


def _heatmaps(fig) -> list:
    return [t for t in fig.data if t.type == "heatmap"]


def test_feature_maps_one_heatmap_per_group_frames_in_group_colours():
    act = _act(128, 14)
    fig = ff.feature_maps(act, 32, range(8, 16))
    maps = _heatmaps(fig)
    assert len(maps) == 8 and len(fig.data) == 9  # one heatmap a group, one trace for the colour bar
    bar = [t for t in fig.data if t.type != "heatmap"]
    assert len(bar) == 1 and bar[0].marker.showscale and (bar[0].marker.cmin, bar[0].marker.cmax) == (-1, 1)
    assert not any(t.showscale for t in maps)  # a single colour bar, not eight
    meta = fig.layout.meta
    assert meta["figure"] == "feature_maps" and meta["shown"] == list(range(8, 16)) and meta["per_group"] == 4
    frames = [s for s in fig.layout.shapes if s.type == "rect"]
    assert [s.line.color for s in frames] == [group_color(g) for g in range(8, 16)]
    labels = [a.text for a in fig.layout.annotations]
    assert labels[0] == "<b>group 8 · ch 32–35</b>" and len(labels) == 8
    for g, t in zip(range(8, 16), maps):
        z = np.asarray(t.z, dtype=float)
        assert np.isnan(z).any() and np.isfinite(z).sum() == 4 * 14 * 14  # a group's 4 maps, gaps between them
        assert np.allclose(np.sort(z[np.isfinite(z)]), np.sort(act[4 * g:4 * g + 4].ravel()), atol=1e-6)  # raw
        assert t.zmax == pytest.approx(np.abs(act[4 * g:4 * g + 4]).max()) and t.zmin == -t.zmax
        assert f"group {g} ·" in t.hovertemplate and "group's max |value|" in t.hovertemplate
    assert np.nanmax(np.asarray(maps[-1].z, dtype=float)) == pytest.approx(64.0)  # channel 63 peaks at 64
    alt = fig.layout.meta["alt"]  # what a screen reader gets: every frame's raw range
    assert alt.count(" to ") == 8 and f"group 15 · ch 60–63: {act[60:64].min():.3g} to 64" in alt


def test_each_group_has_its_own_scale():
    act = _act(16, 6)
    act[4:8] *= 1000.0  # group 1 is a thousand times louder
    fig = ff.feature_maps(act, 4, range(4))
    for i, t in enumerate(_heatmaps(fig)):
        z = np.asarray(t.z, dtype=float)
        # every group reaches full colour: its colour range ends at its own max |value|
        assert t.zmax == pytest.approx(np.nanmax(np.abs(z))) == pytest.approx(np.abs(act[4 * i:4 * i + 4]).max())
    assert _heatmaps(fig)[1].zmax > 100 * _heatmaps(fig)[0].zmax


def test_large_maps_are_pooled_for_display():
    act = _act(8, 300)
    fig = ff.feature_maps(act, 4, range(4))
    assert fig.layout.meta["pool"] == 3 and fig.layout.meta["map_size"] == [100, 100]
    assert "average of 3×3 pixels" in fig.layout.title.text


def test_top_channels_one_map_per_group():
    act = _act(64, 7)
    top = probes.top_channel_per_group(torch.from_numpy(act), 16).numpy()
    assert list(top) == [4 * g + 3 for g in range(16)]  # the brightest channel of each group is its last
    fig = ff.top_channels(act, 16, top)
    assert len(_heatmaps(fig)) == 16 and fig.layout.meta["channels"] == [4 * g + 3 for g in range(16)]
    for g, t in enumerate(_heatmaps(fig)):  # each map on its own scale: its max |value|
        assert t.zmax == pytest.approx(np.abs(act[4 * g + 3]).max())
    assert [s.line.color for s in fig.layout.shapes] == [group_color(g) for g in range(16)]
    assert fig.layout.annotations[5].text == "<b>g5 · ch 23</b>"


# ---------------------------------------------------------------- the PNG


def test_feature_grid_png_size_signature_and_frame_colours():
    act = _act(128, 14)
    shown = list(range(8, 16))
    data = gpng.feature_grid_png(act, 32, shown, "layer1.0.conv2")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    img = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    geometry = ff.feature_grid_geometry(4, 14, 14, len(shown))
    assert img.shape == (geometry.height, geometry.width, 3)
    assert geometry.map_h == 14 * 7 and geometry.rows == geometry.cols == 2  # 14 px maps enlarged 7x, 2x2 a group
    for i, g in enumerate(shown):
        x0, y0, x1, y1 = geometry.frame_box(i)
        for x, y in ((x0, y0), (x1 - 1, y1 - 1), ((x0 + x1) // 2, y0 + 1), (x0 + 1, (y0 + y1) // 2)):
            assert tuple(img[y, x]) == _rgb(group_color(g)), (g, x, y)
        # inside the frame, between the frame and the first map: background
        assert tuple(img[y0 + geometry.frame, x0 + geometry.frame]) == gpng.GRID_BACKGROUND


def test_feature_grid_png_map_colours_follow_the_value():
    act = np.zeros((4, 4, 4), dtype=np.float32)
    act[0] = 1.0  # group 0's first channel: its maximum, the top of the scale
    act[1] = -1.0
    data = gpng.feature_grid_png(act, 2, [0, 1])
    img = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    geometry = ff.feature_grid_geometry(2, 4, 4, 2)
    lut = ff._lut(ff.MAP_COLORSCALE)
    x0, y0, _, _ = geometry.map_box(0, 0)
    assert tuple(img[y0 + 1, x0 + 1]) == tuple(lut[255])  # +max -> red end
    x0, y0, _, _ = geometry.map_box(0, 1)
    assert tuple(img[y0 + 1, x0 + 1]) == tuple(lut[0])  # -max -> blue end
    x0, y0, _, _ = geometry.map_box(1, 0)
    assert tuple(img[y0 + 1, x0 + 1]) == tuple(lut[128])  # an all-zero group: the middle, no division by 0


# ---------------------------------------------------------------- bars, correlation, locality


def test_energy_bars_use_the_palette_and_mark_the_page():
    fig = ff.group_energy_bars(np.arange(32, dtype=float), range(8, 16))
    assert len(fig.data) == 1 and list(fig.data[0].marker.color) == [group_color(g) for g in range(32)]
    assert fig.data[0].marker.color[7] == GROUP_COLORS[0]  # the palette repeats every seven groups
    assert fig.layout.shapes[0].x0 == 7.5 and fig.layout.shapes[0].x1 == 15.5
    assert fig.layout.meta == {"figure": "group_energy", "groups": 32}


def test_gradient_bars_outline_the_target_and_mark_exact_zeros():
    norms = np.zeros(32)
    norms[5] = 2.5
    fig = ff.grad_norm_bars(norms, "t", "norm", "weight", target_group=5)
    assert fig.layout.meta["exact_zeros"] == 31 and fig.layout.meta["target_group"] == 5
    assert list(fig.data[0].text).count("0") == 31 and fig.data[0].text[5] == ""
    assert fig.data[0].marker.line.width[5] > 0 and fig.data[0].marker.line.width[4] == 0


def test_correlation_heatmap_outlines_each_group_block():
    corr = torch.eye(64) * 0.0 + 0.3
    view, step = fp.pooled_abs_correlation(corr, per_group=8)
    assert step == 1 and np.isnan(np.diag(view)).all()
    fig = ff.correlation_heatmap(view, step, 64, 8, within=0.5, across=0.2)
    assert len(fig.data) == 1 and len(fig.layout.shapes) == 8
    assert fig.layout.shapes[3].line.color == group_color(3)
    assert (fig.layout.shapes[3].x0, fig.layout.shapes[3].x1) == (23.5, 31.5)
    assert "0.50 inside groups vs 0.20 across" in fig.layout.title.text


def test_large_correlation_is_pooled_along_group_boundaries():
    corr = torch.rand(1024, 1024)
    corr = (corr + corr.T) / 2
    view, step = fp.pooled_abs_correlation(corr, per_group=32)
    assert step == 4 and view.shape == (256, 256) and 32 % step == 0
    cell = corr[:4, 4:8].abs().mean().item()
    assert view[0, 1] == pytest.approx(cell, rel=1e-5)
    diagonal = corr[:4, :4].abs().clone()
    diagonal.fill_diagonal_(float("nan"))
    assert view[0, 0] == pytest.approx(torch.nanmean(diagonal).item(), rel=1e-5)  # the 1s on the diagonal left out
    fig = ff.correlation_heatmap(view, step, 1024, 32)
    assert fig.layout.meta["cells"] == 256 and len(fig.to_json()) < 1_500_000


def test_pool_step_for_awkward_group_sizes():
    assert fp._corr_step(4096, 2, 256) == 16  # cells of whole groups when a group is smaller than a cell
    assert fp._corr_step(768, 24, 256) == 3  # a divisor of the group size


@pytest.fixture(scope="module")
def small_model():
    from resnext_viz.inside.weights import _frozen, _seeded_init

    model = resnext50_32x4d(device="meta").to_empty(device="cpu")
    _seeded_init(model, 0)
    return _frozen(model)


def test_locality_heatmaps_from_the_probe(small_model):
    x, _ = images.preprocess(images.sample_images()["checkerboard"], 232, 224)
    rep = gp.gradient_locality(small_model, "layer1.0.conv2", x, 2)
    g, d = rep.grouped, rep.dense
    fig = ff.locality_heatmaps(g.block_norms.numpy(), g.connected.numpy(), d.block_norms.numpy(),
                               d.connected.numpy(), 2)
    assert len(fig.data) == 4  # per panel: the exactly-zero cells and the non-zero ones
    assert fig.layout.meta["grouped_nonzero_blocks"] == 1 and fig.layout.meta["dense_nonzero_blocks"] == 32
    zero_grouped = np.asarray(fig.data[0].z, dtype=float)
    assert np.isfinite(zero_grouped).sum() == 31  # the other diagonal blocks: weights exist, gradient exactly 0
    assert np.isnan(zero_grouped[0, 1])  # no weights between output group 0 and input group 1: blank
    live_dense = np.asarray(fig.data[3].z, dtype=float)
    assert np.isfinite(live_dense[2]).all() and np.isnan(np.delete(live_dense, 2, axis=0)).all()
    assert {s.line.color for s in fig.layout.shapes} == {group_color(2)}


def test_builder_feed_points_and_messages(small_model):
    from resnext_viz.blocks.builder import BlockConfig

    assert list(fp.feed_points(small_model)) == [64, 256, 512, 1024, 2048]
    x, _ = images.preprocess(images.sample_images()["rings"], 232, 224)
    f, feed = fp.builder_features(small_model, BlockConfig(inplanes=512, planes=64, height=20, width=20), x)
    assert feed.source == "layer2" and feed.source_hw == (28, 28) and feed.resized
    assert f.act.shape == (128, 20, 20) and f.groups == 32
    assert "64 (after the stem)" in fp.builder_problem(small_model, BlockConfig(inplanes=100))
    big = BlockConfig(inplanes=64, planes=256, cardinality=32, base_width=8, height=256, width=256, batch=1)
    assert "lower its height and width" in fp.builder_problem(small_model, big)


def test_wide_groups_are_laid_out_two_a_row():
    act = _act(1024, 7)  # layer4: 32 groups of 32 channels, 4 x 8 maps a group
    fig = ff.feature_maps(act, 32, range(8))
    geometry = ff.feature_grid_geometry(32, 7, 7, 8, png=False)
    assert (geometry.rows, geometry.cols, geometry.blocks_per_row, geometry.block_rows) == (4, 8, 2, 4)
    for i, t in enumerate(_heatmaps(fig)):  # each group's heatmap fills its frame, placed at the frame
        x0, y0, x1, y1 = geometry.frame_box(i)
        assert np.asarray(t.z).shape == (y1 - y0, x1 - x0) and (t.x0, t.y0) == (x0, y0)
    assert ff.feature_grid_geometry(4, 56, 56, 8).blocks_per_row == 4  # layer1: 2 x 2 maps, four groups a row
