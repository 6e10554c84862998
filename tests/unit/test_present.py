"""Themes, contrast, alt text, data tables, reduced motion, ?hide= CSS and the teacher's link and QR code."""

from __future__ import annotations

import io

import numpy as np
import plotly.graph_objects as go
import pytest

from resnext_viz import palette as P
from resnext_viz.serve import ROOT
from resnext_viz import plotting, teaching
from resnext_viz.blocks import cardinality as card
from resnext_viz.blocks import figures as fb
from resnext_viz.blocks.builder import BlockConfig, layer_table
from resnext_viz.conv import arithmetic as cm
from resnext_viz.conv import figures as F
from resnext_viz.inside import figures as ff
from resnext_viz.blocks import stages
from resnext_viz.conv import mech_figures as mf
from resnext_viz.conv import stacks
from resnext_viz.conv import stepthrough as sv
from resnext_viz.lab import figures as lab_figures
from resnext_viz.lab import reference as lab_reference
from resnext_viz.train import figures as tf

_SERIES = {"dense": {"test_acc": [[0.1, 0.9]], "train_acc": [[0.1, 0.95]], "test_loss": [[2.3, 0.4]],
                     "train_loss": [[2.3, 0.2]], "gap": [[0.0, 0.05]]}}

THEMES = list(plotting.THEMES)
LARGE_PX = 24  # WCAG: 18 pt (24 px) text is "large" (3:1); smaller text needs 4.5:1

FIGURES = {
    "params_vs_groups": lambda: F.params_vs_groups(cm.sweep_groups(cm.ConvSpec()), 32),
    "bipartite": lambda: F.bipartite(64, 128, 32),
    "bipartite_highlight": lambda: F.bipartite(64, 128, 32, highlight=3),
    "bipartite_big": lambda: F.bipartite(2048, 2048, 32),
    "fan_in": lambda: F.bipartite_fan_in(64, 128, 32, None),
    "compare": lambda: F.bipartite_compare(64, 128, 32),
    "mask": lambda: F.connection_mask(64, 128, 32, highlight=3),
    "slices": lambda: F.weight_slices(cm.ConvSpec()),
    "slices_many": lambda: F.weight_slices(cm.ConvSpec(c_in=256, c_out=256, groups=64), highlight=20),
    "cardinality": lambda: fb.cardinality_chart(card.solve_preserved_complexity(), 69_632),
    "fixed_width": lambda: fb.fixed_width_chart(card.fixed_width_rows(128)),
    "forms": lambda: fb.forms_diagram(256, 32, 4, 256),
    "forms_times": lambda: fb.forms_times({"a": (4.0, 5.0, 7.0), "c": (1.5, 1.8, 1.9)}, {"a": "(a)", "c": "(c)"}),
    "layers": lambda: fb.layer_breakdown(list(layer_table(BlockConfig()).rows)),
    "feature_maps": lambda: ff.feature_maps(np.random.default_rng(0).random((32, 8, 8)), 8, range(8)),
    "correlation": lambda: ff.correlation_heatmap(np.eye(16), 1, 16, 4, 0.5, 0.1),
    "energy": lambda: ff.group_energy_bars(np.arange(32, dtype=float), range(8, 16)),
    "grad_bars": lambda: ff.grad_norm_bars(np.r_[np.zeros(5), 2.5, np.zeros(26)], "t", "norm", "weight",
                                           target_group=5),
    "top_channels": lambda: ff.top_channels(np.random.default_rng(1).normal(size=(64, 7, 7)), 16, np.arange(16) * 4),
    "locality": lambda: ff.locality_heatmaps(np.eye(8), np.eye(8, dtype=bool), np.ones((8, 8)),
                                             np.ones((8, 8), dtype=bool), 3),
    "stages": lambda: fb.stage_comparison(["ResNet-50", "ResNeXt-50"], [stages.stage_table("resnet50"),
                                                                        stages.stage_table("resnext50_32x4d")]),
    "step_overview": lambda: _step("overview"),
    "step_channel": lambda: _step("channel"),
    "reach_steps": lambda: mf.reach_steps(16, ["g4", "shuffle4", "g4"], 4),
    "reach_pattern": lambda: mf.pattern(stacks.reachability(16, ["g4", "g4"]), "t", 4, "reach_final"),
    "shuffle": lambda: mf.shuffle_diagram(16, 4),
    "lab_time": lambda: lab_figures.time_vs_flops(None, lab_reference.load_anchor()),
    "lab_speed": lambda: lab_figures.speed_vs_intensity(None, lab_reference.load_anchor()),
    "lab_block": lambda: lab_figures.bottleneck_ratio(None, lab_reference.load_anchor()),
    "train_curves": lambda: tf.training_curves(_SERIES),
    "train_cka": lambda: tf.similarity_bars([("a<br>random init", 0.8, 0.7, 0.9), ("a<br>trained", 0.6, 0.5, 0.7)]),
    "train_grads": lambda: tf.grad_norms({"grouped": [[0.1 * g for g in range(8)], [0.2] * 8]}),
    "train_noise": lambda: tf.noise_curves((0.0, 0.5), {"dense": [[0.9, 0.5], [0.8, 0.4]]}),
    "train_lr": lambda: tf.lr_sweep({"dense": {0.1: [0.9, 0.8], 2.0: [0.1, 0.9]}}, {"dense": {0.1: [False] * 2,
                                                                                                2.0: [True, False]}}),
}


