"""AppTest: every lesson step opens its page in its state; the Lesson page's navigation, answers, score, bad links."""

from __future__ import annotations

import re

import pytest

from resnext_viz.inside import weights
from resnext_viz.lesson import exercises as ex
from resnext_viz.lesson import steps as ls
from tests.conftest import run_page

LESSON = "pages/lesson.py"

# URL name -> widget key, per page, as the pages' ui.Field lists spell them (a new page adds its own here).
CONV = {"c_in": "conv_c_in", "c_out": "conv_c_out", "kh": "conv_kh", "kw": "conv_kw", "square": "conv_square",
        "groups": "conv_groups", "bias": "conv_bias", "h": "conv_h", "w": "conv_w", "stride": "conv_stride",
        "padding": "conv_padding"}
STATE_KEYS = {
    "parameters": CONV,
    "connectivity": {**CONV, "highlight": "view_highlight", "compare": "view_compare"},
    "three_forms": {"c_in": "forms_c_in", "C": "forms_C", "d": "forms_d", "c_out": "forms_c_out",
                    "stride": "forms_stride", "h": "forms_h", "w": "forms_w", "dtype": "forms_dtype"},
    "cardinality": {"mode": "card_mode", "budget": "card_budget", "cardinalities": "card_cs", "width": "card_width",
                    "channels": "card_io", "hw": "card_hw"},
    "resnet_vs_resnext": {"pair": "rvr_pair", "size": "rvr_size"},
    "group_features": {"source": "feat_source", "layer": "img_layer", "image": "img_pick", "page": "feat_page"},
    "gradients": {"layer": "img_layer", "target": "grad_target", "group": "grad_group", "channel": "grad_channel"},
    "inside_conv": {k: k for k in ("sc_c_in", "sc_c_out", "sc_groups", "sc_h", "sc_w", "sc_k", "sc_stride",
                                   "sc_padding", "sc_seed", "sc_dense", "sc_o", "sc_i", "sc_j")},
    "separable": CONV,
    "stacked_layers": {"stk_c": "stk_c", "stk_layers": "stk_layers", "stk_target": "stk_target"},
    "performance_lab": {"lab_channels": "lab_channels", "lab_size": "lab_size", "lab_batch": "lab_batch",
                        "lab_dtype": "lab_dtype", "lab_channels_last": "lab_cl", "lab_loop": "lab_loop",
                        "lab_bottleneck": "lab_block", "lab_budget": "lab_budget", "lab_threads": "lab_threads"},
    "train": {"preset": "train_preset", "dataset": "train_dataset", "epochs": "train_epochs", "seeds": "train_seeds"},
    "claims": {"group": "claims_group"},
}
WIDGETS = ("number_input", "selectbox", "toggle", "multiselect", "radio", "slider", "button_group", "text_input")


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """The image pages never wait for a download here: random weights, said so on the page."""
    monkeypatch.setenv(weights.OFFLINE_ENV, "1")
    monkeypatch.delenv(weights.WEIGHTS_ENV, raising=False)


def _widgets(at) -> dict:
    """Return every drawn widget's value by its key."""
    out = {}
    for kind in WIDGETS:
        for w in at.get(kind):
            if getattr(w, "key", None):
                out[w.key] = w.value
    return out


