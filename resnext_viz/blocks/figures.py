"""Plotly builders for the ResNeXt block lessons: cardinality, the three forms, ResNet vs ResNeXt.

Same house rules as figures.py: data in, go.Figure out, the shared group palette (branch i
of a ResNeXt block is group i of its grouped convolution, so it gets group i's colour),
and `layout.meta` describing what was drawn.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from resnext_viz.blocks.cardinality import TABLE3_TOP1_ERROR, CardinalityRow, FixedWidthRow
from resnext_viz.palette import NEUTRAL_BAR, NEUTRAL_HOVER, TEXT_BACKGROUND, group_color, text_on
from resnext_viz.plotting import base_layout

NEUTRAL = NEUTRAL_BAR  # opaque grey bars, 3:1 or more on light and dark
MAX_BRANCHES_DRAWN = 4  # a form diagram draws this many branches, then "…"


def _legend_below(fig: go.Figure) -> None:
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=-0.2, x=0, xanchor="left", yanchor="top"),
                      margin=dict(b=90, t=90))


def cardinality_chart(rows: list[CardinalityRow], budget: int) -> go.Figure:
    """Return width C·d and d against C (left) and parameters against the budget with cited errors (right)."""
    x = [str(r.C) for r in rows]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.14, specs=[[{}, {"secondary_y": True}]],
                        subplot_titles=("More paths, each thinner: width C·d grows", "…at the same budget of weights"))
    fig.add_bar(x=x, y=[r.width for r in rows], name="width C·d", marker_color=group_color(0),
                text=[f"{r.C}×{r.d}d" for r in rows], textposition="outside", cliponaxis=False,
                hovertemplate="C = %{x}<br>width C·d = %{y}<extra></extra>", row=1, col=1)
    fig.add_scatter(x=x, y=[r.d for r in rows], name="d (channels per path)", mode="lines+markers",
                    line=dict(color=group_color(1), width=2), hovertemplate="C = %{x}<br>d = %{y}<extra></extra>",
                    row=1, col=1)
    fig.add_bar(x=x, y=[r.params for r in rows], name="weights", marker_color=NEUTRAL, hoverlabel=NEUTRAL_HOVER,
                showlegend=False,
                customdata=[[r.rel_diff * 100] for r in rows],
                hovertemplate="C = %{x}<br>%{y:,} weights (%{customdata[0]:+.1f}% of budget)<extra></extra>",
                row=1, col=2)
    fig.add_scatter(x=x, y=[budget] * len(rows), mode="lines", name=f"budget {budget:,}",
                    line=dict(color=group_color(3), dash="dash"), hoverinfo="skip", row=1, col=2)
    cited = {r.C: r.top1_error for r in TABLE3_TOP1_ERROR if r.model in ("ResNet-50", "ResNeXt-50")}
    shown = [(str(r.C), cited[r.C]) for r in rows if r.in_table2 and r.C in cited]
    if shown:
        fig.add_scatter(x=[s[0] for s in shown], y=[s[1] for s in shown], mode="markers", secondary_y=True,
                        name="top-1 error %, paper Table 3 (cited)", marker=dict(symbol="diamond", size=10,
                                                                                 color=group_color(2)),
                        hovertemplate="C = %{x}: %{y}% top-1 error (Xie et al. 2017, Table 3)<extra></extra>",
                        row=1, col=2)
        for c, e in shown:  # on a white chip: the labels sit over the grey bars (dark text on grey is < 4.5:1)
            fig.add_annotation(x=x.index(c), y=e, text=f"{e:.1f}%", showarrow=False, yshift=15, bgcolor=TEXT_BACKGROUND,
                               font=dict(color="#000000", size=12), borderpad=1, row=1, col=2, secondary_y=True)
        fig.update_yaxes(title_text="top-1 error % (cited)", secondary_y=True, row=1, col=2, showgrid=False,
                         range=[21.5, 24.5], dtick=0.5)
    fig.update_xaxes(title_text="cardinality C", type="category")
    fig.update_yaxes(title_text="channels", row=1, col=1)
    fig.update_yaxes(title_text="weights in the block", secondary_y=False, row=1, col=2, rangemode="tozero")
    base_layout(fig, "Cardinality at preserved complexity", 440,
                {"figure": "cardinality", "C": [r.C for r in rows], "budget": budget, "cited": len(shown)})
    _legend_below(fig)
    return fig


def fixed_width_chart(rows: list[FixedWidthRow]) -> go.Figure:
    """Return the block's weights against C at a fixed width C·d, the grouped 3×3 split out."""
    x = [str(r.C) for r in rows]
    fig = go.Figure()
    fig.add_bar(x=x, y=[r.params - r.grouped_params for r in rows], name="the two 1×1 convolutions",
                marker_color=NEUTRAL, hoverlabel=NEUTRAL_HOVER,
                hovertemplate="C = %{x}: %{y:,} weights in the 1×1s<extra></extra>")
    fig.add_bar(x=x, y=[r.grouped_params for r in rows], name="the grouped 3×3", marker_color=group_color(0),
                hovertemplate="C = %{x}: %{y:,} weights in the 3×3<extra></extra>")
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title_text="cardinality C (width C·d fixed)", type="category")
    fig.update_yaxes(title_text="weights in the block")
    width = rows[0].C * rows[0].d if rows else 0
    base_layout(fig, f"Fixed width C·d = {width}: more groups, fewer weights (only the 3×3 shrinks)", 420,
                {"figure": "fixed_width", "C": [r.C for r in rows]})
    _legend_below(fig)
    return fig


