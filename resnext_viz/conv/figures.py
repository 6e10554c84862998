"""Plotly figure builders for the convolution lessons: data in, go.Figure out.

Every figure colours group g with palette.group_color(g), and records what it shows in
`fig.layout.meta` (e.g. {"figure": "bipartite", "mode": "bands"}) so tests and the page
can check structure without looking at pixels. No template is forced here: Streamlit
applies its light or dark theme on screen, export.py applies a print template.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from resnext_viz.conv import connectivity as cx
from resnext_viz.conv.arithmetic import ConvSpec, GroupSweepRow, fmt_int
from resnext_viz.palette import (FADED, GROUP_COLORS, NEUTRAL_BAR, NEUTRAL_HOVER, TEXT_BACKGROUND, group_color,
                                 group_rgba, group_text_color)
from resnext_viz.plotting import base_layout, palette_colorscale

NODE_MARKERS_MAX = 512   # above this many channels a side, show group blocks, not dots
GAP_GROUPS_MAX = 64    # up to this many groups, blocks are drawn with a visible gap between them
BLOCK_BARS_MAX = 256   # above this many groups, channel blocks are drawn as one grey bar
SLICE_HOVER_MAX = 1024 # above this many groups, slices carry no individual hover text
LABEL_GROUPS_MAX = 16    # above this many groups, label only a few of them
FAN_IN_FROM = 8         # above this many groups (edges drawn), the page zooms to the first few
FAN_IN_GROUPS = 4       # ...and draws this many groups in full
SLICE_LABELS_MAX = 16    # at most this many weight-slice labels (they are spread out, a leader line each)

def _range_text(start: int, stop: int) -> str:
    """Return a half-open channel range as text: 'channels 4–5' or 'channel 4'."""
    return f"channel {start}" if stop - start == 1 else f"channels {start}–{stop - 1}"


def _slice_label_step(groups: int) -> int:
    """Return k such that labelling every k-th slice gives at most SLICE_LABELS_MAX - 3 labels."""
    return max(2, -(-groups // (SLICE_LABELS_MAX - 3)))


def _slices_to_label(groups: int, highlight: int | None = None) -> list[int]:
    """Return the weight slices that get a label: all when few, else 0, 1, every k-th, the last, a highlighted one."""
    if groups <= LABEL_GROUPS_MAX:
        return list(range(groups))
    chosen = {0, 1, groups - 1} | set(range(0, groups, _slice_label_step(groups)))
    return sorted(chosen | ({highlight} if highlight is not None else set()))


# ---------------------------------------------------------------- parameter page


def params_vs_groups(rows: list[GroupSweepRow], current: int | None = None) -> go.Figure:
    """Return bars of parameters and a line of MACs against every valid group count (log scales)."""
    x = [str(r.groups) for r in rows]
    colors = [group_color(0) if r.groups == current else NEUTRAL_BAR for r in rows]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_bar(
        x=x, y=[r.params for r in rows], marker_color=colors, name="parameters", hoverlabel=NEUTRAL_HOVER,
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
    fig.update_yaxes(title_text="parameters (bars)", type="log", dtick=1, tickformat="~s", secondary_y=False)
    fig.update_yaxes(title_text="MACs per image (line)", type="log", dtick=1, tickformat="~s", secondary_y=True,
                     showgrid=False)
    base_layout(fig, "Parameters and MACs fall as 1/G", 380,
                 {"figure": "params_vs_groups", "groups": [r.groups for r in rows], "current": current})
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"))
    return fig


# ---------------------------------------------------------------- bipartite diagram


@dataclass(frozen=True)
class _Side:
    """Vertical layout of one side's channels: group blocks top to bottom, a gap between blocks."""

    c: int
    groups: int

    @property
    def _per(self) -> int:
        return self.c // self.groups

    @property
    def _gap(self) -> float:
        """Gap between blocks in channel units: half a block when the groups are few enough to see."""
        return 0.5 * self._per if 1 < self.groups <= GAP_GROUPS_MAX else 0.0

    @property
    def _units(self) -> float:
        return self.c + self._gap * (self.groups - 1)

    def channel_y(self) -> np.ndarray:
        """Return each channel's centre height in [0, 1], channel 0 at the top."""
        ch = np.arange(self.c)
        return (1 - (ch + (ch // self._per) * self._gap + 0.5) / self._units).astype(np.float32)

    def block(self, g: int) -> tuple[float, float]:
        """Return (top, bottom) heights of group g's channel block."""
        top = 1 - g * (self._per + self._gap) / self._units
        return top, top - self._per / self._units


def _edge_xy(inputs: np.ndarray, outputs: np.ndarray, left: _Side, right: _Side) -> tuple[np.ndarray, np.ndarray]:
    """Return x, y arrays drawing every edge as a segment, segments separated by NaN."""
    y_in, y_out = left.channel_y(), right.channel_y()
    n = len(inputs)
    x = np.tile(np.array([0.0, 1.0, np.nan], dtype=np.float32), n)          # (3E,)
    y = np.empty((n, 3), dtype=np.float32)                                  # (E, 3)
    y[:, 0], y[:, 1], y[:, 2] = y_in[inputs], y_out[outputs], np.nan
    return x, y.reshape(-1)


def _band_xy(groups: list[int], left: _Side, right: _Side) -> tuple[np.ndarray, np.ndarray]:
    """Return x, y arrays of closed band polygons (input block -> output block), NaN-separated."""
    xs, ys = [], []
    for g in groups:
        (top_in, bot_in), (top_out, bot_out) = left.block(g), right.block(g)
        xs += [0, 1, 1, 0, 0, np.nan]
        ys += [top_in, top_out, bot_out, bot_in, top_in, np.nan]
    return np.array(xs, dtype=np.float32), np.array(ys, dtype=np.float32)


def _node_trace(side: str, here: _Side, other: _Side, highlight: int | None, x: float) -> go.Scatter:
    """Return one marker per channel on one side, coloured by group, with hover text."""
    ch = np.arange(here.c)
    per, other_per = here.c // here.groups, other.c // here.groups
    g = ch // per
    colors = [group_color(k) if highlight in (None, k) else FADED for k in g]
    link = "feeds output" if side == "input" else "reads input"
    hover = [f"{side} channel {i}<br>group {k} ({_range_text(k * per, (k + 1) * per)} of the {side}s)"
             f"<br>{link} {_range_text(k * other_per, (k + 1) * other_per)}" for i, k in zip(ch, g)]
    size = float(np.clip(400 / max(here.c, 1), 3, 10))
    return go.Scatter(x=np.full(here.c, x, dtype=np.float32), y=here.channel_y(), mode="markers",
                      marker=dict(color=colors, size=size, line=dict(width=0)),
                      hovertext=hover, hoverinfo="text", name=f"{side} channels")


def _bar_trace(x: float, side: _Side, groups: list[int] | None, color: str, name: str) -> go.Scatter:
    """Return one thick vertical bar per listed group block (the whole side when groups is None)."""
    xs, ys = [], []
    spans = [(1.0, 0.0)] if groups is None else [side.block(g) for g in groups]
    for top, bottom in spans:
        xs += [x, x, np.nan]
        ys += [top, bottom, np.nan]
    return go.Scatter(x=np.array(xs, np.float32), y=np.array(ys, np.float32), mode="lines",
                      line=dict(color=color, width=8), hoverinfo="skip", name=name)


def _block_bar_traces(left: _Side, right: _Side, highlight: int | None) -> list[go.Scatter]:
    """Return bars marking each group's channel block on both sides (one grey bar when groups are many)."""
    traces = []
    n, groups = len(GROUP_COLORS), left.groups
    for name, side, x in (("input", left, -0.015), ("output", right, 1.015)):
        if groups > BLOCK_BARS_MAX:
            traces.append(_bar_trace(x, side, None, FADED, f"{name} channels"))
        else:
            for ci in range(min(groups, n)):
                color = group_color(ci) if highlight is None else FADED
                traces.append(_bar_trace(x, side, list(range(ci, groups, n)), color, f"{name} blocks colour {ci}"))
        if highlight is not None:
            traces.append(_bar_trace(x, side, [highlight], group_color(highlight), f"{name} block {highlight}"))
    return traces


def _bipartite_traces(c_in: int, c_out: int, groups: int, highlight: int | None) -> tuple[list, str]:
    """Return the traces of one bipartite diagram and its mode ('edges' or 'bands')."""
    traces: list = []
    left, right = _Side(c_in, groups), _Side(c_out, groups)
    mode = "bands" if cx.draws_bands(c_in, c_out, groups) else "edges"
    order = [g for g in range(min(groups, len(GROUP_COLORS)))]
    if mode == "edges":
        e = cx.edges(c_in, c_out, groups)                                   # (E, 3): in, out, group
        width = float(np.clip(60 / np.sqrt(len(e)), 0.3, 2.0))
        for ci in order:
            sel = (e[:, 2] % len(GROUP_COLORS) == ci) & (e[:, 2] != (highlight if highlight is not None else -1))
            if not sel.any():
                continue
            x, y = _edge_xy(e[sel, 0], e[sel, 1], left, right)
            alpha = float(np.clip(40 / np.sqrt(len(e)), 0.2, 0.75))                # dense layers: lighter lines
            color = group_rgba(ci, alpha) if highlight is None else FADED
            traces.append(go.Scattergl(x=x, y=y, mode="lines", line=dict(color=color, width=width),
                                       hoverinfo="skip", name=f"edges colour {ci}")
                          if len(x) > 30000 else
                          go.Scatter(x=x, y=y, mode="lines", line=dict(color=color, width=width),
                                     hoverinfo="skip", name=f"edges colour {ci}"))
        if highlight is not None:
            sel = e[:, 2] == highlight
            x, y = _edge_xy(e[sel, 0], e[sel, 1], left, right)
            traces.append(go.Scatter(x=x, y=y, mode="lines", line=dict(color=group_color(highlight), width=width * 1.6),
                                     hoverinfo="skip", name=f"edges group {highlight}"))
    else:
        bs = cx.bands(c_in, c_out, groups)
        for ci in order:
            chosen = [b.group for b in bs if b.group % len(GROUP_COLORS) == ci and b.group != highlight]
            if not chosen:
                continue
            x, y = _band_xy(chosen, left, right)
            color = group_rgba(ci, 0.45) if highlight is None else FADED
            traces.append(go.Scatter(x=x, y=y, mode="lines", fill="toself", fillcolor=color,
                                     line=dict(color=color, width=0.5), hoverinfo="skip",
                                     name=f"bands colour {ci}"))
        if highlight is not None:
            x, y = _band_xy([highlight], left, right)
            traces.append(go.Scatter(x=x, y=y, mode="lines", fill="toself", fillcolor=group_rgba(highlight, 0.8),
                                     line=dict(color=group_color(highlight), width=1), hoverinfo="skip",
                                     name=f"band group {highlight}"))
        # one invisible marker per band centre carries the hover text for that group
        cy = np.array([sum(left.block(b.group) + right.block(b.group)) / 4 for b in bs], dtype=np.float32)
        traces.append(go.Scatter(
            x=np.full(len(bs), 0.5, dtype=np.float32), y=cy, mode="markers", marker=dict(size=6, opacity=0),
            hovertext=[f"group {b.group}<br>input {_range_text(b.in_start, b.in_stop)}<br>"
                       f"→ output {_range_text(b.out_start, b.out_stop)}<br>{fmt_int(b.edges)} connections"
                       for b in bs],
            hoverinfo="text", name="band hover"))
    if max(c_in, c_out) <= NODE_MARKERS_MAX:
        traces.append(_node_trace("input", left, right, highlight, 0.0))
        traces.append(_node_trace("output", right, left, highlight, 1.0))
    else:
        traces += _block_bar_traces(left, right, highlight)
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


def _group_number_labels(side: _Side, groups: list[int], x: float, anchor: str) -> list[dict]:
    """Return one 'group g' label per listed group block, in the group's text colour on a white chip."""
    return [dict(x=x, y=sum(side.block(g)) / 2, xanchor=anchor, showarrow=False, text=f"<b>group {g}</b>",
                 font=dict(color=group_text_color(g), size=12), bgcolor=TEXT_BACKGROUND, borderpad=1)
            for g in groups]


def bipartite(c_in: int, c_out: int, groups: int, highlight: int | None = None) -> go.Figure:
    """Return the input->output connection diagram, one colour per group, optionally one group highlighted."""
    traces, mode = _bipartite_traces(c_in, c_out, groups, highlight)
    fig = go.Figure(traces)
    _bipartite_axes(fig)
    n_edges = cx.edge_count(c_in, c_out, groups)
    what = "every edge drawn" if mode == "edges" else "one band per group (too many edges to draw one by one)"
    title = f"{c_in} → {c_out} channels, G = {groups}: {fmt_int(n_edges)} connections, {what}"
    # number the blocks so the palette's repeat every 7 is never ambiguous (all when few, else the highlighted one)
    numbered = list(range(groups)) if 1 < groups <= LABEL_GROUPS_MAX else ([highlight] if highlight is not None else [])
    fig.update_layout(annotations=_side_labels(c_in, c_out)
                      + _group_number_labels(_Side(c_out, groups), numbered, 1.03, "left"))
    return base_layout(fig, title, 560, {"figure": "bipartite", "mode": mode, "edges": n_edges,
                                          "groups": groups, "highlight": highlight},
                       alt=_bipartite_alt(c_in, c_out, groups, highlight, n_edges))


def _bipartite_alt(c_in: int, c_out: int, groups: int, highlight: int | None, n_edges: int) -> str:
    per_in, per_out = c_in // groups, c_out // groups
    hl = f" Group {highlight} is highlighted." if highlight is not None else ""
    return (f"Connection diagram from {c_in} input to {c_out} output channels in {groups} "
            f"group{'s' if groups > 1 else ''}: group g joins inputs g·{per_in} to (g+1)·{per_in} − 1 to outputs "
            f"g·{per_out} to (g+1)·{per_out} − 1 only, {fmt_int(n_edges)} connections in all against "
            f"{fmt_int(c_in * c_out)} dense; each group is numbered on the right.{hl}")


def uses_fan_in(c_in: int, c_out: int, groups: int, highlight: int | None = None) -> bool:
    """Return True when the connectivity page should draw bipartite_fan_in (many groups, edges, no far highlight)."""
    return (groups > FAN_IN_FROM and not cx.draws_bands(c_in, c_out, groups)
            and (highlight is None or highlight < FAN_IN_GROUPS))


def bipartite_fan_in(c_in: int, c_out: int, groups: int, highlight: int | None = None,
                     shown: int = FAN_IN_GROUPS) -> go.Figure:
    """Return groups 0..shown-1 drawn edge by edge at full height, each group numbered, the rest summarised."""
    shown = max(1, min(shown, groups))
    per_in, per_out = c_in // groups, c_out // groups
    hl = highlight if highlight is not None and highlight < shown else None
    traces, _ = _bipartite_traces(shown * per_in, shown * per_out, shown, hl)   # groups 0..shown-1 are a layer
    fig = go.Figure(traces)
    _bipartite_axes(fig)
    left, right = _Side(shown * per_in, shown), _Side(shown * per_out, shown)
    notes = [
        dict(x=0, y=1.04, text=f"<b>inputs 0–{shown * per_in - 1} of {c_in}</b>", showarrow=False, yanchor="bottom"),
        dict(x=1, y=1.04, text=f"<b>outputs 0–{shown * per_out - 1} of {c_out}</b>", showarrow=False,
             yanchor="bottom"),
    ]
    for x, side, anchor in ((-0.03, left, "right"), (1.03, right, "left")):
        notes += _group_number_labels(side, list(range(shown)), x, anchor)
    if groups > shown:
        notes.append(dict(x=0.5, y=-0.035, yanchor="top", showarrow=False,
                          text=f"groups {shown}–{groups - 1} omitted, same pattern: each reads its own {per_in} "
                               f"input{'s' if per_in > 1 else ''} and writes its own {per_out} "
                               f"output{'s' if per_out > 1 else ''}"))
    fig.update_layout(annotations=notes)
    fig.update_yaxes(range=[-0.1, 1.06])
    n_edges = cx.edge_count(c_in, c_out, groups)
    title = (f"{c_in} → {c_out} channels, G = {groups}: groups 0–{shown - 1} drawn edge by edge "
             f"({fmt_int(cx.edge_count(shown * per_in, shown * per_out, shown))} of {fmt_int(n_edges)} connections)")
    return base_layout(fig, title, 560, {"figure": "bipartite", "mode": "fan_in", "edges": n_edges, "groups": groups,
                                         "shown": shown, "highlight": highlight},
                       alt=_bipartite_alt(c_in, c_out, groups, highlight, n_edges)
                       + f" Groups 0 to {shown - 1} are drawn edge by edge.")


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
    base_layout(fig, f"Dense vs grouped, {c_in} → {c_out} channels", 600,
                 {"figure": "bipartite_compare", "modes": modes, "groups": groups},
                 alt=f"Two connection diagrams side by side for {c_in} input and {c_out} output channels: dense "
                     f"(G = 1) with {fmt_int(cx.edge_count(c_in, c_out, 1))} connections, every output seeing "
                     f"all {c_in} inputs, and grouped (G = {groups}) with "
                     f"{fmt_int(cx.edge_count(c_in, c_out, groups))} connections, each output seeing "
                     f"{c_in // groups}.")
    fig.update_layout(margin=dict(t=100))
    return fig


# ---------------------------------------------------------------- mask and weight tensor


def connection_mask(c_in: int, c_out: int, groups: int, highlight: int | None = None) -> go.Figure:
    """Return the C_out x C_in connection mask as a heatmap coloured by group (block-averaged when large).

    With `highlight`, only that group's block keeps its colour; the others turn grey.
    """
    frac, rs, cs = cx.pooled_mask(c_in, c_out, groups)                     # (rows, cols)
    rows, cols = frac.shape
    out0 = np.arange(rows) * rs                                              # first output channel per row
    in0 = np.arange(cols) * cs
    row_group = cx.group_of_output(c_out, groups, out0)                      # (rows,)
    z = np.where(frac > 0, (row_group % len(GROUP_COLORS))[:, None], np.nan).astype(np.float32)
    grey = None
    if highlight is not None:
        other = (frac > 0) & (row_group != highlight)[:, None]                 # cells of the other groups
        grey = np.where(other, 0.0, np.nan).astype(np.float32)
        z[other] = np.nan
    pooled = rs > 1 or cs > 1
    if pooled:
        hover = "outputs %{y}–+" + str(rs - 1) + ", inputs %{x}–+" + str(cs - 1) + "<br>%{customdata:.0%} connected<extra></extra>"
    else:
        hover = "output %{y} ← input %{x}<br>%{customdata:.0%} connected<extra></extra>"
    fig = go.Figure(go.Heatmap(
        z=z, x=in0, y=out0, customdata=frac.astype(np.float32), colorscale=palette_colorscale(),
        zmin=-0.5, zmax=len(GROUP_COLORS) - 0.5, showscale=False, hovertemplate=hover, xgap=0, ygap=0))
    if grey is not None:
        fig.add_heatmap(z=grey, x=in0, y=out0, colorscale=[[0, FADED], [1, FADED]], showscale=False,
                        customdata=frac.astype(np.float32), hovertemplate=hover, name="other groups")
    fig.update_yaxes(autorange="reversed", title_text="output channel")
    fig.update_xaxes(title_text="input channel")
    note = f"<br><sup>each cell averages {rs} × {cs} channels</sup>" if pooled else ""
    return base_layout(fig, f"Connection mask, C_out × C_in = {c_out} × {c_in}{note}", 520,
                       {"figure": "connection_mask", "pooled": pooled, "shape": [rows, cols],
                        "step": [rs, cs], "groups": groups, "highlight": highlight},
                       alt=f"Connection mask of {c_out} output by {c_in} input channels: {groups} coloured "
                           f"block{'s' if groups > 1 else ''} of {c_out // groups} × {c_in // groups} on the "
                           f"diagonal are connected, every other cell is zero"
                           + (f"; group {highlight} highlighted." if highlight is not None else "."))


def weight_slices(spec: ConvSpec, highlight: int | None = None) -> go.Figure:
    """Return the weight tensor (C_out, C_in/G, kH, kW) drawn as its G per-group slices, each labelled."""
    G, c_out, per_in = spec.groups, spec.c_out, spec.c_in // spec.groups
    per_out = c_out // G
    side = _Side(c_out, G)
    traces = []
    for ci in range(min(G, len(GROUP_COLORS))):
        gs = [g for g in range(ci, G, len(GROUP_COLORS)) if g != highlight]
        if not gs:
            continue
        xs, ys = [], []
        for g in gs:
            top, bottom = side.block(g)
            xs += [0, 1, 1, 0, 0, np.nan]
            ys += [top, top, bottom, bottom, top, np.nan]
        color = group_color(ci) if highlight is None else FADED
        traces.append(go.Scatter(x=np.array(xs, np.float32), y=np.array(ys, np.float32), mode="lines", fill="toself",
                                 fillcolor=color, line=dict(color=color, width=0.5), hoverinfo="skip",
                                 name=f"slices colour {ci}"))
    if highlight is not None:
        top, bottom = side.block(highlight)
        traces.append(go.Scatter(x=[0, 1, 1, 0, 0], y=[top, top, bottom, bottom, top], mode="lines", fill="toself",
                                 fillcolor=group_color(highlight), line=dict(color=group_color(highlight)),
                                 hoverinfo="skip", name=f"slice {highlight}"))
    k = spec.kh * spec.kw
    if G <= SLICE_HOVER_MAX:
        traces.append(go.Scatter(
            x=np.full(G, 0.5, dtype=np.float32), y=np.array([sum(side.block(g)) / 2 for g in range(G)], np.float32),
            mode="markers", marker=dict(size=8, opacity=0), hoverinfo="text", name="slice hover",
            hovertext=[f"group {g}: weight rows W[{g * per_out}:{(g + 1) * per_out}]<br>"
                       f"reads input {_range_text(g * per_in, (g + 1) * per_in)}<br>"
                       f"writes output {_range_text(g * per_out, (g + 1) * per_out)}<br>"
                       f"{fmt_int(per_out * per_in * k)} weights, used by group {g} alone" for g in range(G)]))
    fig = go.Figure(traces)
    labelled = _slices_to_label(G, highlight)
    spread = G > LABEL_GROUPS_MAX                                     # labels evenly spaced, a leader line each
    top, bottom = sum(side.block(0)) / 2, sum(side.block(G - 1)) / 2
    for i, g in enumerate(labelled):
        a, b = g * per_out, (g + 1) * per_out
        y_slice = sum(side.block(g)) / 2
        y_text = top - i * (top - bottom) / max(len(labelled) - 1, 1) if spread else y_slice
        text = f"group {g}: W[{a}:{b}] reads x[{g * per_in}:{(g + 1) * per_in}]"
        font = dict(color=group_text_color(g), size=12)
        if spread:
            fig.add_annotation(x=1.0, y=y_slice, ax=1.18, ay=y_text, axref="x", ayref="y", xanchor="left",
                               showarrow=True, arrowhead=0, arrowwidth=1, arrowcolor="rgba(128,128,128,0.8)",
                               text=text, font=font, bgcolor=TEXT_BACKGROUND, borderpad=1)
        else:
            fig.add_annotation(x=1.06, y=y_slice, xanchor="left", showarrow=False, text=text, font=font,
                               bgcolor=TEXT_BACKGROUND, borderpad=1)
    if spread:
        step = _slice_label_step(G)
        fig.add_annotation(x=0, y=-0.09, xanchor="left", yanchor="top", showarrow=False,
                           text=f"labels: groups 0, 1, multiples of {step}, the last (hover for any)")
    fig.add_annotation(x=0, y=-0.03, xanchor="left", yanchor="top", showarrow=False,
                       text=f"dim 1: C_in/G = {per_in} input channel{'s' if per_in > 1 else ''} per slice")
    fig.add_annotation(x=-0.03, y=0.5, xanchor="right", showarrow=False, textangle=-90,
                       text=f"dim 0: C_out = {c_out} output channels")
    fig.update_xaxes(visible=False, range=[-0.12, 3.0], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-0.17 if spread else -0.1, 1.02], fixedrange=True)
    title = (f"Weight tensor ({c_out}, {per_in}, {spec.kh}, {spec.kw}) = {G} slice{'s' if G > 1 else ''} "
             f"of {per_out} × {per_in} × {spec.kh} × {spec.kw}")
    return base_layout(fig, title, 520, {"figure": "weight_slices", "groups": G,
                                          "shape": [c_out, per_in, spec.kh, spec.kw], "highlight": highlight},
                       alt=f"The weight tensor of shape ({c_out}, {per_in}, {spec.kh}, {spec.kw}) drawn as {G} "
                           f"stacked slice{'s' if G > 1 else ''}, one per group, each {per_out} × {per_in} × "
                           f"{spec.kh} × {spec.kw} = {fmt_int(per_out * per_in * spec.kh * spec.kw)} weights; "
                           f"slice g reads only input channels g·{per_in} to (g+1)·{per_in} − 1.")