def _as_url(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


@pytest.mark.parametrize("number", range(1, ls.count() + 1))
def test_every_step_opens_its_page_in_its_state(number):
    step = ls.STEPS[number - 1]
    at = run_page(ls.page_file(step), dict(step.state))
    assert not at.exception, [e.value for e in at.exception]
    assert not at.warning or all("link" not in w.value for w in at.warning), [w.value for w in at.warning]
    keys = STATE_KEYS[step.page]
    drawn = _widgets(at)
    for url, raw in step.state.items():
        key = keys[url]
        assert _as_url(at.session_state[key]) == raw, (step.id, url)
        if key in drawn:  # a widget hidden by the page's own logic (e.g. a square kernel's width) keeps its state
            assert _as_url(drawn[key]) == raw, (step.id, url, drawn[key])
    shown = {keys[u] for u in step.state} & set(drawn)
    assert len(shown) >= min(2, len(step.state)), (step.id, shown)  # the state is in widgets the learner sees


def _lesson(query: dict | None = None):
    return run_page(LESSON, query)


def _text(at) -> str:
    return " ".join(m.value for m in at.markdown)


def test_lesson_opens_at_the_linked_step_and_seed():
    at = _lesson({"step": "5", "seed": "123"})
    assert not at.exception
    assert at.subheader[0].value == f"5. {ls.STEPS[4].title}"
    q = ex.question(123, ls.STEPS[4].id, ls.STEPS[4].exercise)
    assert q.prompt in _text(at)
    assert at.query_params["step"] in ("5", ["5"]) and at.query_params["seed"] in ("123", ["123"])
    assert at.button(key="lesson_goto_5").proto.type == "primary"


@pytest.mark.parametrize("raw", ["99", "0", "six"])
def test_a_bad_step_says_so_and_offers_step_1(raw):
    at = _lesson({"step": raw, "seed": "5"})
    assert not at.exception
    assert any("the lesson has steps 1–" in w.value.lower() for w in at.warning), [w.value for w in at.warning]
    assert at.subheader[0].value.startswith("1. ")
    at.button(key="lesson_first").click().run()
    assert at.subheader[0].value.startswith("1. ") and not at.exception


def test_a_bad_seed_says_so():
    at = _lesson({"step": "2", "seed": "lots"})
    assert any("seed 'lots'" in w.value for w in at.warning)
    assert at.subheader[0].value.startswith("2. ")


def test_a_missing_page_says_so_and_offers_step_1(monkeypatch):
    gone = ls.Step("gone", "A page not built yet", "no_such_page", "One. Two.", {}, None)
    monkeypatch.setattr(ls, "STEPS", (gone, *ls.STEPS[1:]))
    at = _lesson({"step": "1", "seed": "5"})
    assert not at.exception
    assert any("no_such_page" in e.value for e in at.error)
    assert at.button(key="lesson_missing_first")


def test_next_and_prev_move_and_write_the_url():
    at = _lesson({"step": "1", "seed": "9"})
    assert at.button(key="lesson_prev").disabled
    at.button(key="lesson_next").click().run()
    at.button(key="lesson_next").click().run()
    assert at.subheader[0].value.startswith("3. ") and at.query_params["step"] in ("3", ["3"])
    at.button(key="lesson_prev").click().run()
    assert at.subheader[0].value.startswith("2. ")
    at.button(key=f"lesson_goto_{ls.count()}").click().run()
    assert at.subheader[0].value.startswith(f"{ls.count()}. ") and at.button(key="lesson_next").disabled


def _answer(at, number: int, seed: int, text: str):
    step = ls.STEPS[number - 1]
    at.text_input(key=f"lesson_answer_{seed}_{step.id}").input(text)
    at.button(key=f"FormSubmitter:lesson_form_{number}-Check").click().run()
    return at


def test_right_answer_scores_wrong_answers_get_a_hint_then_the_worked_answer():
    seed = 77
    at = _lesson({"step": "2", "seed": str(seed)})
    q = ex.question(seed, ls.STEPS[1].id, ls.STEPS[1].exercise)
    _answer(at, 2, seed, ex.answer_text(q))
    assert at.success and at.success[0].value.startswith("Right")
    assert {m.label: m.value for m in at.metric}["Score"].startswith("1 of ")
    at.button(key="lesson_goto_3").click().run()
    q3 = ex.question(seed, ls.STEPS[2].id, ls.STEPS[2].exercise)
    _answer(at, 3, seed, "7")
    assert at.error and "Not quite" in at.error[0].value
    assert any(q3.hint in i.value for i in at.info) and q3.worked not in _text(at)
    _answer(at, 3, seed, "not a list")
    assert at.warning and "Could not read" in at.warning[0].value  # not counted: still no worked answer
    assert q3.worked not in _text(at)
    _answer(at, 3, seed, "1, 2")
    assert q3.worked in _text(at)
    assert {m.label: m.value for m in at.metric}["Score"].startswith("1 of ")
    assert at.button(key="lesson_goto_3").proto.icon == ":material/cancel:"


def test_new_questions_draws_a_new_seed_and_downloads_are_offered():
    at = _lesson({"step": "2", "seed": "11"})
    before = _text(at)
    at.button(key="lesson_new_seed").click().run()
    seed = at.session_state["lesson_seed"]
    assert seed != 11 and at.query_params["seed"] in (str(seed), [str(seed)])
    assert _text(at) != before
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Worksheet (PDF)", "Answer key (PDF)", "My answers (CSV)"]


def test_the_speed_question_is_measured_when_answered():
    number = next(i for i, s in enumerate(ls.STEPS, 1) if s.exercise == "speed")
    at = _lesson({"step": str(number), "seed": "3"})
    _answer(at, number, 3, "yes")
    assert not at.exception
    replies = [x.value for x in (*at.success, *at.error)]
    assert len(replies) == 1 and "measured just now on this server's CPU" in replies[0]
    assert re.search(r"G = 1 [\d.]+ ms, G = 32 [\d.]+ ms", replies[0])


def test_home_links_the_lesson_first(app):
    app.run()
    links = app.get("page_link")
    assert links[0].proto.page == "lesson" and links[0].proto.label == "**Lesson**"


def test_the_step_link_opens_its_page_with_the_steps_state():
    at = _lesson({"step": "3", "seed": "1"})
    link = next(x for x in at.get("page_link") if "this step's state" in x.proto.label)
    assert link.proto.page == "parameters"
    assert "c_in=96" in link.proto.query_string and "c_out=144" in link.proto.query_string
    assert "lesson=3" in link.proto.query_string.split("&")  # the page it opens shows step 3 at its top


def _bar_links(at) -> dict[str, str]:
    """Return the lesson bar's links: label -> the lesson page's query string."""
    return {x.proto.label: x.proto.query_string for x in at.get("page_link") if x.proto.page == "lesson"}


@pytest.mark.parametrize("number", [1, 4, ls.count()])
def test_a_steps_page_opened_from_the_lesson_shows_the_step_and_leads_back(number):
    step = ls.STEPS[number - 1]
    at = run_page(ls.page_file(step), {**step.state, "lesson": str(number)})
    assert not at.exception, [e.value for e in at.exception]
    text = _text(at)
    assert f"**Lesson · step {number} of {ls.count()}: {step.title}**" in text and step.text in text
    links = _bar_links(at)
    assert links.pop(next(k for k in links if k.startswith("Back to this step"))) == f"step={number}"
    # the steps either side, through the lesson page (their questions come before their pages); none past the ends
    expected = {n: f"step={n}" for n in (number - 1, number + 1) if 1 <= n <= ls.count()}
    assert sorted(links.values()) == sorted(expected.values()), links
    if number < ls.count():
        assert f"Step {number + 1}: {ls.STEPS[number].title}" in links
    keys = STATE_KEYS[step.page]  # the page itself is in the step's state, as without the bar
    assert all(_as_url(at.session_state[keys[u]]) == raw for u, raw in step.state.items())


@pytest.mark.parametrize("raw, says", [("abc", "not a number"), ("999", "the lesson has steps"),
                                       ("WRONG_PAGE", "about another page")])
def test_a_bad_lesson_link_on_a_page_says_so_and_shows_the_page(raw, says):
    step = ls.STEPS[0]
    if raw == "WRONG_PAGE":
        raw = str(next(i for i, s in enumerate(ls.STEPS, 1) if s.page != step.page))
    at = run_page(ls.page_file(step), {**step.state, "lesson": raw})
    assert not at.exception and not _bar_links(at) and "Lesson · step" not in _text(at)
    notes = " ".join(c.value for c in at.caption)
    assert says in notes and "shown without a lesson step" in notes
    assert _as_url(at.session_state["conv_groups"]) == step.state["groups"]  # the page still follows its link


def test_the_inside_conv_step_shows_the_value_its_text_names():
    step = next(s for s in ls.STEPS if s.page == "inside_conv")
    at = run_page(ls.page_file(step), dict(step.state))
    assert not at.exception
    text = _text(at)
    o, i, j = (step.state[k] for k in ("sc_o", "sc_i", "sc_j"))
    assert f"y[{o}, {i}, {j}]" in step.text and f"y[{o}, {i}, {j}]: the window starts" in text
    assert f"[0, {o}, {i}, {j}]`" in text and "**4** —" in text and "= 4." in step.text  # PyTorch's value, as the step says
    assert "128 of 128 output values equal" in text
    code = "\n".join(c.value for c in at.code)
    assert f"y[{o}, {i}, {j}] = 3 + 3 + bias (−2) = 4" in code


@pytest.mark.parametrize("page, shown", [
    ("separable", ("exactly 137/1152", "8,768 / 73,728")),
    ("stacked_layers", ("**every output channel can be influenced by every input channel**",
                        "The two are equal", "nonzero at exactly 256 of 256 entries"))])
def test_the_mechanics_steps_pages_show_what_their_text_says(page, shown):
    step = next(s for s in ls.STEPS if s.page == page)
    at = run_page(ls.page_file(step), dict(step.state))
    assert not at.exception
    text = _text(at)
    assert all(x in text for x in shown), [x for x in shown if x not in text]
