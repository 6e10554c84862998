"""Issue 9, figures: WCAG contrast of every text colour, readable labels, margins, fan-in view, fonts, routing."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import ImageFont

from resnext_viz.blocks import cardinality as card
from resnext_viz.conv import connectivity as cx
from resnext_viz.conv import arithmetic as cm
from resnext_viz import export
from resnext_viz.conv import figures as F
from resnext_viz.blocks import figures as fb
from resnext_viz.inside import figures as ff
from resnext_viz.inside import grid_png as gpng
from resnext_viz import palette as P
from resnext_viz import routing
from resnext_viz.blocks.builder import BlockConfig, layer_table

LIGHT, DARK = "#FFFFFF", "#0E1117"  # Streamlit's light and dark backgrounds: on screen, figures follow the theme


# ---------------------------------------------------------------- the contrast formula


def test_contrast_ratio_matches_wcag_reference_values():
    assert P.contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert P.contrast_ratio("#FFFFFF", "#FFFFFF") == pytest.approx(1.0)
    assert P.contrast_ratio("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)   # WCAG's classic near-miss
    assert P.contrast_ratio("#767676", "#FFFFFF") == pytest.approx(4.54, abs=0.01)   # ...and the lightest pass
    assert P.contrast_ratio("rgb(0, 0, 0)", "white") == pytest.approx(21.0)
    assert P.contrast_ratio("#F0E442", "#FFFFFF") < 1.4                              # the raw yellow: unreadable
    with pytest.raises(ValueError, match="cannot read the colour"):
        P.contrast_ratio("not a colour", "#FFFFFF")


def test_every_group_text_colour_passes_aa_on_its_chip():
    for g in range(14):
        assert P.contrast_ratio(P.group_text_color(g), P.TEXT_BACKGROUND) >= P.TEXT_MIN_CONTRAST, g
    assert P.group_text_color(13) == P.group_text_color(6) != P.group_color(6)


def test_text_on_picks_the_readable_one():
    assert P.text_on("#F0E442") == "#000000" and P.text_on("rgb(90,90,90)") == "#FFFFFF"
    for c in P.GROUP_COLORS + ("rgb(110,110,110)", "rgb(90,90,90)"):
        assert P.contrast_ratio(P.text_on(c), c) >= P.TEXT_MIN_CONTRAST, c


# ---------------------------------------------------------------- walk every figure's text


def _figures() -> dict[str, go.Figure]:
    rng = np.random.default_rng(0)
    act = rng.standard_normal((64, 8, 8)).astype(np.float32)
    rows = card.solve_preserved_complexity()
    return {
        "bipartite": F.bipartite(64, 128, 32),
        "bipartite_small": F.bipartite(16, 16, 4, highlight=1),
        "fan_in": F.bipartite_fan_in(64, 128, 32),
        "fan_in_hl": F.bipartite_fan_in(64, 128, 32, highlight=2),
        "compare": F.bipartite_compare(64, 128, 32),
        "mask": F.connection_mask(64, 128, 32, highlight=6),
        "slices": F.weight_slices(cm.ConvSpec()),
        "slices_dw": F.weight_slices(cm.ConvSpec(c_in=64, c_out=64, groups=64), highlight=27),
        "slices_few": F.weight_slices(cm.ConvSpec(c_in=64, c_out=64, groups=8)),
        "params": F.params_vs_groups(cm.sweep_groups(cm.ConvSpec()), 32),
        "forms": fb.forms_diagram(256, 32, 4, 256),
        "forms_7": fb.forms_diagram(64, 7, 8, 64),
        "cardinality": fb.cardinality_chart(rows, card.RESNET50_TEMPLATE_PARAMS),
        "fixed": fb.fixed_width_chart(card.fixed_width_rows()),
        "layers": fb.layer_breakdown(list(layer_table(BlockConfig()).rows)),
        "features": ff.feature_maps(act, 32, range(6, 14)),
    }


def _fills(fig: go.Figure) -> list[tuple[str, float, float, float, float, str]]:
    """Return (xref, x0, x1, y0, y1, fill) of every filled rectangle shape."""
    out = []
    for s in fig.layout.shapes:
        if s.type == "rect" and s.fillcolor and "rgba(0,0,0,0)" not in s.fillcolor.replace(" ", ""):
            out.append((s.xref or "x", min(s.x0, s.x1), max(s.x0, s.x1), min(s.y0, s.y1), max(s.y0, s.y1),
                        s.fillcolor))
    return out


def _texts(fig: go.Figure) -> list[tuple[str, str, list[str]]]:
    """Return (what, font colour, backgrounds it must read on) for every text with an explicit colour."""
    found = []
    fills = _fills(fig)
    for a in fig.layout.annotations:
        if a.font is None or a.font.color is None:
            continue
        if a.bgcolor:
            bgs = [a.bgcolor]
        else:
            inside = [f for (xr, x0, x1, y0, y1, f) in fills
                      if xr == (a.xref or "x") and x0 <= a.x <= x1 and y0 <= a.y <= y1]
            bgs = inside[-1:] or [LIGHT, DARK]          # the topmost box under it, else the page in either theme
        found.append((f"annotation {a.text!r}", a.font.color, bgs))
    for t in fig.data:
        tf = getattr(t, "textfont", None)
        if tf is not None and tf.color is not None:
            colors = tf.color if isinstance(tf.color, (list, tuple)) else [tf.color]
            found += [(f"trace {t.name!r} text", c, [LIGHT, DARK]) for c in colors]
    layout = fig.layout
    for name in [k for k in layout.to_plotly_json() if k.startswith(("xaxis", "yaxis"))]:
        ax = layout[name]
        if ax.tickfont and ax.tickfont.color:
            found.append((f"{name} ticks", ax.tickfont.color, [LIGHT, DARK]))
    if layout.title and layout.title.font and layout.title.font.color:
        found.append(("title", layout.title.font.color, [LIGHT, DARK]))
    return found


@pytest.mark.parametrize("name", list(_figures()))
def test_every_coloured_text_meets_aa_against_what_is_behind_it(name):
    fig = _figures()[name]
    texts = _texts(fig)
    for what, color, bgs in texts:
        for bg in bgs:
            ratio = P.contrast_ratio(color, bg)
            assert ratio >= P.TEXT_MIN_CONTRAST, f"{name}: {what} in {color} on {bg} is {ratio:.2f}:1"


def test_the_walk_sees_group_coloured_labels():
    """The walk above must not pass vacuously: the figures that name groups in colour are found."""
    figs = _figures()
    for name in ("fan_in", "slices", "slices_dw", "features", "forms"):
        assert any(P.contrast_ratio(c, b) > 1 for _, c, bs in _texts(figs[name]) for b in bs), name
    yellow = [c for _, c, _ in _texts(figs["slices_dw"]) if c == P.group_text_color(6)]
    assert yellow, "group 6's label (yellow) is drawn with the text variant"


def test_grey_bars_pass_3_to_1_and_their_hover_labels_4_5():
    fig = F.params_vs_groups(cm.sweep_groups(cm.ConvSpec()), 32)
    bar = fig.data[0]
    for c in set(bar.marker.color):
        for bg in (LIGHT, DARK):
            assert P.contrast_ratio(c, bg) >= P.MARK_MIN_CONTRAST, (c, bg)
    assert P.contrast_ratio(bar.hoverlabel.font.color, bar.hoverlabel.bgcolor) >= P.TEXT_MIN_CONTRAST
    fixed = fb.fixed_width_chart(card.fixed_width_rows())
    grey = fixed.data[0]
    assert grey.marker.color == P.NEUTRAL_BAR
    assert P.contrast_ratio(grey.hoverlabel.font.color, grey.hoverlabel.bgcolor) >= P.TEXT_MIN_CONTRAST


# ---------------------------------------------------------------- weight-tensor labels


@pytest.mark.parametrize("groups, c", [(17, 68), (32, 64), (64, 64), (128, 256), (8192, 8192)])
def test_weight_slice_labels_are_bounded_and_spread(groups, c):
    fig = F.weight_slices(cm.ConvSpec(c_in=c, c_out=c, groups=groups), highlight=groups // 2)
    labels = [a for a in fig.layout.annotations if a.text.startswith("group ")]
    assert 4 <= len(labels) <= F.SLICE_LABELS_MAX
    ys = sorted((a.ay for a in labels), reverse=True)                   # where the text sits (arrow tails)
    assert min(a - b for a, b in zip(ys, ys[1:])) >= 0.05               # ~25 px apart at 520 px: no overlap
    named = {int(a.text.split(":")[0].split()[1]) for a in labels}
    assert {0, 1, groups - 1, groups // 2} <= named
    assert any(a.text.startswith("labels: groups 0, 1, multiples of") for a in fig.layout.annotations)


def test_depthwise_preset_labels_each_point_at_their_slice():
    fig = F.weight_slices(cm.ConvSpec(c_in=64, c_out=64, groups=64))
    side = F._Side(64, 64)
    for a in (a for a in fig.layout.annotations if a.text.startswith("group ")):
        g = int(a.text.split(":")[0].split()[1])
        assert a.showarrow and a.y == pytest.approx(sum(side.block(g)) / 2)   # the leader line ends on slice g
        assert a.text == f"group {g}: W[{g}:{g + 1}] reads x[{g}:{g + 1}]"


def test_few_groups_still_label_every_slice_in_place():
    fig = F.weight_slices(cm.ConvSpec(c_in=64, c_out=64, groups=8))
    labels = [a for a in fig.layout.annotations if a.text.startswith("group ")]
    assert len(labels) == 8 and not any(a.showarrow for a in labels)


# ---------------------------------------------------------------- connectivity: fan-in view


def _segments(fig: go.Figure) -> list[tuple[float, float]]:
    segs = []
    for t in fig.data:
        if t.name and t.name.startswith("edges"):
            y = np.asarray(t.y, dtype=float).reshape(-1, 3)
            segs += [(a, b) for a, b, _ in y]
    return segs


def test_fan_in_draws_the_first_groups_edge_by_edge():
    fig = F.bipartite_fan_in(64, 128, 32)
    assert fig.layout.meta["mode"] == "fan_in" and fig.layout.meta["shown"] == 4
    assert fig.layout.meta["edges"] == 256 == cx.edge_count(64, 128, 32)
    segs = _segments(fig)
    assert len(segs) == 4 * 2 * 4                       # 4 groups × 2 inputs × 4 outputs
    left, right = F._Side(8, 4), F._Side(16, 4)
    for y_in, y_out in segs:                            # every edge stays inside one group's blocks
        g_in = [g for g in range(4) if left.block(g)[1] <= y_in <= left.block(g)[0]]
        g_out = [g for g in range(4) if right.block(g)[1] <= y_out <= right.block(g)[0]]
        assert g_in == g_out and len(g_in) == 1
    # the edges are PyTorch's: in the mask of the first 4 groups, exactly where the full layer's mask is 1
    e = cx.edges(64, 128, 32)
    assert int((e[:, 2] < 4).sum()) == len(segs)


def test_fan_in_numbers_every_group_block_and_says_what_is_omitted():
    fig = F.bipartite_fan_in(64, 128, 32)
    texts = [a.text for a in fig.layout.annotations]
    for g in range(4):
        assert texts.count(f"<b>group {g}</b>") == 2    # on the input and the output block
    assert any(t.startswith("groups 4–31 omitted, same pattern") for t in texts)
    assert "groups 0–3 drawn edge by edge (32 of 256 connections)" in fig.layout.title.text


def test_the_page_uses_fan_in_only_where_it_helps():
    assert F.uses_fan_in(64, 128, 32) and F.uses_fan_in(64, 128, 32, highlight=3)
    assert not F.uses_fan_in(64, 128, 32, highlight=20)       # a far group: the whole layer, faded
    assert not F.uses_fan_in(64, 128, 4)                      # few groups: every edge reads fine
    assert not F.uses_fan_in(2048, 2048, 32)                  # bands already


# ---------------------------------------------------------------- forms diagram


def test_forms_diagram_has_arrows_between_every_row():
    fig = fb.forms_diagram(256, 32, 4, 256)
    arrows = [a for a in fig.layout.annotations if a.showarrow]
    by_col = {ref: [a for a in arrows if a.xref == ref] for ref in ("x", "x2", "x3")}
    assert len(by_col["x"]) == 4 * 4 + 1            # per branch: in→1×1→3×3→1×1→sum, then sum→out
    assert len(by_col["x2"]) == 4 * 3 + 1           # per branch: in→1×1→3×3→concat, then concat→out
    assert len(by_col["x3"]) == 4
    for ref in ("x", "x2"):
        vertical = [a for a in by_col[ref] if a.x == a.ax and 0.6 < a.ay < 0.75]   # 1×1 row down to the 3×3 row
        assert len(vertical) == 4, ref


def test_forms_box_text_reads_on_its_fill():
    fig = fb.forms_diagram(64, 7, 8, 64)
    orange = [s for s in fig.layout.shapes if s.fillcolor == P.group_color(1)]   # white on it was 2.25:1
    assert orange and all(s.opacity in (None, 1) for s in orange)                # opaque: the fill is what is seen
    centres = {((s.x0 + s.x1) / 2, (s.y0 + s.y1) / 2, s.xref) for s in orange}
    labels = [a for a in fig.layout.annotations if (a.x, a.y, a.xref) in centres]
    assert len(labels) == 5 and all(a.font.color == "#000000" for a in labels)   # (c)'s stripe has no text


# ---------------------------------------------------------------- export margins


def test_exported_figures_keep_a_left_margin_and_a_padded_title():
    fig = F.bipartite(64, 128, 32)
    printed = export._print_ready(fig)["layout"]
    assert printed["margin"]["l"] >= export.EXPORT_MARGIN_MIN["l"] >= 40
    assert printed["margin"]["r"] >= 30 and printed["margin"]["b"] >= 30 and printed["margin"]["t"] == 60
    title = printed["title"]
    assert title["xanchor"] == "left" and title["xref"] == "container" and title["pad"]["l"] >= 20
    assert fig.layout.margin.l == 10                 # the on-screen figure is untouched


# ---------------------------------------------------------------- the PNG's font


def test_png_font_has_the_arrow_or_falls_back_to_ascii():
    font = gpng._font(15)
    if any(__import__("os").path.isfile(p) for p in gpng.FONT_CANDIDATES[:3]):
        assert gpng.has_glyph(font, "→") and gpng.has_glyph(font, "–") and gpng.has_glyph(font, "×")
        assert gpng.drawable_text("a → b", font) == "a → b"
    else:
        assert "→" not in gpng.drawable_text("a → b", font) or gpng.has_glyph(font, "→")


def test_has_glyph_detects_the_notdef_box():
    try:
        plain = ImageFont.load_default(size=15)          # Pillow's own font has no arrow
    except TypeError:
        pytest.skip("Pillow without FreeType")
    assert gpng.has_glyph(plain, "a") and not gpng.has_glyph(plain, "\U0010FFFD")
    if not gpng.has_glyph(plain, "→"):
        assert gpng.drawable_text("C = 32 → 64 × 2", plain) == "C = 32 -> 64 x 2"


def test_feature_png_with_an_arrow_in_the_title_draws_it():
    act = np.random.default_rng(1).standard_normal((32, 6, 6)).astype(np.float32)
    data = gpng.feature_grid_png(act, 8, [0, 1], "layer1.0.conv2: 128 → 128")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- cardinality, one C that does not fit


def test_cardinalities_that_fit_names_the_one_left_out():
    fits, reasons = card.cardinalities_that_fit(20_000, (1, 2, 4, 8, 16, 32, 64))
    assert fits == (1, 2, 4, 8, 16, 32)
    smallest = card.template_params(64, 1)
    assert smallest == 33_344 and len(reasons) == 1
    assert reasons[0].startswith("Cardinality 64 does not fit") and f"{smallest:,}" in reasons[0]
    assert card.cardinalities_that_fit(card.RESNET50_TEMPLATE_PARAMS, (1, 64)) == ((1, 64), [])
    with pytest.raises(ValueError, match="budget must be between"):
        card.cardinalities_that_fit(0, (1,))


def test_cardinality_page_shows_the_others_and_says_which_does_not_fit():
    from tests.conftest import run_page

    at = run_page("pages/cardinality.py", {"budget": "20000"})
    assert not at.exception and len(at.error) == 1
    assert at.error[0].value.startswith("Cardinality 64 does not fit: even d = 1 needs 64 × (256 + 9 + 256) = 33,344")
    assert list(at.dataframe[0].value["C"]) == [1, 2, 4, 8, 16, 32]
    at.number_input(key="card_budget").set_value(1_000).run()           # only C = 1 (521 weights at d = 1) fits
    assert not at.exception and len(at.error) == 6 and list(at.dataframe[0].value["C"]) == [1]


# ---------------------------------------------------------------- routing


def test_unknown_page_notice():
    known = ["", "parameters", "connectivity"]
    note = routing.unknown_page_notice("http://localhost:8501/nosuchpage", known)
    assert note and "no page named “nosuchpage”" in note and "here is Home" in note
    assert routing.unknown_page_notice("http://localhost:8501/parameters", known) is None
    assert routing.unknown_page_notice("http://localhost:8501/", known) is None
    assert routing.unknown_page_notice(None, known) is None
    assert routing.unknown_page_notice("http://h/app/connectivity", known, "/app") is None
    assert "“x y”" in routing.unknown_page_notice("http://h/app/x%20y/", known, "app")


def test_feature_png_heading_fits_a_narrow_grid():
    import io

    from PIL import Image

    act = np.random.default_rng(2).standard_normal((32, 6, 6)).astype(np.float32)
    for shown in ([0], [0, 1, 2]):
        img = np.asarray(Image.open(io.BytesIO(gpng.feature_grid_png(act, 8, shown, "layer1.0.conv2: 128 → 128"))))
        geometry = ff.feature_grid_geometry(4, 6, 6, len(shown), png=True)
        m = geometry.margin
        band = img[m:m + 20, :]                                            # the heading's line
        assert (band != gpng.GRID_BACKGROUND).any()                         # a heading is drawn...
        assert (band[:, geometry.width - m // 2:] == gpng.GRID_BACKGROUND).all()   # ...and ends before the edge


@pytest.mark.parametrize("groups", [2, 8, 16])
def test_full_diagram_numbers_every_group_when_colours_repeat(groups):
    fig = F.bipartite(64, 128, groups)
    numbered = [a.text for a in fig.layout.annotations if a.text.startswith("<b>group ")]
    assert numbered == [f"<b>group {g}</b>" for g in range(groups)]     # group 7 is told apart from group 0


def test_full_diagram_with_a_far_highlight_numbers_it():
    fig = F.bipartite(64, 128, 32, highlight=20)
    assert [a.text for a in fig.layout.annotations if a.text.startswith("<b>group ")] == ["<b>group 20</b>"]


def test_lab_figures_text_passes_on_both_themes():
    from resnext_viz.lab import figures as FL
    from resnext_viz.lab import reference as lab_reference
    from tests.unit.test_figures_lab import LabConfig, fake_result

    anchor = lab_reference.load_anchor()
    result = fake_result(LabConfig(channels=16, size=8, batch=2), lambda c: 1e-3 * (1 + c.groups / 100))
    figs = [FL.time_vs_flops(result, anchor), FL.speed_vs_intensity(result, anchor),
            FL.bottleneck_ratio(result, anchor), FL.time_vs_flops(None, anchor, "bfloat16")]
    labelled = [t for f in figs for t in f.data if t.mode and "text" in t.mode]
    assert labelled                                                   # the point labels exist...
    for fig in figs:
        for what, color, bgs in _texts(fig):                          # ...and any explicit colour reads on both
            for bg in bgs:
                assert P.contrast_ratio(color, bg) >= P.TEXT_MIN_CONTRAST, (what, color, bg)
