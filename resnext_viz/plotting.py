"""The shared figure layout every builder uses: font, title, margins, the group colourscale."""

from __future__ import annotations

import plotly.graph_objects as go

from resnext_viz.palette import GROUP_COLORS

FONT = dict(family="Inter, 'Source Sans Pro', Helvetica, Arial, sans-serif", size=13)


def base_layout(fig: go.Figure, title: str, height: int, meta: dict) -> go.Figure:
    """Return `fig` with the house layout: left title, font, height, margins, no legend, `meta` for tests."""
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
