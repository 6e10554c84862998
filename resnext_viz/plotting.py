"""The shared figure layout every builder uses (font, title, margins, the group colourscale), the display
themes figures follow, their text alternatives (alt sentence, data rows) and reduced motion."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from resnext_viz.palette import GROUP_COLORS, mix

FONT = dict(family="Inter, 'Source Sans Pro', Helvetica, Arial, sans-serif", size=13)


def base_layout(fig: go.Figure, title: str, height: int, meta: dict, alt: str | None = None) -> go.Figure:
    """Return `fig` with the house layout: left title, font, height, margins, no legend, `meta` for tests.

    `alt`: the sentence a screen reader gets (meta['alt']), with the key numbers; without it ui.figure
    derives one from the title and the traces' values (alt_text), which suits charts, not diagrams.
    """
    if alt:
        meta = {**meta, "alt": alt}
    fig.update_layout(
        title=dict(text=title, x=0.0, xanchor="left", font=dict(size=16)),
        height=height, font=FONT, meta=meta, hoverlabel=dict(font_size=13),
        margin=dict(l=10, r=10, t=60, b=10), showlegend=False,
    )
    return fig


def palette_colorscale() -> list[list]:
    """Return a discrete colorscale mapping z = 0..6 to the seven group colours."""
    n = len(GROUP_COLORS)
    scale = []
    for i, c in enumerate(GROUP_COLORS):
        scale += [[i / n, c], [(i + 1) / n, c]]
    return scale


# ---------------------------------------------------------------- themes (the page CSS in ui/present.py uses them too)

@dataclass(frozen=True)
class Theme:
    """One display profile: the colours of the page and of every figure on it."""

    name: str
    label: str
    background: str   # page and figure background
    surface: str      # inputs, sidebar, expanders
    text: str         # body text, figure text
    muted: str        # captions, axis ticks
    grid: str         # figure grid lines (a mark, so 3:1 is not required: the ticks carry the numbers)
    border: str       # input and expander borders
    link: str
    template: str     # the Plotly template underneath


THEMES: dict[str, Theme] = {
    "light": Theme("light", "Light", "#FFFFFF", "#F0F2F6", "#31333F", "#5C5F6B", "#E6E6E6", "#B8BAC2", "#0054A3",
                   "plotly_white"),
    "dark": Theme("dark", "Dark", "#0E1117", "#262730", "#FAFAFA", "#C4C6CF", "#33363F", "#6B6E78", "#8CC4FF",
                  "plotly_dark"),
    "contrast": Theme("contrast", "High contrast", "#FFFFFF", "#FFFFFF", "#000000", "#1F1F1F", "#8C8C8C", "#000000",
                      "#00419E", "plotly_white"),
}
# The trace types the app's figures use: the slim templates keep Plotly's defaults for these only.
TEMPLATE_TRACES = ("bar", "heatmap", "scatter", "scattergl", "histogram")
_UNUSED_LAYOUT = ("polar", "ternary", "scene", "geo", "mapbox", "map")


def _slim_template(name: str) -> "go.layout.Template":
    """Return Plotly's template `name` cut to the layout and the TEMPLATE_TRACES this app draws.

    Setting a full template validated its defaults for 24 trace types: ~14 ms per figure per rerun, the
    largest share of restyling a figure (bench_browser, py-spy); the slim one draws the same figures.
    """
    import plotly.io as pio

    full = pio.templates[name]
    layout = {k: v for k, v in full.layout.to_plotly_json().items() if k not in _UNUSED_LAYOUT}
    data = {k: v for k, v in full.data.to_plotly_json().items() if k in TEMPLATE_TRACES}
    return go.layout.Template(layout=layout, data=data)


def _register_templates() -> None:
    import plotly.io as pio

    for theme in THEMES.values():
        slim = f"rvz_{theme.name}"
        if slim not in pio.templates:
            pio.templates[slim] = _slim_template(theme.template)
    if pio.templates.default in ("plotly", None):  # new figures start on the slim light one (builders' default)
        pio.templates.default = "rvz_light"


PRESENT_SCALE = 1.4      # presentation mode: type about 40% larger
PRESENT_LINE_SCALE = 1.8  # and lines thicker


def style(fig: go.Figure, theme: str = "light", present: bool = False) -> go.Figure:
    """Return `fig` (changed in place) in a theme's colours, and with larger type and thicker lines to present.

    Only the layout's colours and sizes change: the group colours are the same in every theme
    (each stands 3:1 on every theme's background).
    """
    t = THEMES[theme]
    scale = PRESENT_SCALE if present else 1.0
    size = fig.layout.font.size or FONT["size"]
    # ticklabeloverflow="allow": Plotly's default ("hide past div") measures every tick label against every
    # other once per label drawn (_adjustTickLabelsOverflow: n² bounding boxes), about a third of its time
    # on the 32-bar gradient charts (Chrome trace); a label past the figure's edge is clipped by its SVG anyway.
    axis = dict(gridcolor=t.grid, zerolinecolor=t.grid, linecolor=t.border, tickfont=dict(color=t.muted),
                title_font=dict(color=t.text), ticklabeloverflow="allow")
    fig.update_layout(template=f"rvz_{t.name}", paper_bgcolor=t.background, plot_bgcolor=t.background,
                      font=dict(color=t.text, size=round(size * scale)),
                      legend=dict(font=dict(color=t.text)), hoverlabel=dict(font_size=round(13 * scale)))
    if fig.layout.title.text:
        fig.update_layout(title_font=dict(size=round((fig.layout.title.font.size or 16) * scale), color=t.text))
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis)
    fig.update_coloraxes(colorbar=dict(tickfont=dict(color=t.muted))) if fig.layout.coloraxis.colorbar else None
    if present:
        if fig.layout.height:
            fig.update_layout(height=round(fig.layout.height * 1.15))
        for a in fig.layout.annotations:
            if a.font.size:
                a.font.size = round(a.font.size * scale)
        for tr in fig.data:
            line = getattr(tr, "line", None)
            if line is not None and getattr(line, "width", None):
                line.width = line.width * PRESENT_LINE_SCALE
    return fig


_register_templates()


def figure_text_colors(fig: go.Figure, theme: str) -> list[tuple[str, str, str]]:
    """Return (where, text colour, background) for every text colour a styled figure sets; '' colours inherit."""
    t = THEMES[theme]
    lay = fig.layout
    base = lay.font.color or t.text
    bg = lay.paper_bgcolor or t.background
    out = [("layout font", base, bg)]
    if lay.title.text:
        out.append(("title", lay.title.font.color or base, bg))
    for i, a in enumerate(lay.annotations):
        back = a.bgcolor if a.bgcolor and not _transparent(a.bgcolor) else _shape_under(lay.shapes, a, bg)
        colors = a.font.color if a.font.color else base
        out.append((f"annotation {i} ({(a.text or '')[:30]})", composite(colors, bg), composite(back, bg)))
    for i, tr in enumerate(fig.data):
        tf = getattr(tr, "textfont", None)
        if tf is None or not tf.color:
            continue
        colors = tf.color if isinstance(tf.color, (list, tuple)) else [tf.color]
        cells = _heatmap_cell_colors(tr, bg)
        if cells:  # numbers written in heatmap cells: against every colour stop a cell can take
            out += [(f"trace {i} cell text", c, b) for c in colors for b in cells]
            continue
        on = _trace_text_backgrounds(tr, len(colors), bg)
        out += [(f"trace {i} text", c, b) for c, b in zip(colors, on)]
    return out


def _heatmap_cell_colors(tr, bg: str) -> list[str]:
    """Return the opaque colours of a text-bearing heatmap's colour-scale stops (over `bg`), else []."""
    if getattr(tr, "type", "") != "heatmap" or not (tr.text is not None or tr.texttemplate):
        return []
    scale = tr.colorscale
    if not scale or isinstance(scale, str):
        return []
    return [composite(c, bg) for _, c in scale if isinstance(c, str)]


def composite(color: str, bg: str) -> str:
    """Return an 'rgba(...)' colour as the opaque colour it shows over `bg` (other colours unchanged)."""
    c = color.replace(" ", "")
    if not c.startswith("rgba("):
        return color
    *rgb, alpha = (float(v) for v in c[5:-1].split(","))
    return mix(bg, "#%02X%02X%02X" % tuple(round(v) for v in rgb), alpha)


def _shape_under(shapes, a, bg: str) -> str:
    """Return the fill of the topmost opaque rectangle under an annotation's anchor point, else `bg`."""
    under = bg
    if a.x is None or a.y is None or a.showarrow:
        return bg
    for s in shapes:
        if (s.type == "rect" and s.fillcolor and not _transparent(s.fillcolor) and (s.xref or "x") == (a.xref or "x")
                and (s.yref or "y") == (a.yref or "y") and min(s.x0, s.x1) <= a.x <= max(s.x0, s.x1)
                and min(s.y0, s.y1) <= a.y <= max(s.y0, s.y1)):
            under = s.fillcolor
    return under


def _transparent(color: str) -> bool:
    c = color.replace(" ", "")
    return c.startswith("rgba(") and c.rstrip(")").split(",")[-1] in ("0", "0.0")


def _trace_text_backgrounds(tr, n: int, bg: str) -> list[str]:
    """Return what each text label of a trace sits on: the bar's own colour for text inside bars, else `bg`."""
    inside = getattr(tr, "type", "") == "bar" and getattr(tr, "textposition", None) in ("inside", "auto", None)
    marker = getattr(getattr(tr, "marker", None), "color", None)
    if inside and marker is not None:
        fills = list(marker) if isinstance(marker, (list, tuple)) else [marker] * n
        return [f if isinstance(f, str) else bg for f in fills] + [bg] * (n - len(fills))
    return [bg] * n


# ---------------------------------------------------------------- text alternatives

def _fmt(v) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, (int,)) or (isinstance(v, float) and v.is_integer() and abs(v) < 1e15):
        return f"{int(v):,}"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def _numbers(values) -> list[float]:
    """Return the finite numbers in a trace's values (any nesting, e.g. a heatmap's rows); text is skipped."""
    if values is None:
        return []
    try:
        arr = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):  # text, or ragged rows: one by one
        out: list[float] = []
        for v in values:
            out += _numbers(v) if isinstance(v, (list, tuple, np.ndarray)) else _numbers([v]) if not isinstance(
                v, (str, bool, type(None))) else []
        return out
    return arr[np.isfinite(arr)].tolist()


