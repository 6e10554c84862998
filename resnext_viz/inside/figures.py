"""Figures for the image lessons (group features, gradients): data in, go.Figure (or PNG bytes) out.

Group g is framed or coloured with palette.group_color(g), as on every other page, and each
figure records what it shows in `fig.layout.meta` for structural tests. Feature maps use a
perceptual diverging colour map (cmocean "balance": blue below zero, light at zero, red
above) with one scale per group, so the channels of a group can be compared with each
other; the downloadable PNG (grid_png.py) uses the same colours and the same layout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import plotly.colors as pc
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from resnext_viz.palette import TEXT_BACKGROUND, group_color, group_text_color
from resnext_viz.plotting import base_layout

__all__ = [
    "MAP_COLORSCALE",
    "CORR_COLORSCALE",
    "GridGeometry",
    "correlation_heatmap",
    "feature_grid_geometry",
    "feature_maps",
    "grad_norm_bars",
    "group_energy_bars",
    "locality_heatmaps",
    "top_channels",
]

MAP_COLORSCALE = "balance"  # cmocean's perceptually uniform diverging map: negative blue, zero light, positive red
CORR_COLORSCALE = "viridis"  # perceptually uniform, readable on light and dark themes
BLOCKS_PER_ROW = 4  # group blocks side by side in the feature-map mosaic, at most
MAPS_PER_ROW = 16  # ... and fewer when the blocks are wide: about 16 maps across, so 7x7 maps stay visible
TOP_PER_ROW = 8  # maps side by side in the 'most active channel' mosaic
DISPLAY_SIDE_MAX = 128  # maps larger than this are average-pooled for display (the statistics use all pixels)
FIGURE_WIDTH_GUESS = 1100  # px; the page is wide, so label strips are sized for about this width
PLOT_WIDTH_GUESS = 930  # px of the plot area beside the colour bar, for a figure height without empty bands
TOP_SIDE_MAX = 40  # the 'most active channel' thumbnails: larger maps are average-pooled (56 -> 28)
PNG_MAP_MIN = 96  # px: PNG maps are enlarged (nearest neighbour) towards this side


# ---------------------------------------------------------------- colour maps


@lru_cache(maxsize=4)
def _lut(name: str) -> np.ndarray:
    """Return (256, 3) uint8: Plotly's colour scale `name` sampled at 256 points (the PNG uses the figure's colours)."""
    samples = pc.sample_colorscale(pc.get_colorscale(name), list(np.linspace(0.0, 1.0, 256)), colortype="tuple")
    rgb = np.array([[float(c) for c in s] for s in samples])  # (256, 3), 0..1 or 0..255 depending on the scale
    if rgb.max() <= 1.0:
        rgb = rgb * 255.0
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def _hex_rgb(color: str) -> tuple[int, int, int]:
    h = color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


# ---------------------------------------------------------------- mosaic layout


def _map_grid(n: int) -> tuple[int, int]:
    """Return (rows, cols) for n maps of one group: 4 -> 2x2, 8 -> 2x4, 16 -> 4x4, 32 -> 4x8, 6 -> 2x3."""
    if n & (n - 1) == 0:  # a power of two: as square as possible, wider than tall
        cols = 2 ** math.ceil(math.log2(n) / 2)
    else:
        cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


@dataclass(frozen=True)
class GridGeometry:
    """Where each group block and each map of a feature-map mosaic sit, in pixels (PNG) or cells (figure).

    Block i (the i-th group shown) is a frame of `frame` pixels in the group's colour, `pad`
    pixels of background, then `rows` x `cols` maps `gap` apart; a `label` strip above the
    frame names the group. Blocks are `spacing` apart, `blocks_per_row` to a row.
    """

    n_blocks: int
    maps_per_block: int
    map_h: int
    map_w: int
    blocks_per_row: int
    gap: int
    frame: int
    pad: int
    label: int
    spacing: int
    margin: int
    header: int = 0  # a title strip across the top (PNG only)

    @property
    def rows(self) -> int:
        return _map_grid(self.maps_per_block)[0]

    @property
    def cols(self) -> int:
        return _map_grid(self.maps_per_block)[1]

    @property
    def block_w(self) -> int:
        return 2 * (self.frame + self.pad) + self.cols * self.map_w + (self.cols - 1) * self.gap

    @property
    def block_h(self) -> int:
        return self.label + 2 * (self.frame + self.pad) + self.rows * self.map_h + (self.rows - 1) * self.gap

    @property
    def block_rows(self) -> int:
        return math.ceil(self.n_blocks / self.blocks_per_row)

    @property
    def width(self) -> int:
        per_row = min(self.n_blocks, self.blocks_per_row)
        return 2 * self.margin + per_row * self.block_w + (per_row - 1) * self.spacing

    @property
    def height(self) -> int:
        return 2 * self.margin + self.header + self.block_rows * self.block_h + (self.block_rows - 1) * self.spacing

    def frame_box(self, i: int) -> tuple[int, int, int, int]:
        """Return (x0, y0, x1, y1) of block i's frame, outer edge, end exclusive."""
        r, c = divmod(i, self.blocks_per_row)
        x0 = self.margin + c * (self.block_w + self.spacing)
        y0 = self.margin + self.header + r * (self.block_h + self.spacing) + self.label
        return x0, y0, x0 + self.block_w, y0 + self.block_h - self.label

    def map_box(self, i: int, k: int) -> tuple[int, int, int, int]:
        """Return (x0, y0, x1, y1) of map k of block i, end exclusive."""
        fx, fy, _, _ = self.frame_box(i)
        r, c = divmod(k, self.cols)
        x0 = fx + self.frame + self.pad + c * (self.map_w + self.gap)
        y0 = fy + self.frame + self.pad + r * (self.map_h + self.gap)
        return x0, y0, x0 + self.map_w, y0 + self.map_h


