"""UrlState with plain dicts: links win once, memory survives page switches, bad values fall back with a notice."""

from resnext_viz.ui.state import Field, UrlState

FIELDS = [Field("g", "groups", 32, 1, 64, label="groups"), Field("sq", "square", True, label="square"),
          Field("t", "budget", 1.0, 0.5, 5.0, label="budget")]


def test_a_link_seeds_the_widgets_then_the_session_owns_the_url():
    session, query = {}, {"groups": "8", "budget": "2.5"}
    state = UrlState(session, query, page="p")
    assert state.seed(FIELDS) == []
    assert session["g"] == 8 and session["sq"] is True and session["t"] == 2.5
    session["g"] = 16  # the learner changes the widget
    state.sync(FIELDS)
    assert query == {"groups": "16", "square": "1", "budget": "2.5"}
    assert UrlState(session, query, page="p").seed(FIELDS) == [] and session["g"] == 16  # own URL: not re-read


def test_memory_reseeds_a_widget_forgotten_on_another_page():
    session, query = {}, {}
    UrlState(session, query, "a").seed(FIELDS)
    session["g"] = 4
    UrlState(session, query, "a").sync(FIELDS)
    del session["g"]  # Streamlit drops a widget's key when it is not drawn
    UrlState(session, query, "b").seed(FIELDS)
    assert session["g"] == 4


def test_bad_and_out_of_range_values_fall_back_with_a_notice():
    session = {}
    notices = UrlState(session, {"groups": "999", "square": "maybe", "budget": "nan"}).seed(FIELDS)
    assert len(notices) == 3 and "999 is outside 1–64" in notices[0] and "not on/off" in notices[1]
    assert session == {"g": 32, "sq": True, "t": 1.0, UrlState.MEMORY_KEY: session[UrlState.MEMORY_KEY]}


def test_values_that_do_not_fit_together_fall_back_to_the_defaults():
    session = {}
    notices = UrlState(session, {"groups": "7"}).seed(FIELDS, lambda v: "7 does not divide 64." if v["g"] == 7 else None)
    assert session["g"] == 32 and "do not fit together — 7 does not divide 64." in notices[0]
