"""The one group palette shared by every figure, so group g has the same colour everywhere.

Okabe & Ito's colour-blind-safe set (black left out: it vanishes on a dark theme), ordered
so that neighbouring groups always contrast; three of its light colours are darkened just
enough (reach_contrast) to stand 3:1 on white. With more than seven groups the colours
repeat every seven (group_label says so); hover text and labels always name the group too.
"""

from __future__ import annotations

GROUP_COLORS: tuple[str, ...] = (
    "#0072B2",  # blue
    "#C68900",  # orange, darkened from Okabe & Ito's #E69F00 to 3:1 on white
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#4B9DCB",  # sky blue, darkened from #56B4E9 to 3:1 on white
    "#CC79A7",  # reddish purple
    "#9E962C",  # yellow, darkened from #F0E442 (1.3:1 on white) to 3:1: a mustard
)
# Every colour is a graphical mark of 3:1 or more (WCAG 2.2 non-text contrast) on white and on the dark
# theme's #0E1117 alike (tests/unit/test_present.py computes it), so one palette serves every theme.
FADED = "rgba(128, 128, 128, 0.15)"  # de-emphasised elements, readable on light and dark
NEUTRAL_BAR = "#808080"  # opaque grey for bars: 3.9:1 on white and 4.7:1 on the dark theme's #0E1117
# hover labels of grey bars: white on this grey is 7.0:1 (Plotly would otherwise put its label on the bar's grey)
NEUTRAL_HOVER = dict(bgcolor="#595959", bordercolor="#595959", font=dict(color="#FFFFFF"))


def group_color(g: int) -> str:
    """Return the hex colour of group g (0-based); the palette repeats every 7 groups."""
    return GROUP_COLORS[g % len(GROUP_COLORS)]


# Text in a group's colour, each darkened just enough for WCAG AA (4.5:1) on white; the labels that use
# them sit on an opaque white chip (TEXT_BACKGROUND), so they stay readable on the dark theme too.
TEXT_COLORS: tuple[str, ...] = ("#0072B2", "#9C6C00", "#008561", "#C05500", "#3A7A9E", "#A16084", "#7D7722")
TEXT_BACKGROUND = "#FFFFFF"
TEXT_MIN_CONTRAST = 4.5   # WCAG 2.2 AA, normal text
MARK_MIN_CONTRAST = 3.0   # WCAG 2.2 non-text contrast


def group_text_color(g: int) -> str:
    """Return the colour for text naming group g: group g's hue, 4.5:1 or more on TEXT_BACKGROUND."""
    return TEXT_COLORS[g % len(TEXT_COLORS)]


def _rgb(color: str) -> tuple[float, float, float]:
    """Return '#RRGGBB', 'rgb(r, g, b)' or 'rgba(r, g, b, a)' as three 0-255 channel values (alpha ignored)."""
    c = color.strip()
    if c.startswith("#"):
        h = c[1:]
        if len(h) == 3:
            h = "".join(ch * 2 for ch in h)
        return tuple(float(int(h[i:i + 2], 16)) for i in (0, 2, 4))  # type: ignore[return-value]
    if c.startswith("rgb"):
        parts = c[c.index("(") + 1:c.index(")")].split(",")
        return tuple(float(v) for v in parts[:3])  # type: ignore[return-value]
    named = {"white": (255.0, 255.0, 255.0), "black": (0.0, 0.0, 0.0)}
    if c.lower() in named:
        return named[c.lower()]
    raise ValueError(f"cannot read the colour {color!r}; use '#RRGGBB' or 'rgb(r, g, b)'.")


def relative_luminance(color: str) -> float:
    """Return the WCAG 2.2 relative luminance of a colour, 0 (black) to 1 (white)."""
    def lin(v: float) -> float:
        v /= 255.0
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = (lin(v) for v in _rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(fg: str, bg: str) -> float:
    """Return the WCAG 2.2 contrast ratio of two colours, 1 (none) to 21 (black on white)."""
    a, b = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def text_on(fill: str) -> str:
    """Return black or white, whichever has the higher contrast on an opaque `fill`."""
    return "#000000" if contrast_ratio("#000000", fill) >= contrast_ratio("#FFFFFF", fill) else "#FFFFFF"


def group_rgba(g: int, alpha: float) -> str:
    """Return group g's colour as an 'rgba(r, g, b, alpha)' string."""
    h = group_color(g).lstrip("#")
    r, gg, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {gg}, {b}, {alpha})"


def mix(color: str, toward: str, t: float) -> str:
    """Return `color` moved a fraction t (0..1) of the way to `toward`, as '#RRGGBB'."""
    a, b = _rgb(color), _rgb(toward)
    return "#" + "".join(f"{round(x + (y - x) * t):02X}" for x, y in zip(a, b))


def reach_contrast(color: str, background: str, ratio: float) -> str:
    """Return `color`, darkened (light background) or lightened (dark one) in 1% steps until it has `ratio` on it.

    The hue stays; only as much lightness changes as the ratio needs (the colour itself when it already meets it).
    """
    toward = "#000000" if relative_luminance(background) > 0.18 else "#FFFFFF"
    for step in range(101):
        shade = mix(color, toward, step / 100)
        if contrast_ratio(shade, background) >= ratio:
            return shade
    return toward


def group_label(g: int, n_groups: int) -> str:
    """Return the name of group g (0-based) that says the colour repeats: 'g3', or 'g9 (colour of g2)' past 7."""
    n = len(GROUP_COLORS)
    return f"g{g}" if g < n or n_groups <= n else f"g{g} (colour of g{g % n})"
