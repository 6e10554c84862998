"""The feature-map mosaic as one PNG for slides: the on-screen layout and colours, drawn with Pillow."""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from resnext_viz.inside.figures import (MAP_COLORSCALE, _display_pool, _hex_rgb, _lut, _normalised_blocks,
                                        _pool_maps, feature_grid_geometry)
from resnext_viz.palette import group_color

GRID_BACKGROUND = (255, 255, 255)  # the PNG is for slides and print: white, like the other exports



# Fonts with the arrows, dashes and × the titles use, tried in order (Debian's fonts-dejavu-core, then others);
# without any of them Pillow's own font is used and those characters are written in ASCII.
FONT_CANDIDATES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf",
                   "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", "DejaVuSans.ttf", "Arial.ttf")
ASCII_FALLBACK = {"→": "->", "←": "<-", "–": "-", "—": "-", "×": "x", "·": "*", "≤": "<=", "≥": ">=", "…": "..."}
_NOTDEF_PROBE = "\U0010FFFD"  # a private-use code point no font draws: its mask is the font's .notdef box


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.ImageFont:
    """Return a TrueType font at `size` px that has the characters of ASCII_FALLBACK if one is installed."""
    for path in FONT_CANDIDATES:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size)
    except (OSError, TypeError, AttributeError):  # Pillow built without FreeType: the small bitmap font
        return ImageFont.load_default()


def has_glyph(font: ImageFont.ImageFont, ch: str) -> bool:
    """Return True when `font` draws `ch` as itself, not as its .notdef box (or not at all)."""
    try:
        mask = font.getmask(ch)
        notdef = font.getmask(_NOTDEF_PROBE)
    except (UnicodeEncodeError, ValueError, OSError):
        return False
    return mask.size != (0, 0) and (mask.size != notdef.size or bytes(mask) != bytes(notdef))


def drawable_text(text: str, font: ImageFont.ImageFont) -> str:
    """Return `text` with every character `font` cannot draw replaced by its ASCII spelling."""
    return "".join(ASCII_FALLBACK[c] if c in ASCII_FALLBACK and not has_glyph(font, c) else c for c in text)


def feature_grid_png(act: np.ndarray, groups: int, shown: list[int] | range, title: str = "") -> bytes:
    """Return PNG bytes of the maps of the groups in `shown`: frames in group colours, labels, white background.

    Same colours and per-group scale as feature_maps; small maps are enlarged by whole pixels
    (nearest neighbour), so every number stays one visible square. Geometry:
    feature_grid_geometry(per_group, h, w, len(shown)) with h, w after display pooling.
    """
    shown = list(shown)
    per = act.shape[0] // groups
    maps = _pool_maps(act, _display_pool(*act.shape[1:])).astype(np.float32)
    normed, _ = _normalised_blocks(maps, groups, shown)
    geometry = feature_grid_geometry(per, *maps.shape[1:], len(shown), png=True)
    up = geometry.map_h // maps.shape[1]
    lut = _lut(MAP_COLORSCALE)
    canvas = np.empty((geometry.height, geometry.width, 3), dtype=np.uint8)
    canvas[:] = GRID_BACKGROUND
    for i, g in enumerate(shown):
        x0, y0, x1, y1 = geometry.frame_box(i)
        f = geometry.frame
        canvas[y0:y1, x0:x1] = _hex_rgb(group_color(g))
        canvas[y0 + f:y1 - f, x0 + f:x1 - f] = GRID_BACKGROUND
        index = np.clip(np.round((normed[i] + 1.0) * 127.5), 0, 255).astype(np.uint8)  # (C/G, h, w)
        for k in range(per):
            mx0, my0, mx1, my1 = geometry.map_box(i, k)
            pixels = lut[index[k]]  # (h, w, 3)
            canvas[my0:my1, mx0:mx1] = pixels.repeat(up, axis=0).repeat(up, axis=1)
    img = Image.fromarray(canvas, mode="RGB")
    draw = ImageDraw.Draw(img)
    small = _font(13)
    heading = f"{title}, " if title else ""
    line = f"{heading}groups {shown[0]}–{shown[-1]} of {groups}. Blue < 0 < red; each group scaled to its largest |value|."
    room = geometry.width - 2 * geometry.margin
    for size in (15, 14, 13, 12, 11, 10):                      # the heading shrinks to fit a narrow grid
        font = _font(size)
        if draw.textlength(drawable_text(line, font), font=font) <= room:
            break
    text, ellipsis = drawable_text(line, font), drawable_text("…", font)
    if draw.textlength(text, font=font) > room:                # still too wide: cut it, ending with an ellipsis
        while text and draw.textlength(text + ellipsis, font=font) > room:
            text = text[:-1]
        text = text.rstrip() + ellipsis
    draw.text((geometry.margin, geometry.margin + 2), text, fill=(40, 40, 40), font=font)
    for i, g in enumerate(shown):
        x0, y0, _, _ = geometry.frame_box(i)
        top = y0 - geometry.label + 4
        draw.rectangle((x0, top + 2, x0 + 11, top + 13), fill=_hex_rgb(group_color(g)))  # the group's colour swatch
        first = g * per
        channels = f"channel {first}" if per == 1 else f"channels {first}–{first + per - 1}"
        draw.text((x0 + 17, top), drawable_text(f"group {g}: {channels}", small), fill=(40, 40, 40), font=small)
    out = io.BytesIO()
    img.save(out, "PNG", optimize=False, compress_level=6)
    return out.getvalue()