def _display_pool(h: int, w: int) -> int:
    """Return the average-pooling factor that brings an h x w map to at most DISPLAY_SIDE_MAX a side."""
    return max(1, math.ceil(max(h, w) / DISPLAY_SIDE_MAX))


def _pool_maps(maps: np.ndarray, factor: int) -> np.ndarray:
    """Return (..., H/f, W/f) block averages of maps (..., H, W) (edges padded by repetition)."""
    if factor == 1:
        return maps
    h, w = maps.shape[-2:]
    ph, pw = -h % factor, -w % factor
    padded = np.pad(maps, [(0, 0)] * (maps.ndim - 2) + [(0, ph), (0, pw)], mode="edge")
    shape = padded.shape[:-2] + (padded.shape[-2] // factor, factor, padded.shape[-1] // factor, factor)
    return padded.reshape(shape).mean(axis=(-3, -1))


def _scales(blocks: np.ndarray) -> np.ndarray:
    """Return each block's largest |value| (blocks along the first axis), 1 where a block is all zero."""
    scale = np.abs(blocks).reshape(len(blocks), -1).max(axis=1)
    return np.where(scale > 0, scale, 1.0)


def _normalised_blocks(act: np.ndarray, groups: int, shown: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Return (maps (n, C/G, H, W) divided by each group's largest |value|, those scales (n,))."""
    per = act.shape[0] // groups
    blocks = act.reshape(groups, per, *act.shape[1:])[shown]  # (n, C/G, H, W)
    scale = _scales(blocks)
    return blocks / scale[:, None, None, None], scale


def feature_grid_geometry(per_group: int, map_h: int, map_w: int, n_groups: int, *, png: bool = True) -> GridGeometry:
    """Return the layout of a mosaic of n_groups blocks of per_group maps (map size after display pooling).

    For the PNG, small maps are enlarged by a whole factor (at most 12) towards PNG_MAP_MIN pixels a side.
    """
    per_row = max(1, min(BLOCKS_PER_ROW, MAPS_PER_ROW // _map_grid(per_group)[1]))
    if png:
        up = min(12, max(1, math.ceil(PNG_MAP_MIN / max(map_h, map_w))))
        mh, mw = map_h * up, map_w * up
        return GridGeometry(n_blocks=n_groups, maps_per_block=per_group, map_h=mh, map_w=mw,
                            blocks_per_row=per_row, gap=2, frame=4, pad=4, label=22, spacing=14,
                            margin=12, header=26)
    gap = max(1, round(map_h / 12))
    geometry = GridGeometry(n_blocks=n_groups, maps_per_block=per_group, map_h=map_h, map_w=map_w,
                            blocks_per_row=per_row, gap=gap, frame=0, pad=gap, label=0, spacing=2 * gap,
                            margin=0)
    cells_per_px = geometry.width / FIGURE_WIDTH_GUESS  # label strip tall enough for 12 px text
    return GridGeometry(n_blocks=n_groups, maps_per_block=per_group, map_h=map_h, map_w=map_w,
                        blocks_per_row=per_row, gap=gap, frame=0, pad=gap,
                        label=max(2, math.ceil(20 * cells_per_px)), spacing=2 * gap, margin=0)


# ---------------------------------------------------------------- feature maps, on screen


def _mosaic(values: list[np.ndarray], scales: np.ndarray, groups: list[int], labels: list[str],
            geometry: GridGeometry, title: str, meta: dict, colorbar_title: str, scale_name: str) -> go.Figure:
    """Return one heatmap per group block (its raw values, coloured on ±its scale), frames as shapes, labels as notes.

    values[i]: block i's maps (n, h, w); scales[i] > 0 its colour scale's end. One heatmap per block sends each value
    once (no second, normalised copy) and no empty cells between blocks; a hidden marker carries the shared colour
    bar, -1 … 1 in units of each block's scale.
    """
    traces, shapes, notes = [], [], []
    line = max(2.0, min(4.0, 300 / geometry.width))
    for i, (maps, scale, g, label) in enumerate(zip(values, scales, groups, labels)):
        fx, fy, fx1, fy1 = geometry.frame_box(i)
        z = np.full((fy1 - fy, fx1 - fx), np.nan, dtype=np.float32)  # NaN: the gaps between maps
        for k, m in enumerate(maps):
            x0, y0, x1, y1 = geometry.map_box(i, k)
            z[y0 - fy:y1 - fy, x0 - fx:x1 - fx] = m
        traces.append(go.Heatmap(
            z=z, x0=fx, dx=1, y0=fy, dy=1, colorscale=MAP_COLORSCALE, zmin=-float(scale), zmax=float(scale),
            showscale=False, name=label, xgap=0, ygap=0,
            hovertemplate=f"value %{{z:.3g}}<br>{scale_name} {float(scale):.3g}<extra>{label}</extra>"))
        shapes.append(dict(type="rect", x0=fx - 0.5, y0=fy - 0.5, x1=fx1 - 0.5, y1=fy1 - 0.5, layer="above",
                           line=dict(color=group_color(g), width=line), fillcolor="rgba(0,0,0,0)"))
        notes.append(dict(x=fx - 0.5, y=fy - 0.5, text=f"<b>{label}</b>", showarrow=False, xanchor="left",
                          yanchor="bottom", font=dict(color=group_text_color(g), size=12),
                          bgcolor=TEXT_BACKGROUND, borderpad=1))
    traces.append(go.Scatter(  # draws nothing: the colour bar shared by every block
        x=[None], y=[None], mode="markers", hoverinfo="skip", showlegend=False, name="colour bar",
        marker=dict(color=[0.0], colorscale=MAP_COLORSCALE, cmin=-1, cmax=1, showscale=True,
                    colorbar=dict(title=dict(text=colorbar_title, side="right"), tickvals=[-1, 0, 1],
                                  thickness=12, len=0.8))))
    fig = go.Figure(traces, layout=dict(  # one layout, validated once: reruns stay quick
        shapes=shapes, annotations=notes, plot_bgcolor="rgba(0,0,0,0)",
        xaxis=dict(visible=False, range=[-1, geometry.width], constrain="domain"),
        yaxis=dict(visible=False, range=[geometry.height, -geometry.label - 1], scaleanchor="x", constrain="domain")))
    aspect = (geometry.height + geometry.label + 1) / max(geometry.width + 1, 1)
    ranges = "; ".join(f"{label}: {np.nanmin(m):.3g} to {np.nanmax(m):.3g}" for m, label in zip(values, labels))
    alt = f"{title.rstrip('.')}. {len(labels)} frames, each on its own colour scale; raw values {ranges}."
    return base_layout(fig, title, int(np.clip(PLOT_WIDTH_GUESS * aspect + 70, 220, 1200)), meta, alt)


def feature_maps(act: np.ndarray, groups: int, shown: list[int] | range, title: str = "") -> go.Figure:
    """Return the maps of the groups in `shown`, each group's channels together in a frame of the group's colour.

    act: (C, H, W) float. Colours are value / (the group's largest |value|): -1 blue, 0 light,
    +1 red; hover gives the raw value. Maps larger than 128 pixels a side are average-pooled
    for display (recorded in meta["pool"]).
    """
    shown = list(shown)
    per = act.shape[0] // groups
    pool = _display_pool(*act.shape[1:])
    maps = _pool_maps(act, pool).astype(np.float32)
    raw = maps.reshape(groups, per, *maps.shape[1:])[shown]
    geometry = feature_grid_geometry(per, *maps.shape[1:], len(shown), png=False)
    labels = [f"group {g} · ch {g * per}–{(g + 1) * per - 1}" if per > 1 else f"group {g} · ch {g}" for g in shown]
    pooled = f", shown {maps.shape[1]}×{maps.shape[2]} (average of {pool}×{pool} pixels)" if pool > 1 else ""
    heading = title or (f"Groups {shown[0]}–{shown[-1]} of {groups}: {per} channel{'s' if per > 1 else ''} each, "
                        f"{act.shape[1]}×{act.shape[2]}{pooled}")
    meta = {"figure": "feature_maps", "groups": groups, "shown": shown, "per_group": per, "pool": pool,
            "frame_colors": [group_color(g) for g in shown], "map_size": list(maps.shape[1:])}
    return _mosaic(list(raw), _scales(raw), shown, labels, geometry, heading, meta,
                   "value ÷ group's max |value|", "group's max |value|")


def top_channels(act: np.ndarray, groups: int, top: np.ndarray) -> go.Figure:
    """Return one map per group: its most active channel (largest mean square), each scaled to its own max |value|."""
    pool = max(1, math.ceil(max(act.shape[1:]) / TOP_SIDE_MAX))
    maps = _pool_maps(act[np.asarray(top)], pool).astype(np.float32)  # (G, h, w)
    scale = _scales(maps)
    geometry = GridGeometry(n_blocks=groups, maps_per_block=1, map_h=maps.shape[1], map_w=maps.shape[2],
                            blocks_per_row=TOP_PER_ROW, gap=0, frame=0, pad=max(1, round(maps.shape[1] / 14)),
                            label=0, spacing=max(1, round(maps.shape[1] / 6)), margin=0)
    cells_per_px = geometry.width / FIGURE_WIDTH_GUESS
    geometry = GridGeometry(**{**geometry.__dict__, "label": max(2, math.ceil(20 * cells_per_px))})
    groups_list = list(range(groups))
    meta = {"figure": "top_channels", "groups": groups, "channels": [int(c) for c in top], "pool": pool,
            "frame_colors": [group_color(g) for g in groups_list]}
    return _mosaic([m[None] for m in maps], scale, groups_list,
                   [f"g{g} · ch {int(c)}" for g, c in zip(groups_list, top)], geometry,
                   f"The most active channel of each of the {groups} groups (largest mean square)", meta,
                   "value ÷ map's max |value|", "map's max |value|")


# ---------------------------------------------------------------- bars


def _group_bars(values: np.ndarray, title: str, y_title: str, meta: dict, *, highlight: int | None = None,
                shown: list[int] | None = None, hover_unit: str = "", exact_zero_text: bool = False) -> go.Figure:
    """Return one bar per group in the group's colour; optional target outline and 'shown above' band."""
    values = np.asarray(values, dtype=np.float64)
    G = len(values)
    x = list(range(G))
    widths = [3 if g == highlight else 0 for g in x]
    text = ["0" if (exact_zero_text and v == 0.0) else "" for v in values]
    bar = go.Bar(
        x=x, y=values, marker=dict(color=[group_color(g) for g in x],
                                   line=dict(color=["#888" if w else "rgba(0,0,0,0)" for w in widths], width=widths)),
        text=text, textposition="outside", cliponaxis=False, textfont=dict(size=10),
        hovertemplate="group %{x}<br>%{y:.4g}" + hover_unit + "<extra></extra>", name="groups")
    shapes, notes = [], []
    if shown:
        shapes.append(dict(type="rect", xref="x", yref="paper", x0=shown[0] - 0.5, x1=shown[-1] + 0.5, y0=0, y1=1,
                           fillcolor="rgba(128,128,128,0.15)", line_width=0, layer="below"))
        notes.append(dict(xref="x", yref="paper", x=shown[0] - 0.5, y=1, text="shown above", showarrow=False,
                          xanchor="left", yanchor="top", font=dict(size=11)))
    if highlight is not None:
        notes.append(dict(x=highlight, y=values[highlight], text="target", showarrow=True, arrowhead=2, ay=-30,
                          font=dict(size=12)))
    fig = go.Figure(bar, layout=dict(
        shapes=shapes, annotations=notes, bargap=0.15,
        xaxis=dict(title=dict(text="group"), dtick=1 if G <= 32 else None, range=[-0.7, G - 0.3]),
        yaxis=dict(title=dict(text=y_title), rangemode="tozero", exponentformat="power")))
    return base_layout(fig, title, 340, meta)


def group_energy_bars(energy: np.ndarray, shown: list[int] | range | None = None) -> go.Figure:
    """Return the mean squared activation of each group as bars in group colours."""
    G = len(energy)
    return _group_bars(energy, f"Activation energy of each of the {G} groups (mean square of its outputs)",
                       "mean square", {"figure": "group_energy", "groups": G},
                       shown=list(shown) if shown is not None else None)


def grad_norm_bars(norms: np.ndarray, title: str, y_title: str, kind: str,
                   target_group: int | None = None) -> go.Figure:
    """Return a per-group gradient norm as bars in group colours, the target group outlined, exact zeros marked '0'."""
    norms = np.asarray(norms, dtype=np.float64)
    meta = {"figure": "grad_norms", "kind": kind, "groups": len(norms), "target_group": target_group,
            "exact_zeros": int((norms == 0).sum())}
    return _group_bars(norms, title, y_title, meta, highlight=target_group, exact_zero_text=True)


# ---------------------------------------------------------------- correlation


def correlation_heatmap(corr: np.ndarray, step: int, channels: int, groups: int,
                        within: float | None = None, across: float | None = None) -> go.Figure:
    """Return |channel correlation| over spatial positions, channels in group order, each group's block outlined.

    corr: (n, n) with n = ceil(channels / step), NaN on the diagonal when step is 1.
    """
    n = corr.shape[0]
    centres = (np.arange(n) * step + (step - 1) / 2.0).astype(np.float32)  # channel coordinate of each cell
    per = channels // groups
    hover = ("channel %{y:.0f} × channel %{x:.0f}<br>|corr| %{z:.2f}<extra></extra>" if step == 1 else
             f"channels around %{{y:.0f}} × %{{x:.0f}} (cells of {step}×{step})<br>mean |corr| %{{z:.2f}}"
             "<extra></extra>")
    outline = max(1.0, min(2.5, 96 / groups))
    outlines = [dict(type="rect", x0=g * per - 0.5, x1=(g + 1) * per - 0.5, y0=g * per - 0.5, y1=(g + 1) * per - 0.5,
                     line=dict(color=group_color(g), width=outline), fillcolor="rgba(0,0,0,0)", layer="above")
                for g in range(groups)]
    heatmap = go.Heatmap(z=corr, x=centres, y=centres, colorscale=CORR_COLORSCALE, zmin=0, zmax=1,
                         hovertemplate=hover, colorbar=dict(title=dict(text="|corr|"), thickness=12),
                         name="correlation")
    fig = go.Figure(heatmap, layout=dict(
        shapes=outlines,
        xaxis=dict(title=dict(text="channel (group order)"), range=[-0.5, channels - 0.5], constrain="domain"),
        yaxis=dict(title=dict(text="channel"), range=[channels - 0.5, -0.5], scaleanchor="x", constrain="domain")))
    numbers = ""
    if within is not None and across is not None:
        numbers = f": mean |corr| {within:.2f} inside groups vs {across:.2f} across"
    pooled = f" (cells average {step}×{step} channels)" if step > 1 else ""
    base_layout(fig, f"Channel × channel |correlation| over positions{numbers}{pooled}", 620,
                {"figure": "correlation", "channels": channels, "groups": groups, "step": step, "cells": n})
    return fig


# ---------------------------------------------------------------- locality: grouped vs dense


def _locality_panel(block_norms: np.ndarray, connected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (log10 norm where non-zero else NaN, 1 where connected and exactly zero else NaN), both (G, G)."""
    norms = np.asarray(block_norms, dtype=np.float64)
    live = norms > 0
    logn = np.where(live, np.log10(np.where(live, norms, 1.0)), np.nan)
    zero = np.where(np.asarray(connected) & ~live, 1.0, np.nan)
    return logn, zero


def locality_heatmaps(grouped_norms: np.ndarray, grouped_connected: np.ndarray, dense_norms: np.ndarray,
                      dense_connected: np.ndarray, group: int) -> go.Figure:
    """Return G x G maps of where dE/dW lands (E = energy of output group `group`): grouped left, dense right.

    Cell [o, i] = L2 norm of the gradient over the weights from input group i to output group o,
    coloured on a log scale when non-zero, grey when those weights exist but their gradient is
    exactly zero, blank where no weights exist (a grouped convolution's off-diagonal blocks).
    """
    G = grouped_norms.shape[0]
    panels = [_locality_panel(grouped_norms, grouped_connected), _locality_panel(dense_norms, dense_connected)]
    finite = np.concatenate([p[0][np.isfinite(p[0])] for p in panels])
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if hi - lo < 1e-9:
        lo -= 0.5
        hi += 0.5
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=(
        f"grouped (G = {G}): row {group} has one block", f"dense twin (G = 1): row {group} reads all"))
    for col, (logn, zero) in enumerate(panels, start=1):
        fig.add_trace(go.Heatmap(z=zero, colorscale=[[0, "rgba(128,128,128,0.55)"], [1, "rgba(128,128,128,0.55)"]],
                                 showscale=False, hovertemplate="output group %{y} ← input group %{x}<br>"
                                 "weights exist, gradient exactly 0<extra></extra>", name="exactly zero",
                                 xgap=1, ygap=1), row=1, col=col)
        fig.add_trace(go.Heatmap(z=logn, colorscale="viridis", zmin=lo, zmax=hi, showscale=col == 2,
                                 colorbar=dict(title=dict(text="log₁₀ ‖dE/dW‖", side="right"), thickness=12,
                                               len=0.75, y=0.45),
                                 hovertemplate="output group %{y} ← input group %{x}<br>"
                                 "log₁₀ norm %{z:.2f}<extra></extra>", name="non-zero", xgap=1, ygap=1),
                      row=1, col=col)
        fig.update_xaxes(title_text="input group", range=[-0.5, G - 0.5], constrain="domain", showgrid=False,
                         zeroline=False, row=1, col=col)
        fig.update_yaxes(title_text="output group", range=[G - 0.5, -0.5], constrain="domain", showgrid=False,
                         zeroline=False,
                         scaleanchor="x" if col == 1 else "x2", row=1, col=col)
    for col in (1, 2):  # the target's row, outlined in its group colour
        xref, yref = ("x", "y") if col == 1 else ("x2", "y2")
        fig.add_shape(type="rect", x0=-0.5, x1=G - 0.5, y0=group - 0.5, y1=group + 0.5, xref=xref, yref=yref,
                      line=dict(color=group_color(group), width=2), fillcolor="rgba(0,0,0,0)", layer="above")
    meta = {"figure": "locality", "groups": G, "group": group,
            "grouped_nonzero_blocks": int((np.asarray(grouped_norms) > 0).sum()),
            "dense_nonzero_blocks": int((np.asarray(dense_norms) > 0).sum())}
    base_layout(fig, f"Where the gradient of ‘energy of output group {group}’ lands in the weights", 580, meta)
    legend = ("colour: gradient ≠ 0 (log scale) · grey: the weights exist, their gradient is exactly 0 · "
              "blank: no weights")
    fig.update_layout(margin=dict(t=130, b=10), plot_bgcolor="rgba(0,0,0,0)",
                      title=dict(subtitle=dict(text=legend, font=dict(size=12))))
    return fig