def _step(which: str):
    spec = sv.StepSpec()
    t = sv.tensors(spec)
    return mf.overview(spec, sv.output(spec, t)) if which == "overview" else mf.one_channel(spec, t, 1, (0, 0))


# ---------------------------------------------------------------- contrast, every theme


@pytest.mark.parametrize("theme", THEMES)
def test_page_text_colours_meet_aa_on_every_theme(theme):
    t = plotting.THEMES[theme]
    for name in ("text", "muted", "link"):
        for bg in (t.background, t.surface):
            ratio = P.contrast_ratio(getattr(t, name), bg)
            assert ratio >= P.TEXT_MIN_CONTRAST, f"{theme} {name} on {bg}: {ratio:.2f}:1"


@pytest.mark.parametrize("theme", THEMES)
def test_group_colours_and_grey_bars_are_marks_of_3_to_1_on_every_theme(theme):
    bg = plotting.THEMES[theme].background
    for g, c in enumerate(P.GROUP_COLORS + (P.NEUTRAL_BAR,)):
        assert P.contrast_ratio(c, bg) >= P.MARK_MIN_CONTRAST, f"colour {g} {c} on {theme}: " \
                                                                f"{P.contrast_ratio(c, bg):.2f}:1"


@pytest.mark.parametrize("theme", THEMES)
def test_streamlit_widget_colours_meet_aa_on_every_theme(theme):
    from resnext_viz import ui

    t = plotting.THEMES[theme]
    colours = ui.widget_colours(t)
    assert {"multiselect tag", "primary button", "slider value", "selected choice"} <= set(colours)
    for part, (fg, bg) in colours.items():
        ratio = P.contrast_ratio(fg, bg)
        assert ratio >= P.TEXT_MIN_CONTRAST, f"{theme} {part}: {fg} on {bg} = {ratio:.2f}:1"
    css = ui.view_css(ui.View(theme=theme))  # the CSS paints exactly these colours, light included
    tag_fg, tag_bg = colours["multiselect tag"]
    assert f"background: {tag_bg} !important; color: {tag_fg} !important;" in css
    assert f'[data-testid="stSliderThumbValue"] {{ color: {colours["slider value"][0]} !important; }}' in css
    assert f"{{ color: {colours['primary button'][0]} !important; }}" in css


def test_streamlit_light_defaults_fail_where_the_css_steps_in():
    from resnext_viz.ui.present import ACCENT

    # Streamlit 1.67's primary red on its own 10% tint (a segmented control's chosen option) falls short,
    assert P.contrast_ratio(ACCENT, P.mix(ACCENT, "#FFFFFF", 0.9)) < P.TEXT_MIN_CONTRAST
    # and so would the high-contrast theme's black text on a primary button of that red
    assert P.contrast_ratio("#000000", ACCENT) < P.TEXT_MIN_CONTRAST