def alt_text(fig: go.Figure, own: bool = True) -> str:
    """Return a sentence saying what the figure shows with its key numbers: its meta['alt'] if the builder set one
    (and `own`), else one derived from the title and each trace's range of values."""
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    if own and meta.get("alt"):
        return str(meta["alt"])
    title = _strip_tags(fig.layout.title.text or "A chart")
    parts = []
    for tr in fig.data[:6]:
        name = getattr(tr, "name", None) or tr.type
        vals = _numbers(getattr(tr, "z", None) if tr.type == "heatmap" else getattr(tr, "y", None))
        if vals:
            parts.append(f"{name}: {len(vals):,} values from {_fmt(min(vals))} to {_fmt(max(vals))}")
    if len(fig.data) > 6:
        parts.append(f"and {len(fig.data) - 6} more traces")
    return f"{title.rstrip('.')}." + (" " + "; ".join(parts) + "." if parts else "")


def _strip_tags(text: str) -> str:
    import re

    return re.sub(r"<[^>]+>", " ", text).replace("  ", " ").strip()


def data_records(fig: go.Figure, most: int = 500) -> list[dict]:
    """Return the figure's plotted values as rows (trace, x, y or row, column, value), at most `most` rows."""
    rows: list[dict] = []
    for tr in fig.data:
        name = _strip_tags(str(getattr(tr, "name", None) or tr.type))
        if tr.type == "heatmap" and getattr(tr, "z", None) is not None:
            xs, ys = getattr(tr, "x", None), getattr(tr, "y", None)
            for i, row in enumerate(tr.z):
                for j, v in enumerate(row):
                    rows.append({"trace": name, "x": _label(xs, j), "y": _label(ys, i), "value": _cell(v)})
                    if len(rows) >= most:
                        return rows
            continue
        xs, ys = getattr(tr, "x", None), getattr(tr, "y", None)
        if xs is None and ys is None:
            continue
        n = max(len(xs) if xs is not None else 0, len(ys) if ys is not None else 0)
        for i in range(n):
            x, y = _label(xs, i), _label(ys, i)
            if x is None and y is None:
                continue  # a gap between line segments
            rows.append({"trace": name, "x": x, "y": y})
            if len(rows) >= most:
                return rows
    return rows


