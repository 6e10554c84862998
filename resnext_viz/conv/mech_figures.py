"""Plotly builders for the mechanics lessons: the step-through, stacked-layer reachability, the shuffle (no torch).

Cells are drawn in data units with square aspect (one unit = one number), rows downwards like
a tensor printout. Every builder returns a go.Figure with `meta` naming it for tests.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from resnext_viz.conv import stacks
from resnext_viz.conv import stepthrough as sv
from resnext_viz.palette import GROUP_COLORS, TEXT_BACKGROUND, group_color, group_rgba, group_text_color, mix
from resnext_viz.plotting import base_layout

PER_ROW = 4            # input planes side by side before wrapping (cells stay big enough to read)
GREY_TEXT = "#666666"  # numbers and labels of the greyed-out groups: 4.5:1 on their cells and on the label chips
GREY_CELL = "#EFEFEF"  # cells of the greyed-out groups; every cell colour is opaque, so the numbers read the same
#                        on every theme's background
FRAME_MS = 600         # one position per frame when playing


def _cells_axes(fig: go.Figure) -> None:
    fig.update_xaxes(visible=False, scaleanchor="y", scaleratio=1, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed")


def _rect(x0: float, y0: float, w: float, h: float) -> tuple[list, list]:
    """Return the closed outline of a w x h box whose top-left cell corner is (x0, y0), then a gap (None)."""
    return [x0, x0 + w, x0 + w, x0, x0, None], [y0, y0, y0 + h, y0 + h, y0, None]


def _grid(z: np.ndarray, x0: float, y0: float, scale: list, zmin: float, zmax: float, text_color: str,
          name: str, hover: str, show_text: bool = True) -> go.Heatmap:
    """Return one 2-D array as a heatmap of numbered cells, top-left cell centred at (x0 + 0.5, y0 + 0.5)."""
    rows, cols = z.shape
    wide = np.nanmax(np.abs(z), initial=0) >= 10 and np.nanmin(z, initial=0) < 0   # e.g. "−29": a smaller font
    text = [["" if v != v else f"{v + 0.0:g}".replace("-", "−") for v in row] for row in z] if show_text else None
    index = np.stack(np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij"), axis=-1)   # (rows, cols, 2)
    return go.Heatmap(z=z, x=x0 + 0.5 + np.arange(cols), y=y0 + 0.5 + np.arange(rows), colorscale=scale, zmin=zmin,
                      customdata=index,
                      zmax=zmax, showscale=False, xgap=1, ygap=1, text=text, texttemplate="%{text}" if show_text
                      else None, textfont=dict(color=text_color, size=10 if wide else 12),
                      hovertemplate=hover + "<extra></extra>",
                      name=name)


def _group_scale(g: int | None) -> list:
    return [[0, "#FFFFFF"], [1, mix("#FFFFFF", group_color(g), 0.6)]] if g is not None else [[0, GREY_CELL],
                                                                                             [1, GREY_CELL]]


def _label(x: float, y: float, text: str, color: str, size: int = 12) -> dict:
    """Return a label annotation on a light chip (TEXT_BACKGROUND), readable on every theme's background."""
    return dict(x=x, y=y, text=text, showarrow=False, font=dict(color=color, size=size), bgcolor=TEXT_BACKGROUND,
                borderpad=1)


def _kernel_scale(g: int) -> list:
    return [[0, "#BDBDBD"], [0.5, "#FFFFFF"], [1, mix("#FFFFFF", group_color(g), 0.7)]]