def test_group_text_colours_on_their_chip():
    assert all(P.contrast_ratio(c, P.TEXT_BACKGROUND) >= P.TEXT_MIN_CONTRAST for c in P.TEXT_COLORS)
    assert P.contrast_ratio("#F0E442", "#FFFFFF") < 1.4  # the raw yellow the palette no longer uses


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("name", FIGURES)
def test_every_text_colour_in_every_figure_meets_aa(theme, name):
    fig = plotting.style(FIGURES[name](), theme)
    bad = []
    for where, color, bg in plotting.figure_text_colors(fig, theme):
        ratio = P.contrast_ratio(color, bg)
        if ratio < P.TEXT_MIN_CONTRAST:
            bad.append(f"{where}: {color} on {bg} = {ratio:.2f}:1")
    assert bad == []


@pytest.mark.parametrize("name", FIGURES)
def test_every_axis_of_every_figure_skips_plotlys_tick_label_overflow_pass(name):
    """ticklabeloverflow="allow" on every x and y axis (subplots too): the default measures labels n² times."""
    fig = plotting.style(FIGURES[name](), "light")
    axes = [fig.layout[k] for k in fig.layout if k.startswith(("xaxis", "yaxis"))]
    assert axes and all(a.ticklabeloverflow == "allow" for a in axes)


def test_the_contrast_check_sees_a_bad_colour():
    fig = go.Figure(layout=dict(annotations=[dict(text="x", font=dict(color="#F0E442"))]))
    found = plotting.figure_text_colors(plotting.style(fig, "light"), "light")
    assert any(P.contrast_ratio(c, bg) < 2 for _, c, bg in found)


def test_reach_contrast_keeps_the_colour_when_it_already_passes():
    assert P.reach_contrast("#0072B2", "#FFFFFF", 3.0) == "#0072B2"
    dark = P.reach_contrast("#F0E442", "#FFFFFF", 3.0)
    assert 3.0 <= P.contrast_ratio(dark, "#FFFFFF") < 3.2  # no darker than it needs


def test_group_label_names_the_repeat():
    assert P.group_label(3, 8) == "g3" and P.group_label(9, 32) == "g9 (colour of g2)"
    assert P.group_color(9) == P.group_color(2)


# ---------------------------------------------------------------- style, alt text, data, motion


def test_style_sets_the_theme_and_presenting_scales_type_and_lines():
    plain = plotting.style(F.params_vs_groups(cm.sweep_groups(cm.ConvSpec()), 32), "dark")
    big = plotting.style(F.params_vs_groups(cm.sweep_groups(cm.ConvSpec()), 32), "dark", present=True)
    assert plain.layout.paper_bgcolor == "#0E1117" and plain.layout.font.color == "#FAFAFA"
    assert big.layout.font.size == round(plain.layout.font.size * plotting.PRESENT_SCALE)
    widths = [(a.line.width, b.line.width) for a, b in zip(plain.data, big.data)
              if getattr(a, "line", None) is not None and a.line.width]
    assert widths and all(b == pytest.approx(a * plotting.PRESENT_LINE_SCALE) for a, b in widths)


@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_has_an_alt_sentence_with_numbers(name):
    text = plotting.alt_text(FIGURES[name]())
    assert text.strip().endswith(".") and any(ch.isdigit() for ch in text), text


def test_alt_text_uses_the_builders_sentence_first_and_says_the_range_else():
    fig = go.Figure(go.Bar(x=[1, 2, 4], y=[10, 5, 2.5], name="weights"), layout=dict(title="T"))
    assert plotting.alt_text(fig) == "T. weights: 3 values from 2.5 to 10."
    assert plotting.alt_text(go.Figure([go.Bar(y=[i]) for i in range(8)])).endswith("and 2 more traces.")
    fig.update_layout(meta={"alt": "Ten, five and 2.5 weights."})
    assert plotting.alt_text(fig) == "Ten, five and 2.5 weights."