def _label(values, i):
    if values is None or i >= len(values):
        return None
    return _cell(values[i])


def _cell(v):
    if hasattr(v, "item"):
        v = v.item()
    return v if isinstance(v, (int, float, str)) or v is None else str(v)


# ---------------------------------------------------------------- motion

def reduce_motion(fig: go.Figure) -> go.Figure:
    """Return `fig` (in place) with every animation step instant: frame and transition durations 0, no easing.

    For animated figures when the viewer prefers reduced motion (ui.reduced_motion() says): the frames
    still step on Play and the slider, but jump instead of tweening.
    """
    fig.update_layout(transition=dict(duration=0))
    for menu in fig.layout.updatemenus:
        for b in menu.buttons:
            if b.args and len(b.args) > 1 and isinstance(b.args[1], dict):
                args = list(b.args)
                args[1] = {**args[1], "frame": {**args[1].get("frame", {}), "duration": 0},
                           "transition": {"duration": 0}}
                b.args = args
    for slider in fig.layout.sliders:
        slider.transition = dict(duration=0)
        for step in slider.steps:
            if step.args and len(step.args) > 1 and isinstance(step.args[1], dict):
                args = list(step.args)
                args[1] = {**args[1], "transition": {"duration": 0}}
                step.args = args
    return fig
