"""Plotly figure builders for the convolution lessons: data in, go.Figure out.

Every figure colours group g with palette.group_color(g), and records what it shows in
`fig.layout.meta` (e.g. {"figure": "bipartite", "mode": "bands"}) so tests and the page
can check structure without looking at pixels. No template is forced here: Streamlit
applies its light or dark theme on screen, export.py applies a print template.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import connectivity as cx
from .conv_math import ConvSpec, GroupSweepRow, fmt_int
from .palette import FADED, GROUP_COLORS, group_color, group_rgba

NODE_MARKERS_MAX = 512   # above this many channels a side, show group blocks, not dots
BLOCK_BARS_MAX = 256   # above this many groups, channel blocks are drawn as one grey bar
LABEL_GROUPS_MAX = 16    # above this many groups, label only a few of them

FONT = dict(family="Inter, 'Source Sans Pro', Helvetica, Arial, sans-serif", size=13)


def _base_layout(fig: go.Figure, title: str, height: int, meta: dict) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0.0, xanchor="left", font=dict(size=16)),
        height=height, font=FONT, meta=meta, hoverlabel=dict(font_size=13),
        margin=dict(l=10, r=10, t=60, b=10), showlegend=False,
    )
    return fig


def _palette_colorscale() -> list[list]:
    """Return a discrete colorscale mapping z = 0..6 to the seven group colours."""
    n = len(GROUP_COLORS)
    scale = []
    for i, c in enumerate(GROUP_COLORS):
        scale += [[i / n, c], [(i + 1) / n, c]]
    return scale


def _range_text(start: int, stop: int) -> str:
    """Return a half-open channel range as text: 'channels 4–5' or 'channel 4'."""
    return f"channel {start}" if stop - start == 1 else f"channels {start}–{stop - 1}"


def _groups_to_label(groups: int) -> list[int]:
    """Return the groups that get a text label (all of them when few)."""
    if groups <= LABEL_GROUPS_MAX:
        return list(range(groups))
    return [0, 1, groups - 1]


# ---------------------------------------------------------------- parameter page


def params_vs_groups(rows: list[GroupSweepRow], current: int | None = None) -> go.Figure:
    """Return bars of parameters and a line of MACs against every valid group count (log scales)."""
    x = [str(r.groups) for r in rows]
    colors = [group_color(0) if r.groups == current else "rgba(128,128,128,0.45)" for r in rows]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_bar(
        x=x, y=[r.params for r in rows], marker_color=colors, name="parameters",
        customdata=[[r.in_per_group, r.out_per_group] for r in rows],
        hovertemplate="G = %{x}<br>%{y:,} parameters<br>%{customdata[0]} in → %{customdata[1]} out per group"
                      "<extra></extra>",
    )
    fig.add_scatter(
        x=x, y=[r.macs for r in rows], mode="lines+markers", name="MACs", secondary_y=True,
        line=dict(color=group_color(1), width=2), marker=dict(size=7),
        hovertemplate="G = %{x}<br>%{y:,} MACs<extra></extra>",
    )
    fig.update_xaxes(title_text="groups G (every valid value)", type="category")
    fig.update_yaxes(title_text="parameters (bars)", type="log", secondary_y=False)
    fig.update_yaxes(title_text="MACs per image (line)", type="log", secondary_y=True, showgrid=False)
    _base_layout(fig, "Parameters and MACs fall as 1/G", 380,
                 {"figure": "params_vs_groups", "groups": [r.groups for r in rows], "current": current})
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    return fig


# ---------------------------------------------------------------- bipartite diagram


def _ypos(n: int) -> np.ndarray:
    """Return the vertical positions of n channels, channel 0 at the top, in [0, 1]."""
    return (1.0 - (np.arange(n) + 0.5) / n).astype(np.float32)


def _edge_xy(inputs: np.ndarray, outputs: np.ndarray, c_in: int, c_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Return x, y arrays drawing every edge as a segment, segments separated by NaN."""
    y_in, y_out = _ypos(c_in), _ypos(c_out)
    n = len(inputs)
    x = np.tile(np.array([0.0, 1.0, np.nan], dtype=np.float32), n)          # (3E,)
    y = np.empty((n, 3), dtype=np.float32)                                  # (E, 3)
    y[:, 0], y[:, 1], y[:, 2] = y_in[inputs], y_out[outputs], np.nan
    return x, y.reshape(-1)