def test_data_records_follow_the_traces():
    fig = F.params_vs_groups(cm.sweep_groups(cm.ConvSpec()), 32)
    rows = plotting.data_records(fig)
    params = [r["y"] for r in rows if r["trace"] == "parameters"]
    assert params == [r.params for r in cm.sweep_groups(cm.ConvSpec())]
    heat = plotting.data_records(go.Figure(go.Heatmap(z=[[1, 2], [3, 4]], x=["a", "b"], y=["r", "s"])))
    assert heat[3] == {"trace": "heatmap", "x": "b", "y": "s", "value": 4}


def test_reduce_motion_makes_every_step_instant():
    frames = [go.Frame(data=[go.Scatter(y=[i])], name=str(i)) for i in range(3)]
    fig = go.Figure(go.Scatter(y=[0]), frames=frames, layout=dict(
        updatemenus=[dict(type="buttons", buttons=[dict(label="Play", method="animate",
                                                        args=[None, {"frame": {"duration": 500},
                                                                     "transition": {"duration": 300}}])])],
        sliders=[dict(steps=[dict(method="animate", args=[["1"], {"transition": {"duration": 300}}])])]))
    plotting.reduce_motion(fig)
    play = fig.layout.updatemenus[0].buttons[0].args[1]
    assert play["frame"]["duration"] == 0 and play["transition"]["duration"] == 0
    assert fig.layout.sliders[0].steps[0].args[1]["transition"]["duration"] == 0
    assert fig.layout.transition.duration == 0


# ---------------------------------------------------------------- ?hide= and presentation CSS


def test_view_css_hides_what_the_link_names():
    from resnext_viz import ui

    css = ui.view_css(ui.View(hide=frozenset({"groups", "sidebar"})))
    assert ".st-key-conv_groups" in css and '[data-testid="stSidebar"]' in css
    assert ".st-key-view_highlight" in ui.view_css(ui.View(hide=frozenset({"highlight"})))  # a page's own Field
    assert "stNumberInput" not in css and "font-size" not in css.split("@media")[0]
    present = ui.view_css(ui.View(present=True))
    assert '[data-testid="stSidebar"]' in present and f"font-size: {round(16 * plotting.PRESENT_SCALE)}px" in present
    assert "stNumberInput" in ui.view_css(ui.View(hide=frozenset({"controls"})))
    assert ui.View(present=True).profile == "contrast" and ui.View(present=True, theme="dark").profile == "dark"
    assert ui.parse_hide(" Controls, groups ,,") == {"controls", "groups"}



def test_presentation_draws_the_main_figure_under_the_title():
    from resnext_viz import ui

    present, plain = ui.view_css(ui.View(present=True)), ui.view_css(ui.View())
    assert f".st-key-{ui.MAIN_KEY}" in present and "order: -1" in present and "order: -2" in present
    assert "order:" not in plain
    for page in ("parameters", "connectivity"):  # each declares its main figure
        assert "ui.main_figure()" in (ROOT / "pages" / f"{page}.py").read_text(encoding="utf-8")


# ---------------------------------------------------------------- the teacher's link


def test_teacher_link_is_short_and_complete():
    link = teaching.TeacherLink("https://school.example/app/", "parameters", {"groups": 8, "square": True},
                                ("controls", "sidebar"), True, "contrast", 7)
    assert link.url() == ("https://school.example/app/parameters?groups=8&square=1&hide=controls,sidebar"
                          "&present=1&theme=contrast&seed=7")
    assert teaching.TeacherLink("http://h:1", "").url() == "http://h:1/"
    with pytest.raises(ValueError, match="http"):
        teaching.TeacherLink("school.example", "parameters").url()


def test_base_url_drops_the_page_and_query():
    assert teaching.base_url_of("http://h:8501/teacher?x=1") == "http://h:8501"
    assert teaching.base_url_of("https://s.example/app/parameters") == "https://s.example/app"
    assert teaching.base_url_of("https://s.example/app") == "https://s.example/app"


