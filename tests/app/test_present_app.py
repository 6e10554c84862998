"""AppTest: presentation mode, ?hide= and ?theme= kept across pages; every chart's alt text; the teacher page."""

from __future__ import annotations

import pytest

from resnext_viz import lessons
from tests.conftest import run_page

PARAMS = "pages/parameters.py"


def _q(at, name):
    v = at.query_params.get(name)
    return v[0] if isinstance(v, list) else v


def test_present_theme_and_hide_survive_a_page_change_and_leaving_restores():
    at = run_page(PARAMS, {"present": "1", "theme": "dark", "hide": "export"})
    assert not at.exception
    assert at.button(key="view_present_off")  # the leave button is drawn while presenting
    at.switch_page("pages/connectivity.py").run()
    assert (_q(at, "present"), _q(at, "theme"), _q(at, "hide")) == ("1", "dark", "export")
    assert not any(p.label == "Export" for p in at.get("popover"))
    at.button(key="view_present_off").click().run()
    assert _q(at, "present") is None and _q(at, "theme") == "dark"   # left: the parameter goes, the theme stays
    assert not at.get("button") or all(b.key != "view_present_off" for b in at.button)


def test_hidden_controls_still_follow_the_url():
    at = run_page(PARAMS, {"hide": "controls", "groups": "8"})
    assert not at.exception
    assert at.number_input(key="conv_groups").value == 8  # the widget exists (hidden by CSS), with the link's value
    assert {m.label: m.value for m in at.metric}["Grouped weights (G = 8)"] == "9,216"
    at.query_params["groups"] = "16"
    at.run()
    assert {m.label: m.value for m in at.metric}["Grouped weights (G = 16)"] == "4,608"


def test_a_bad_theme_falls_back_with_a_notice():
    at = run_page(PARAMS, {"theme": "neon"})
    assert not at.exception and at.selectbox(key="view_theme").value == "light"
    assert any("theme" in w.value and "neon" in w.value for w in at.warning)


@pytest.mark.parametrize("lesson", [lessons.HOME, *lessons.LESSONS], ids=lambda x: x.url_path or "home")
def test_every_chart_on_every_page_passes_alt_text_with_numbers(lesson, monkeypatch):
    monkeypatch.setenv("RESNEXT_VIZ_OFFLINE", "1")
    at = run_page(lesson.file, {"theme": "contrast"})
    assert not at.exception, at.exception
    assert not [e.value for e in at.error if "Something went wrong" in e.value]  # plain_errors caught nothing
    charts = at.get("plotly_chart")
    if lesson.url_path in ("parameters", "connectivity", "cardinality", "three_forms", "resnet_vs_resnext",
                           "group_features", "gradients"):
        assert len(charts) > 0  # these pages draw charts without a button press
    for chart in charts:
        alt = chart.proto.alt.strip()
        assert alt and any(ch.isdigit() for ch in alt), f"{lesson.file}: chart without a numeric alt: {alt!r}"


def test_teacher_page_builds_the_link_from_the_choices():
    at = run_page("pages/teacher.py")
    assert not at.exception
    at.selectbox(key="tch_page").set_value("connectivity").run()
    at.selectbox(key="tch_preset").set_value("depthwise").run()
    at.multiselect(key="tch_hide").set_value(["controls"]).run()
    at.text_input(key="tch_hide_more").set_value("groups").run()
    at.toggle(key="tch_present").set_value(True).run()
    at.toggle(key="tch_use_seed").set_value(True).run()
    at.number_input(key="tch_seed").set_value(42).run()
    url = at.code[0].value
    assert url.endswith("/connectivity?c_in=64&c_out=64&kh=3&groups=64&kw=3&square=1&hide=controls,groups"
                        "&present=1&seed=42"), url
    at.text_input(key="tch_base").set_value("not a url").run()
    assert any("not a web address" in e.value for e in at.error)


def test_a_figures_data_table_is_built_only_when_opened_and_stays_open():
    from resnext_viz.plotting import data_records
    from resnext_viz.conv import arithmetic as cm
    from resnext_viz.conv import figures

    at = run_page("pages/parameters.py")
    assert not at.exception and not at.table  # closed: no table was built or sent
    at.session_state["dt_params_chart"] = True  # what opening the expander in the browser sets
    at.run()
    assert not at.exception and len(at.table) == 1
    shown = at.table[0].value
    expected = data_records(figures.params_vs_groups(cm.sweep_groups(cm.ConvSpec(groups=32)), 32), most=201)
    assert len(shown) == min(len(expected), 200) and list(shown.columns) == list(expected[0])
    at.number_input(key="conv_groups").set_value(16).run()
    assert not at.exception and len(at.table) == 1  # a change keeps it open, rebuilt for the new state


def test_an_unchanged_figure_is_neither_rebuilt_nor_restyled_and_each_theme_has_its_own(monkeypatch):
    from resnext_viz.conv import figures
    from resnext_viz.ui import widgets

    built = []
    real = figures.params_vs_groups
    monkeypatch.setattr(figures, "params_vs_groups", lambda *a, **k: built.append(a[1]) or real(*a, **k))
    widgets._FIGURES.clear()
    at = run_page("pages/parameters.py", {"groups": "32"})
    at.run()
    assert built == [32]  # the second run found it
    at.number_input(key="conv_groups").set_value(16).run()
    at.number_input(key="conv_groups").set_value(32).run()
    assert built == [32, 16]  # back to 32: the kept figure
    assert not at.exception and at.get("plotly_chart")
    other = run_page("pages/parameters.py", {"groups": "32", "theme": "dark"})  # another learner, dark theme
    assert not other.exception and built == [32, 16, 32]
    kept = {(slot[0], slot[3][0]): fig for slot, (fig, *_) in widgets._FIGURES.items()}
    assert kept[("params_vs_groups", "dark")].layout.paper_bgcolor == "#0E1117"
    assert kept[("params_vs_groups", "light")].layout.paper_bgcolor == "#FFFFFF"


def test_show_the_code_is_built_only_when_opened():
    import inspect

    from resnext_viz.conv import arithmetic as cm

    at = run_page("pages/parameters.py")
    assert not at.exception and not at.code  # closed: nothing sent for the browser to highlight
    at.session_state["code_parameters"] = True
    at.run()
    assert len(at.code) == 1 and inspect.getsource(cm.macs).strip() in at.code[0].value


def test_kept_figures_stay_under_their_count_and_byte_bounds(monkeypatch):
    import numpy as np
    import plotly.graph_objects as go

    from resnext_viz.ui import widgets

    widgets._FIGURES.clear()
    monkeypatch.setattr(widgets, "FIGURE_BYTES_KEPT", 3 * 4_000_000)
    big = go.Figure(go.Heatmap(z=np.zeros((1000, 1000), dtype=np.float32)))
    assert widgets._array_bytes(big) == 4_000_000
    for i in range(6):
        widgets._keep(("big", i), (big, "alt", widgets._array_bytes(big)))
    assert [slot[1] for slot in widgets._FIGURES] == [3, 4, 5]  # 4 MB each: the three newest fit in 12 MB
    monkeypatch.setattr(widgets, "FIGURES_KEPT", 2)
    widgets._keep(("small", 0), (go.Figure(), "alt", 0))
    assert [slot[1] for slot in widgets._FIGURES] == [5, 0]
    widgets._FIGURES.clear()