# ---------------------------------------------------------------- the three forms (Fig. 3)


class _Canvas:
    """Shapes and annotations collected as plain dicts, set on the figure in one update (fast)."""

    def __init__(self) -> None:
        self.shapes: list[dict] = []
        self.notes: list[dict] = []

    @staticmethod
    def _refs(col: int) -> tuple[str, str]:
        return ("x", "y") if col == 1 else (f"x{col}", f"y{col}")

    def box(self, x0: float, y0: float, x1: float, y1: float, text: str, color: str, col: int) -> None:
        xref, yref = self._refs(col)
        self.shapes.append(dict(type="rect", x0=x0, y0=y0, x1=x1, y1=y1, xref=xref, yref=yref, fillcolor=color,
                                line=dict(color=color, width=1.5), layer="below"))
        if text:  # black or white, whichever reads better on this fill (white on yellow would be 1.3:1)
            self.text((x0 + x1) / 2, (y0 + y1) / 2, text, col, color=text_on(color))

    def text(self, x: float, y: float, text: str, col: int, color: str | None = None, size: int = 11,
             bgcolor: str | None = None) -> None:
        xref, yref = self._refs(col)
        font = dict(size=size) | ({"color": color} if color else {})
        self.notes.append(dict(x=x, y=y, xref=xref, yref=yref, text=text, showarrow=False, font=font)
                          | ({"bgcolor": bgcolor, "borderpad": 2} if bgcolor else {}))

    def arrow(self, x0: float, y0: float, x1: float, y1: float, col: int) -> None:
        xref, yref = self._refs(col)
        self.notes.append(dict(x=x1, y=y1, ax=x0, ay=y0, xref=xref, yref=yref, axref=xref, ayref=yref, text="",
                               showarrow=True, arrowhead=2, arrowsize=1, arrowwidth=1.2,
                               arrowcolor="rgba(128,128,128,0.9)"))

    def draw_on(self, fig: go.Figure) -> None:
        fig.update_layout(shapes=self.shapes, annotations=list(fig.layout.annotations) + self.notes)