def _decode(png: bytes) -> str:
    import zxingcpp
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
    assert len(found) == 1 and found[0].format == zxingcpp.BarcodeFormat.QRCode
    return found[0].text


def test_qr_code_decodes_to_the_link():
    url = teaching.TeacherLink("https://school.example/app", "connectivity", {"groups": 4},
                               ("controls",), True).url()
    assert _decode(teaching.qr_png(url)) == url
    other = teaching.TeacherLink("https://school.example/app", "connectivity", {"groups": 8}).url()
    assert _decode(teaching.qr_png(other)) == other != url


def test_qr_svg_draws_segnos_own_matrix():
    url = "https://school.example/app/parameters?groups=8"
    svg = teaching.qr_svg(url, scale=1).decode()
    code = teaching.qr(url)
    size = len(code.matrix) + 8  # 4-module quiet zone each side
    assert f'width="{size}"' in svg and f'height="{size}"' in svg
    from PIL import Image

    img = Image.open(io.BytesIO(teaching.qr_png(url, scale=1))).convert("L")
    dark = [[img.getpixel((x + 4, y + 4)) < 128 for x in range(len(code.matrix))] for y in range(len(code.matrix))]
    assert dark == [[bool(v) for v in row] for row in code.matrix]


def test_tips_sheet_has_the_link_questions_and_parameters():
    link = teaching.TeacherLink("https://s.example", "parameters", {"groups": 8}, ("controls",), True)
    sheet = teaching.tips_html(link, "Parameter math", "Blurb.")
    assert link.url().replace("&", "&amp;") in sheet and "<svg" in sheet
    assert teaching.QUESTIONS["parameters"][0] in sheet
    assert "present=1" in sheet and "hide=" in sheet and "groups=8" in sheet and "theme=" not in sheet


def test_lesson_step_hook_is_empty_without_a_lesson_package():
    import importlib.util

    if importlib.util.find_spec("resnext_viz.lesson") is None:
        assert teaching.lesson_steps() == []
    else:
        assert all(isinstance(a, str) and isinstance(b, str) for a, b in teaching.lesson_steps())


def test_lesson_step_hook_reads_the_lessons_steps(monkeypatch):
    import sys
    import types

    from resnext_viz import lessons  # noqa: F401  (the package must exist before its fake submodule)

    fake_pkg, fake = types.ModuleType("resnext_viz.lesson"), types.ModuleType("resnext_viz.lesson.steps")
    fake.STEPS = (types.SimpleNamespace(title="Dense"), types.SimpleNamespace(title="Grouped"))
    fake_pkg.steps = fake
    monkeypatch.setitem(sys.modules, "resnext_viz.lesson", fake_pkg)
    monkeypatch.setitem(sys.modules, "resnext_viz.lesson.steps", fake)
    assert teaching.lesson_steps() == [("1", "1. Dense"), ("2", "2. Grouped")]
    link = teaching.TeacherLink("https://s.example", "lesson", step="2", seed=5)
    assert link.url() == "https://s.example/lesson?step=2&seed=5"


def test_slim_templates_keep_plotlys_defaults_for_what_the_figures_draw():
    import plotly.io as pio

    for theme in THEMES:
        full, slim = pio.templates[plotting.THEMES[theme].template], pio.templates[f"rvz_{theme}"]
        for trace in plotting.TEMPLATE_TRACES:  # the same per-trace defaults, where the app draws that trace type
            assert slim.data[trace] == full.data[trace]
        kept = {k: v for k, v in full.layout.to_plotly_json().items() if k not in plotting._UNUSED_LAYOUT}
        assert kept == slim.layout.to_plotly_json() and len(kept) > 10
    used = {tr.type for build in FIGURES.values() for tr in build().data}
    assert used <= set(plotting.TEMPLATE_TRACES), used - set(plotting.TEMPLATE_TRACES)  # a new trace type: add it
    assert plotting.style(F.bipartite(8, 8, 2), "dark").layout.template.layout.paper_bgcolor == "rgb(17,17,17)"
