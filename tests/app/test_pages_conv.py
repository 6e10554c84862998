"""AppTest: the app and the convolution pages run, show the right numbers and handle bad input."""

from tests.conftest import run_page

PARAMS = "pages/parameters.py"
CONN = "pages/connectivity.py"


def metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def test_home_runs_and_links_every_lesson(app):
    app.run()
    assert not app.exception
    assert "Grouped convolutions" in app.title[0].value


def test_parameter_page_defaults():
    at = run_page(PARAMS)
    assert not at.exception
    m = metrics(at)
    assert m["Dense weights (G = 1)"] == "73,728"
    assert m["Grouped weights (G = 32)"] == "2,304"
    assert m["Weight reduction"] == "96.9%"
    text = " ".join(x.value for x in at.markdown)
    assert "2 × 4 × 3 × 3 = **72 weights per group**" in text
    assert "**2,304** — parameters, sum(p.numel())" in text       # PyTorch agrees
    assert "**6,718,464** — MACs" in text
    assert at.query_params["groups"] == ["32"] or at.query_params["groups"] == "32"


def test_changing_groups_updates_numbers_and_url():
    at = run_page(PARAMS)
    at.number_input(key="conv_groups").set_value(16).run()
    m = metrics(at)
    assert m["Grouped weights (G = 16)"] == "4,608" and m["Weight reduction"] == "93.8%"
    assert str(at.query_params["groups"]).strip("[]'") == "16"


def test_bias_shows_its_effect_on_the_reduction():
    at = run_page(PARAMS)
    at.toggle(key="conv_bias").set_value(True).run()
    text = " ".join(x.value for x in at.markdown)
    assert "2,432 in all against 73,856 dense" in text and "96.7%" in text


def test_invalid_groups_explained_without_exception_and_fixable():
    at = run_page(PARAMS)
    at.number_input(key="conv_groups").set_value(3).run()
    assert not at.exception
    assert "Valid group counts here: 1, 2, 4, 8, 16, 32, 64" in at.error[0].value
    at.button(key="fix_groups").click().run()
    assert metrics(at)["Grouped weights (G = 2)"] == "36,864"


def test_bad_url_values_fall_back_with_notice():
    at = run_page(PARAMS, {"c_in": "abc", "c_out": "99999", "groups": "16"})
    assert not at.exception
    notes = " ".join(w.value for w in at.warning)
    assert "input channels" in notes and "not a whole number" in notes
    assert "output channels" in notes and "outside 1–8192" in notes
    assert metrics(at)["Grouped weights (G = 16)"] == "4,608"


def test_inconsistent_url_falls_back_to_defaults():
    at = run_page(PARAMS, {"c_in": "30", "groups": "32"})
    assert not at.exception
    assert "do not fit together" in at.warning[0].value
    assert metrics(at)["Grouped weights (G = 32)"] == "2,304"


def test_good_url_reopens_the_same_view():
    at = run_page(PARAMS, {"c_in": "256", "c_out": "256", "groups": "8", "kh": "1", "bias": "1"})
    assert not at.warning
    assert metrics(at)["Grouped weights (G = 8)"] == "8,192"


def test_preset_depthwise():
    at = run_page(PARAMS)
    at.sidebar.button(key="preset_depthwise").click().run()
    assert metrics(at)["Grouped weights (G = 64)"] == "576"


def test_values_survive_a_page_switch():
    at = run_page(CONN)
    at.number_input(key="conv_c_in").set_value(256).run()
    at.switch_page(PARAMS).run()
    assert metrics(at)["Dense weights (G = 1)"] == f"{256 * 128 * 9:,}"


def test_connectivity_page_runs_large_and_highlight():
    at = run_page(CONN)
    assert not at.exception
    at.selectbox(key="view_highlight").set_value(3).run()
    assert not at.exception and "Group 3** owns output channels [12, 16)" in " ".join(m.value for m in at.markdown)
    at.toggle(key="view_compare").set_value(True).run()
    at.number_input(key="conv_c_in").set_value(2048).run()
    at.number_input(key="conv_c_out").set_value(2048).run()
    assert not at.exception
    assert "one band from its input block" in at.info[0].value


def test_connectivity_invalid_groups():
    at = run_page(CONN, {"groups": "32"})
    at.number_input(key="conv_groups").set_value(5).run()
    assert not at.exception and "Valid group counts" in at.error[0].value