def forms_diagram(c_in: int, C: int, d: int, c_out: int) -> go.Figure:
    """Return Fig. 3's three forms side by side; branch i drawn in group i's colour (at most 4 drawn, then '…')."""
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.04, subplot_titles=(
        "(a) C branches, summed", "(b) early concatenation", "(c) grouped convolution"))
    cv = _Canvas()
    shown = list(range(min(C, MAX_BRANCHES_DRAWN)))
    more = C > len(shown)
    lanes = len(shown) + (1 if more else 0)
    xs = [(i + 0.5) / lanes for i in range(lanes)]                    # lane centres in [0, 1]
    w = 0.8 / lanes
    y = {"in": 0.95, "c1": 0.75, "c2": 0.55, "c3": 0.35, "join": 0.17, "out": 0.02}
    h = 0.11
    grey, dark = "rgb(110,110,110)", "rgb(90,90,90)"
    for col in (1, 2, 3):
        cv.box(0.3, y["in"] - 0.04, 0.7, y["in"] + 0.04, f"input, {c_in} ch", grey, col)
        cv.box(0.3, y["out"] - 0.04, 0.7, y["out"] + 0.04, f"output, {c_out} ch", grey, col)
    for col in (1, 2):  # the branches of (a) and (b)
        for lane, x in enumerate(xs):
            if more and lane == len(shown):
                cv.text(x, y["c2"], f"… {C - len(shown)}<br>more", col, size=12)
                continue
            color = group_color(lane)
            cv.arrow(0.5, y["in"] - 0.04, x, y["c1"] + h / 2, col)
            cv.box(x - w / 2, y["c1"] - h / 2, x + w / 2, y["c1"] + h / 2, f"1×1<br>{c_in}→{d}", color, col)
            cv.arrow(x, y["c1"] - h / 2, x, y["c2"] + h / 2, col)
            cv.box(x - w / 2, y["c2"] - h / 2, x + w / 2, y["c2"] + h / 2, f"3×3<br>{d}→{d}", color, col)
            if col == 1:
                cv.arrow(x, y["c2"] - h / 2, x, y["c3"] + h / 2, col)
                cv.box(x - w / 2, y["c3"] - h / 2, x + w / 2, y["c3"] + h / 2, f"1×1<br>{d}→{c_out}", color, col)
                cv.arrow(x, y["c3"] - h / 2, 0.5, y["join"] + 0.04, col)
            else:
                cv.arrow(x, y["c2"] - h / 2, 0.5, y["c3"] + 0.05, col)
    cv.box(0.35, y["join"] - 0.04, 0.65, y["join"] + 0.04, "⊕ sum", dark, 1)
    cv.arrow(0.5, y["join"] - 0.04, 0.5, y["out"] + 0.04, 1)
    cv.box(0.15, y["c3"] - 0.05, 0.85, y["c3"] + 0.05, f"concatenate → 1×1, {C * d}→{c_out}", dark, 2)
    cv.arrow(0.5, y["c3"] - 0.05, 0.5, y["out"] + 0.04, 2)
    # (c): three boxes, the grouped one striped in the branch colours
    cv.box(0.15, y["c1"] - h / 2, 0.85, y["c1"] + h / 2, f"1×1, {c_in}→{C * d}", dark, 3)
    for lane in range(lanes):
        x0 = 0.15 + 0.7 * lane / lanes
        cv.box(x0, y["c2"] - h / 2, x0 + 0.7 / lanes, y["c2"] + h / 2, "",
               group_color(lane) if lane < len(shown) else "rgb(150,150,150)", 3)
    cv.text(0.5, y["c2"], f"3×3, {C * d}→{C * d}<br><b>groups = {C}</b>", 3, color="#FFFFFF", bgcolor=dark)
    cv.box(0.15, y["c3"] - h / 2, 0.85, y["c3"] + h / 2, f"1×1, {C * d}→{c_out}", dark, 3)
    for a, b in (("in", "c1"), ("c1", "c2"), ("c2", "c3"), ("c3", "out")):
        cv.arrow(0.5, y[a] - 0.05, 0.5, y[b] + 0.06, 3)
    cv.draw_on(fig)
    fig.update_xaxes(visible=False, range=[0, 1], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-0.04, 1.0], fixedrange=True)
    alt = (f"The same ResNeXt block drawn three ways, {c_in} channels in and {c_out} out: (a) {C} branches of "
           f"1×1 {c_in}→{d}, 3×3 {d}→{d} and 1×1 {d}→{c_out}, summed; (b) the branches' 3×3 outputs concatenated "
           f"into one 1×1 {C * d}→{c_out}; (c) 1×1 {c_in}→{C * d}, one 3×3 convolution with groups = {C}, and "
           f"1×1 {C * d}→{c_out}.")
    return base_layout(fig, f"One block, three ways: C = {C} paths of width d = {d}", 520,
                       {"figure": "forms_diagram", "C": C, "drawn": len(shown)}, alt=alt)