def _band_xy(bands: list[cx.GroupBand], c_in: int, c_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Return x, y arrays of closed band polygons (input block -> output block), NaN-separated."""
    xs, ys = [], []
    for b in bands:
        top_in, bot_in = 1 - b.in_start / c_in, 1 - b.in_stop / c_in
        top_out, bot_out = 1 - b.out_start / c_out, 1 - b.out_stop / c_out
        xs += [0, 1, 1, 0, 0, np.nan]
        ys += [top_in, top_out, bot_out, bot_in, top_in, np.nan]
    return np.array(xs, dtype=np.float32), np.array(ys, dtype=np.float32)


def _node_trace(side: str, c: int, groups: int, highlight: int | None, other: int, x: float) -> go.Scatter:
    """Return one marker per channel on one side, coloured by group, with hover text."""
    ch = np.arange(c)
    g = ch // (c // groups)
    colors = [group_color(k) if highlight in (None, k) else FADED for k in g]
    per = c // groups
    other_per = other // groups
    verb = "reads" if side == "input" else "written by"
    hover = [
        f"{side} channel {i}<br>group {k} ({_range_text(k * per, (k + 1) * per)} of the {side}s)"
        + (f"<br>feeds output {_range_text(k * other_per, (k + 1) * other_per)}" if side == "input"
           else f"<br>{verb} input {_range_text(k * other_per, (k + 1) * other_per)}")
        for i, k in zip(ch, g)
    ]
    size = float(np.clip(400 / max(c, 1), 3, 10))
    return go.Scatter(x=np.full(c, x, dtype=np.float32), y=_ypos(c), mode="markers",
                      marker=dict(color=colors, size=size, line=dict(width=0)),
                      hovertext=hover, hoverinfo="text", name=f"{side} channels")


def _bar_trace(x: float, blocks: list[tuple[int, int]], c: int, color: str, name: str) -> go.Scatter:
    """Return one thick vertical bar per [start, stop) channel block at horizontal position x."""
    xs, ys = [], []
    for start, stop in blocks:
        xs += [x, x, np.nan]
        ys += [1 - start / c, 1 - stop / c, np.nan]
    return go.Scatter(x=np.array(xs, np.float32), y=np.array(ys, np.float32), mode="lines",
                      line=dict(color=color, width=8), hoverinfo="skip", name=name)


def _block_bar_traces(c_in: int, c_out: int, groups: int, highlight: int | None) -> list[go.Scatter]:
    """Return bars marking each group's channel block on both sides (one grey bar when groups are many)."""
    traces = []
    n = len(GROUP_COLORS)
    for side, c, x in (("input", c_in, -0.015), ("output", c_out, 1.015)):
        per = c // groups
        if groups > BLOCK_BARS_MAX:
            traces.append(_bar_trace(x, [(0, c)], c, FADED, f"{side} channels"))
        else:
            for ci in range(min(groups, n)):
                blocks = [(g * per, (g + 1) * per) for g in range(ci, groups, n)]
                color = group_color(ci) if highlight is None else FADED
                traces.append(_bar_trace(x, blocks, c, color, f"{side} blocks colour {ci}"))
        if highlight is not None:
            traces.append(_bar_trace(x, [(highlight * per, (highlight + 1) * per)], c,
                                     group_color(highlight), f"{side} block {highlight}"))
    return traces


def _bipartite_traces(c_in: int, c_out: int, groups: int, highlight: int | None) -> tuple[list, str]:
    """Return the traces of one bipartite diagram and its mode ('edges' or 'bands')."""
    traces: list = []
    mode = "bands" if cx.draws_bands(c_in, c_out, groups) else "edges"
    order = [g for g in range(min(groups, len(GROUP_COLORS)))]
    if mode == "edges":
        e = cx.edges(c_in, c_out, groups)                                   # (E, 3): in, out, group
        width = float(np.clip(60 / np.sqrt(len(e)), 0.3, 2.0))
        for ci in order:
            sel = (e[:, 2] % len(GROUP_COLORS) == ci) & (e[:, 2] != (highlight if highlight is not None else -1))
            if not sel.any():
                continue
            x, y = _edge_xy(e[sel, 0], e[sel, 1], c_in, c_out)
            color = group_rgba(ci, 0.75) if highlight is None else FADED
            traces.append(go.Scattergl(x=x, y=y, mode="lines", line=dict(color=color, width=width),
                                       hoverinfo="skip", name=f"edges colour {ci}")
                          if len(x) > 30000 else
                          go.Scatter(x=x, y=y, mode="lines", line=dict(color=color, width=width),
                                     hoverinfo="skip", name=f"edges colour {ci}"))
        if highlight is not None:
            sel = e[:, 2] == highlight
            x, y = _edge_xy(e[sel, 0], e[sel, 1], c_in, c_out)
            traces.append(go.Scatter(x=x, y=y, mode="lines", line=dict(color=group_color(highlight), width=width * 1.6),
                                     hoverinfo="skip", name=f"edges group {highlight}"))
    else:
        bs = cx.bands(c_in, c_out, groups)
        for ci in order:
            chosen = [b for b in bs if b.group % len(GROUP_COLORS) == ci and b.group != highlight]
            if not chosen:
                continue
            x, y = _band_xy(chosen, c_in, c_out)
            color = group_rgba(ci, 0.45) if highlight is None else FADED
            traces.append(go.Scatter(x=x, y=y, mode="lines", fill="toself", fillcolor=color,
                                     line=dict(color=color, width=0.5), hoverinfo="skip",
                                     name=f"bands colour {ci}"))
        if highlight is not None:
            x, y = _band_xy([bs[highlight]], c_in, c_out)
            traces.append(go.Scatter(x=x, y=y, mode="lines", fill="toself", fillcolor=group_rgba(highlight, 0.8),
                                     line=dict(color=group_color(highlight), width=1), hoverinfo="skip",
                                     name=f"band group {highlight}"))
        # one invisible marker per band centre carries the hover text for that group
        cy = np.array([1 - 0.5 * ((b.in_start + b.in_stop) / (2 * c_in) + (b.out_start + b.out_stop) / (2 * c_out))
                       for b in bs], dtype=np.float32)
        traces.append(go.Scatter(
            x=np.full(len(bs), 0.5, dtype=np.float32), y=cy, mode="markers", marker=dict(size=6, opacity=0),
            hovertext=[f"group {b.group}<br>input {_range_text(b.in_start, b.in_stop)}<br>"
                       f"→ output {_range_text(b.out_start, b.out_stop)}<br>{fmt_int(b.edges)} connections"
                       for b in bs],
            hoverinfo="text", name="band hover"))
    if max(c_in, c_out) <= NODE_MARKERS_MAX:
        traces.append(_node_trace("input", c_in, groups, highlight, c_out, 0.0))
        traces.append(_node_trace("output", c_out, groups, highlight, c_in, 1.0))
    else:
        traces += _block_bar_traces(c_in, c_out, groups, highlight)
    return traces, mode


def _bipartite_axes(fig: go.Figure, row: int | None = None, col: int | None = None) -> None:
    kw = {} if row is None else dict(row=row, col=col)
    fig.update_xaxes(visible=False, range=[-0.12, 1.12], fixedrange=True, **kw)
    fig.update_yaxes(visible=False, range=[-0.04, 1.04], fixedrange=True, **kw)


def _side_labels(c_in: int, c_out: int, xref: str = "x", yref: str = "y") -> list[dict]:
    return [
        dict(x=0, y=1.04, xref=xref, yref=yref, text=f"<b>{c_in} inputs</b>", showarrow=False, yanchor="bottom"),
        dict(x=1, y=1.04, xref=xref, yref=yref, text=f"<b>{c_out} outputs</b>", showarrow=False, yanchor="bottom"),
    ]


def bipartite(c_in: int, c_out: int, groups: int, highlight: int | None = None) -> go.Figure:
    """Return the input->output connection diagram, one colour per group, optionally one group highlighted."""
    traces, mode = _bipartite_traces(c_in, c_out, groups, highlight)
    fig = go.Figure(traces)
    _bipartite_axes(fig)
    n_edges = cx.edge_count(c_in, c_out, groups)
    what = "every edge drawn" if mode == "edges" else "one band per group (too many edges to draw one by one)"
    title = f"{c_in} → {c_out} channels, G = {groups}: {fmt_int(n_edges)} connections, {what}"
    fig.update_layout(annotations=_side_labels(c_in, c_out))
    return _base_layout(fig, title, 560, {"figure": "bipartite", "mode": mode, "edges": n_edges,
                                          "groups": groups, "highlight": highlight})


def bipartite_compare(c_in: int, c_out: int, groups: int, highlight: int | None = None) -> go.Figure:
    """Return dense (G = 1) and grouped diagrams side by side for the same channels."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08, subplot_titles=(
        f"dense, G = 1: {fmt_int(cx.edge_count(c_in, c_out, 1))} connections",
        f"grouped, G = {groups}: {fmt_int(cx.edge_count(c_in, c_out, groups))} connections"))
    modes = []
    for col, g, hl in ((1, 1, None), (2, groups, highlight)):
        traces, mode = _bipartite_traces(c_in, c_out, g, hl)
        modes.append(mode)
        for t in traces:
            fig.add_trace(t, row=1, col=col)
        _bipartite_axes(fig, 1, col)
    fig.update_annotations(yshift=14)
    return _base_layout(fig, f"Dense vs grouped, {c_in} → {c_out} channels", 560,
                        {"figure": "bipartite_compare", "modes": modes, "groups": groups})


# ---------------------------------------------------------------- mask and weight tensor


def connection_mask(c_in: int, c_out: int, groups: int) -> go.Figure:
    """Return the C_out x C_in connection mask as a heatmap coloured by group (block-averaged when large)."""
    frac, rs, cs = cx.pooled_mask(c_in, c_out, groups)                     # (rows, cols)
    rows, cols = frac.shape
    out0 = np.arange(rows) * rs                                              # first output channel per row
    in0 = np.arange(cols) * cs
    row_group = cx.group_of_output(c_out, groups, out0)                      # (rows,)
    z = np.where(frac > 0, (row_group % len(GROUP_COLORS))[:, None], np.nan).astype(np.float32)
    pooled = rs > 1 or cs > 1
    if pooled:
        hover = "outputs %{y}–+" + str(rs - 1) + ", inputs %{x}–+" + str(cs - 1) + "<br>%{customdata:.0%} connected<extra></extra>"
    else:
        hover = "output %{y} ← input %{x}<br>%{customdata:.0%} connected<extra></extra>"
    fig = go.Figure(go.Heatmap(
        z=z, x=in0, y=out0, customdata=frac.astype(np.float32), colorscale=_palette_colorscale(),
        zmin=-0.5, zmax=len(GROUP_COLORS) - 0.5, showscale=False, hovertemplate=hover, xgap=0, ygap=0))
    fig.update_yaxes(autorange="reversed", title_text="output channel")
    fig.update_xaxes(title_text="input channel", side="top")
    note = f" (each cell averages {rs}×{cs} channels)" if pooled else ""
    return _base_layout(fig, f"Connection mask, C_out × C_in = {c_out} × {c_in}{note}", 520,
                        {"figure": "connection_mask", "pooled": pooled, "shape": [rows, cols],
                         "step": [rs, cs], "groups": groups})


def weight_slices(spec: ConvSpec, highlight: int | None = None) -> go.Figure:
    """Return the weight tensor (C_out, C_in/G, kH, kW) drawn as its G per-group slices."""
    c_out, per_in = spec.c_out, spec.c_in // spec.groups
    per_out = c_out // spec.groups
    rs = -(-c_out // cx.MASK_MAX_SIDE)                                       # row pooling step
    rows = -(-c_out // rs)
    out0 = np.arange(rows) * rs                                              # first output channel per row
    g_row = out0 // per_out                                                  # (rows,)
    z = np.repeat((g_row % len(GROUP_COLORS))[:, None], 2, axis=1).astype(np.float32)  # (rows, 2)
    if highlight is not None:
        z[g_row != highlight] = np.nan
    k = spec.kh * spec.kw
    hover = [[f"weight rows {a}–{min(a + rs, c_out) - 1}: group {g}<br>"
              f"reads input {_range_text(g * per_in, (g + 1) * per_in)}<br>"
              f"writes output {_range_text(g * per_out, (g + 1) * per_out)}<br>"
              f"{fmt_int(per_out * per_in * k)} weights owned by group {g} alone"] * 2
             for a, g in zip(out0, g_row)]
    fig = go.Figure(go.Heatmap(
        z=z, x=[0, per_in], y=out0, hovertext=hover, hoverinfo="text", colorscale=_palette_colorscale(),
        zmin=-0.5, zmax=len(GROUP_COLORS) - 0.5, showscale=False))
    for g in _groups_to_label(spec.groups):
        a, b = g * per_out, (g + 1) * per_out
        fig.add_annotation(x=1.02, xref="paper", y=(a + b - 1) / 2, yref="y", xanchor="left", showarrow=False,
                           text=f"group {g}: W[{a}:{b}] reads x[{g * per_in}:{(g + 1) * per_in}]",
                           font=dict(color=group_color(g)))
    if spec.groups > LABEL_GROUPS_MAX:
        fig.add_annotation(x=1.02, xref="paper", y=(2 * per_out + (spec.groups - 1) * per_out) / 2, yref="y",
                           xanchor="left", showarrow=False, text=f"… {spec.groups - 3} more groups …")
    fig.update_yaxes(autorange="reversed", title_text="dim 0: output channel (C_out)")
    fig.update_xaxes(title_text=f"dim 1: C_in/G = {per_in}", showticklabels=False)
    title = (f"Weight tensor ({c_out}, {per_in}, {spec.kh}, {spec.kw}): "
             f"G = {spec.groups} slices of {per_out} × {per_in} × {spec.kh} × {spec.kw}")
    fig.update_layout(margin=dict(l=10, r=260, t=60, b=10))
    return _base_layout(fig, title, 520, {"figure": "weight_slices", "groups": spec.groups,
                                          "shape": [c_out, per_in, spec.kh, spec.kw], "highlight": highlight})

