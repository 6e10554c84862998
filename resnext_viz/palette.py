"""The one group palette shared by every figure, so group g has the same colour everywhere.

Okabe & Ito's colour-blind-safe set (black left out: it vanishes on a dark theme), ordered
so that neighbouring groups always contrast. With more than seven groups the colours
repeat every seven; hover text and labels always name the group as well.
"""

from __future__ import annotations

GROUP_COLORS: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow
)
FADED = "rgba(128, 128, 128, 0.15)"  # de-emphasised elements, readable on light and dark


def group_color(g: int) -> str:
    """Return the hex colour of group g (0-based); the palette repeats every 7 groups."""
    return GROUP_COLORS[g % len(GROUP_COLORS)]


# Text in a group's colour: the yellow is darkened, since thin yellow text vanishes on white.
TEXT_COLORS: tuple[str, ...] = GROUP_COLORS[:-1] + ("#B8A600",)


def group_text_color(g: int) -> str:
    """Return the colour for text naming group g: the group's colour, readable on light and dark."""
    return TEXT_COLORS[g % len(TEXT_COLORS)]


def group_rgba(g: int, alpha: float) -> str:
    """Return group g's colour as an 'rgba(r, g, b, alpha)' string."""
    h = group_color(g).lstrip("#")
    r, gg, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {gg}, {b}, {alpha})"