def forms_times(quartiles_ms: dict[str, tuple[float, float, float]], labels: dict[str, str]) -> go.Figure:
    """Return bars of each form's median time (ms), whiskers from its first to its third quartile."""
    keys = list(quartiles_ms)
    q1, med, q3 = ([quartiles_ms[k][i] for k in keys] for i in range(3))
    fig = go.Figure(go.Bar(
        x=[labels[k] for k in keys], y=med,
        error_y=dict(type="data", symmetric=False, array=[b - m for m, b in zip(med, q3)],
                     arrayminus=[m - a for a, m in zip(q1, med)], visible=True),
        marker_color=NEUTRAL, hoverlabel=NEUTRAL_HOVER, customdata=list(zip(q1, q3)),
        hovertemplate="%{x}: %{y:.3f} ms median (quartiles %{customdata[0]:.3f}–%{customdata[1]:.3f})"
                      "<extra></extra>"))
    fig.update_yaxes(title_text="median time, ms (whiskers: quartiles)", rangemode="tozero")
    return base_layout(fig, "Same arithmetic, different speed", 360, {"figure": "forms_times", "forms": keys})


# ---------------------------------------------------------------- ResNet vs ResNeXt (Table 1)


def stage_comparison(names: list[str], tables: list) -> go.Figure:
    """Return parameters and GMACs per stage for two or more networks, side by side."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=("parameters per stage (millions)", "GMACs per stage, 224×224 image"))
    for i, (name, table) in enumerate(zip(names, tables)):
        x = [r.paper_name for r in table.rows]
        color = NEUTRAL if i == 0 else group_color(i - 1)
        hover_kw = {"hoverlabel": NEUTRAL_HOVER} if i == 0 else {}
        fig.add_bar(x=x, y=[r.params / 1e6 for r in table.rows], name=name, marker_color=color, legendgroup=name,
                    **hover_kw, hovertemplate=f"{name}<br>%{{x}}: %{{y:.3f}} M parameters<extra></extra>", row=1, col=1)
        fig.add_bar(x=x, y=[r.macs / 1e9 for r in table.rows], name=name, marker_color=color, legendgroup=name,
                    **hover_kw, showlegend=False, hovertemplate=f"{name}<br>%{{x}}: %{{y:.3f}} GMACs<extra></extra>", row=1, col=2)
    fig.update_layout(barmode="group")
    base_layout(fig, "Stage by stage (the paper's Table 1)", 420, {"figure": "stage_comparison", "models": names})
    _legend_below(fig)
    return fig


def layer_breakdown(rows: list) -> go.Figure:
    """Return a block's parameters and MACs per convolution layer (the grouped 3×3 in colour)."""
    convs = [r for r in rows if r.macs > 0]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=("parameters", "MACs"))
    colors = [group_color(0) if r.groups and r.groups > 1 else NEUTRAL for r in convs]
    names = [r.name for r in convs]
    hover = dict(NEUTRAL_HOVER, bgcolor=[c if c != NEUTRAL else NEUTRAL_HOVER["bgcolor"] for c in colors],
                 bordercolor=colors, font=dict(color=[text_on(c) if c != NEUTRAL else "#FFFFFF" for c in colors]))
    fig.add_bar(x=names, y=[r.params for r in convs], marker_color=colors, hoverlabel=hover, row=1, col=1,
                hovertemplate="%{x}: %{y:,} parameters<extra></extra>")
    fig.add_bar(x=names, y=[r.macs for r in convs], marker_color=colors, hoverlabel=hover, row=1, col=2,
                hovertemplate="%{x}: %{y:,} MACs<extra></extra>")
    return base_layout(fig, "Where the weights and the work are (grouped 3×3 in colour)", 360,
                       {"figure": "layer_breakdown", "layers": names})