def _layout_planes(s: sv.StepSpec, chans: range) -> tuple[int, int, list[tuple[float, float]], list[float]]:
    """Return (P, Q, top-left of each input plane, bottom of each row of planes), kernels under the read planes."""
    P, Q = s.h + 2 * s.padding, s.w + 2 * s.padding
    rows = -(-s.c_in // PER_ROW)
    kernel_rows = {c // PER_ROW for c in chans}
    tops, bottoms, y = [], [], 0.0
    for r in range(rows):
        tops.append(y)
        bottoms.append(y + P + (s.k + 2.6 if r in kernel_rows else 0))
        y = bottoms[-1] + 1.9                              # gap for the next row's labels
    return P, Q, [((c % PER_ROW) * (Q + 1), tops[c // PER_ROW]) for c in range(s.c_in)], bottoms


def one_channel(s: sv.StepSpec, t: sv.Tensors, o: int, start: tuple[int, int] = (0, 0)) -> go.Figure:
    """Return output channel o computed position by position: Plotly frames, a play/pause button and a slider.

    Top: every padded input plane, the group o reads in its colour, the others grey, the
    window outlined; under each read plane, the kernel slice w[o, c'] that multiplies it;
    right: the output plane, filled in up to the current position.
    """
    g, chans = sv.group_of(s, o), sv.in_channels(s, o)
    P, Q, tops, bottoms = _layout_planes(s, chans)
    xp = sv.padded(s, t.x)
    traces, labels = [], []
    for c, (x0, y0) in enumerate(tops):
        mine = c in chans
        traces.append(_grid(xp[c], x0, y0, _group_scale(g if mine else None), 0, 4, "#000000" if mine else GREY_TEXT,
                            f"input {c}", f"padded x[{c}, %{{customdata[0]}}, %{{customdata[1]}}] = %{{z}}"))
        if s.padding:                                     # the real input inside its padding zeros
            px_, py_ = _rect(x0 + s.padding, y0 + s.padding, s.w, s.h)
            traces.append(go.Scatter(x=px_, y=py_, mode="lines", line=dict(color="#595959", width=1, dash="dot"),
                                     hoverinfo="skip", name=f"unpadded {c}"))
        labels.append(_label(x0 + Q / 2, y0 - 0.4, f"in {c}", group_text_color(g) if mine else GREY_TEXT))
        if mine:
            kx, ky = x0 + (Q - s.k) / 2, y0 + P + 1.5
            traces.append(_grid(t.w[o, c - chans.start], kx, ky, _kernel_scale(g), -1, 1, "#000000", f"kernel {c}",
                                f"w[{o}, {c - chans.start}, %{{customdata[0]}}, %{{customdata[1]}}] = %{{z}}"))
            traces.append(go.Scatter(x=[x0 + Q / 2], y=[ky + s.k + 0.6], mode="text", hoverinfo="skip",
                                     text=[f"w[{o}, {c - chans.start}]"], textfont=dict(size=11), name=f"wlabel {c}"))
    out_x = min(s.c_in, PER_ROW) * (Q + 1) + 2
    ho, wo = s.out_hw
    full = sv.plane(s, t, o)                                                        # (H_out, W_out)
    order = [(i, j) for i in range(ho) for j in range(wo)]
    if start not in order:
        start = order[0]

    def state(n: int) -> list:
        i, j = order[n]
        shown = np.full((ho, wo), np.nan)
        for a, b in order[:n + 1]:
            shown[a, b] = full[a, b]
        wx, wy = [], []
        for c in chans:
            x0, y0 = tops[c]
            rx, ry = _rect(x0 + j * s.stride, y0 + i * s.stride, s.k, s.k)
            wx += rx
            wy += ry
        ox, oy = _rect(out_x + j, i, 1, 1)
        lim = max(1.0, float(np.abs(full).max()))
        return [go.Scatter(x=wx, y=wy, mode="lines", line=dict(color="#000000", width=3), hoverinfo="skip",
                           name="window"),
                _grid(shown, out_x, 0, _group_scale(g), -lim, lim, "#000000",
                      "output", f"y[{o}, %{{customdata[0]}}, %{{customdata[1]}}] = %{{z}}"),
                go.Scatter(x=ox, y=oy, mode="lines", line=dict(color="#000000", width=3), hoverinfo="skip",
                           name="output cell"),
                go.Scatter(x=[out_x], y=[ho + 1.2], mode="text", textposition="middle right",
                           text=[f"y[{o}, {i}, {j}] = {full[i, j]:g}".replace("-", "−")], hoverinfo="skip",
                           textfont=dict(size=14), name="value")]
    # an invisible point keeps room for the value's text right of the output plane
    traces.append(go.Scatter(x=[out_x + max(wo, 9)], y=[0], mode="markers", marker=dict(opacity=0),
                             hoverinfo="skip", name="room"))

    bx, by = _rect(out_x, 0, wo, ho)
    traces.append(go.Scatter(x=bx, y=by, mode="lines", line=dict(color=group_color(g), width=1), hoverinfo="skip",
                             name="output outline"))
    n0 = order.index(start)
    moving = list(range(len(traces), len(traces) + 4))   # the four traces each frame replaces
    traces += state(n0)
    labels.append(_label(out_x + wo / 2, -0.4, f"out {o}", group_text_color(g)))
    fig = go.Figure(traces, layout=dict(annotations=labels))
    fig.frames = [go.Frame(data=state(n), traces=moving, name=f"{i},{j}") for n, (i, j) in enumerate(order)]
    anim = dict(mode="immediate", frame=dict(duration=FRAME_MS, redraw=True), transition=dict(duration=0),
                fromcurrent=True)
    fig.update_layout(
        updatemenus=[dict(type="buttons", direction="left", x=0, y=0, xanchor="left", yanchor="top",
                          pad=dict(t=10, r=10), showactive=False, buttons=[
                              dict(label="▶ Play", method="animate", args=[None, anim]),
                              dict(label="❚❚ Pause", method="animate",
                                   args=[[None], dict(mode="immediate", frame=dict(duration=0, redraw=False))])])],
        sliders=[dict(active=n0, x=0.22, len=0.78, y=0, yanchor="top", pad=dict(t=10),  # clear of the buttons
                      currentvalue=dict(prefix="position (i, j) = ", font=dict(size=13), xanchor="right"),
                      steps=[dict(label=f"({i}, {j})", method="animate",
                                  args=[[f"{i},{j}"], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                                           transition=dict(duration=0))])
                             for i, j in order])])
    _cells_axes(fig)
    read = f"input channels {chans.start}–{chans.stop - 1}" if len(chans) > 1 else f"input channel {chans.start}"
    title = (f"Output channel {o} (group {g}) reads {read} only" if s.groups > 1
             else f"Output channel {o}, dense (G = 1): its filter reads all {s.c_in} input channels")
    bottom = max(bottoms[-1], ho + 2)
    x_hi = out_x + max(wo, 9) + 0.5
    fig.update_xaxes(range=[-0.5, x_hi])
    fig.update_yaxes(range=[bottom + 0.3, -1.2], autorange=False)
    px = min(34.0, 900 / (x_hi + 0.5))                      # pixels per cell at a typical page width
    height = int(60 + 110 + px * (bottom + 1.5))
    fig = base_layout(fig, title, min(height, 900), {"figure": "one_channel", "frames": len(order), "group": g,
                                                      "reads": [chans.start, chans.stop], "o": o})
    fig.update_layout(margin=dict(l=10, r=10, t=60, b=110))
    return fig


def overview(s: sv.StepSpec, y: np.ndarray) -> go.Figure:
    """Return the input (C_in, H, W), the weights as G slabs and the output (C_out, H_out, W_out), by group."""
    fig = go.Figure()
    ho, wo = s.out_hw
    d = 0.9                                                   # depth offset of each channel plane

    def stack(x0: float, n: int, h: float, w: float, group_of, label: str) -> float:
        for c in range(n - 1, -1, -1):                        # back to front: channel 0 in front
            xs, ys = _rect(x0 + c * d, -c * d, w, h)
            g = group_of(c)
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=group_rgba(g, 0.35),
                                     line=dict(color=group_color(g), width=1.5), name=f"{label} {c}",
                                     hovertemplate=f"{label} channel {c}, group {g}<extra></extra>"))
        fig.add_annotation(x=x0 + (w + (n - 1) * d) / 2, y=h + 1.2, text=f"<b>{label}</b>", showarrow=False,
                           yanchor="top")
        return x0 + w + (n - 1) * d

    end = stack(0, s.c_in, s.h, s.w, lambda c: c // s.per_in,
                f"input ({s.c_in}, {s.h}, {s.w})")
    x = end + 3
    slab_h = s.k + 0.6
    for g in range(s.groups):                                 # slab g: its C_out/G filters of (C_in/G, k, k)
        y0 = g * (slab_h + 0.8) - (s.groups - 1) * (slab_h + 0.8) / 2 + s.h / 2 - slab_h / 2
        w = s.per_out * 0.9 + s.k
        xs, ys = _rect(x, y0, w, slab_h)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=group_rgba(g, 0.35),
                                 line=dict(color=group_color(g), width=1.5), name=f"slab {g}",
                                 hovertemplate=(f"group {g}: filters {g * s.per_out}–{(g + 1) * s.per_out - 1}, "
                                                f"each ({s.per_in}, {s.k}, {s.k})<extra></extra>")))
        fig.add_annotation(x=x + w / 2, y=y0 + slab_h / 2, showarrow=False, font=dict(size=11,
                           color=group_text_color(g)), bgcolor="#FFFFFF",
                           text=f"g{g}: ({s.per_out}, {s.per_in}, {s.k}, {s.k})")
    wmax = s.per_out * 0.9 + s.k
    top = -(s.groups - 1) * (slab_h + 0.8) / 2 + s.h / 2 - slab_h / 2
    fig.add_annotation(x=x + wmax / 2, y=top - 0.6, yanchor="bottom", showarrow=False,
                       text=f"<b>weights: {s.groups} slab{'s' if s.groups > 1 else ''}</b>")
    x += wmax + 3
    stack(x, s.c_out, ho, wo, lambda c: c // s.per_out, f"output ({s.c_out}, {ho}, {wo})")
    _cells_axes(fig)
    span = max(s.h + 2, s.groups * (slab_h + 0.8) + 2)
    title = (f"Input planes, weight slabs and output planes, coloured by group (G = {s.groups})")
    fig = base_layout(fig, title, int(min(520, 160 + 22 * span)), {"figure": "overview", "groups": s.groups})
    return fig


# ---------------------------------------------------------------- stacked layers


def _reach_z(m: np.ndarray, ref_groups: int) -> np.ndarray:
    c = m.shape[1]
    col_group = (np.arange(c) // (c // ref_groups)) % len(GROUP_COLORS)
    return np.where(m, col_group[None, :], np.nan).astype(np.float32)


def _palette_scale() -> list:
    n = len(GROUP_COLORS)
    scale = []
    for i, col in enumerate(GROUP_COLORS):
        scale += [[i / n, col], [(i + 1) / n, col]]
    return scale


def reach_steps(c: int, layers: list[str], ref_groups: int) -> go.Figure:
    """Return one heatmap per layer: reachability [output, input] after layers 1..k, coloured by input group."""
    lays = stacks.parse_layers(c, layers)
    steps = stacks.reachability_steps(c, layers)
    n = len(steps)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig = make_subplots(rows=rows, cols=cols, horizontal_spacing=0.04, vertical_spacing=0.12,
                        subplot_titles=[f"after {k + 1}: {lay.label}<br><sup>{int(m.sum()):,} of {c * c:,} "
                                        "pairs</sup>" for k, (lay, m) in enumerate(zip(lays, steps))])
    for k, m in enumerate(steps):
        fig.add_trace(go.Heatmap(z=_reach_z(m, ref_groups), colorscale=_palette_scale(), zmin=-0.5,
                                 zmax=len(GROUP_COLORS) - 0.5, showscale=False, xgap=0, ygap=0,
                                 hovertemplate="output %{y} ← input %{x}<extra></extra>", name=f"after {k + 1}"),
                      row=k // cols + 1, col=k % cols + 1)
    fig.update_yaxes(autorange="reversed", showticklabels=False, scaleanchor="x", constrain="domain")
    fig.update_xaxes(showticklabels=False, constrain="domain")
    for r in range(1, rows + 1):
        fig.update_yaxes(title_text="output", row=r, col=1)
    fig.update_xaxes(title_text="input", row=rows)
    fig = base_layout(fig, f"Which inputs reach which outputs, layer by layer (c = {c}; colour = input group of "
                           f"{ref_groups})", 150 + 260 * rows, {"figure": "reach_steps", "layers": len(steps)})
    fig.update_layout(margin=dict(t=110))
    return fig


def pattern(m: np.ndarray, title: str, ref_groups: int, name: str) -> go.Figure:
    """Return one (c, c) bool matrix [output, input] as a heatmap coloured by input group."""
    fig = go.Figure(go.Heatmap(z=_reach_z(m, ref_groups), colorscale=_palette_scale(), zmin=-0.5,
                               zmax=len(GROUP_COLORS) - 0.5, showscale=False,
                               hovertemplate="output %{y} ← input %{x}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title_text="output channel", scaleanchor="x", constrain="domain")
    fig.update_xaxes(title_text="input channel", constrain="domain")
    return base_layout(fig, title, 420, {"figure": name, "nonzero": int(m.sum())})


def shuffle_diagram(c: int, groups: int) -> go.Figure:
    """Return channel shuffle as lines from input channel perm[k] (left) to output position k (right)."""
    perm = stacks.shuffle_permutation(c, groups)
    per = c // groups
    fig = go.Figure()
    y = lambda ch: 1 - ch / max(c - 1, 1)                     # noqa: E731  channel 0 at the top
    for g in range(groups):
        xs, ys = [], []
        for k in np.nonzero(perm // per == g)[0]:
            xs += [0, 1, None]
            ys += [y(perm[k]), y(k), None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines",
                                 line=dict(color=group_color(g), width=1.5 if c <= 64 else 0.6),
                                 hoverinfo="skip", name=f"group {g}"))
    for side, x in (("input", 0), ("output", 1)):
        chans = np.arange(c)
        g_of = (perm[chans] if side == "output" else chans) // per
        fig.add_trace(go.Scatter(x=np.full(c, x), y=[y(ch) for ch in chans], mode="markers",
                                 marker=dict(size=7, color=[group_color(int(v)) for v in g_of]),
                                 hovertext=[f"{side} {ch} (from group {int(v)})" for ch, v in zip(chans, g_of)],
                                 hoverinfo="text", name=side))
    fig.add_annotation(x=0, y=1.06, text="<b>before</b>: group blocks", showarrow=False, yanchor="bottom")
    fig.add_annotation(x=1, y=1.06, text="<b>after</b>: one from each group in turn", showarrow=False,
                       yanchor="bottom")
    fig.update_xaxes(visible=False, range=[-0.25, 1.25])
    fig.update_yaxes(visible=False, range=[-0.05, 1.12])
    return base_layout(fig, f"Channel shuffle, G = {groups}: reshape ({groups}, {per}), transpose, flatten",
                       min(560, 220 + 8 * c), {"figure": "shuffle", "groups": groups, "c": c})
