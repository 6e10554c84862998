"""The guided lesson's page glue: step and seed in the URL, the timeline, Prev / Next, the exercise, downloads.

The steps, questions and checkers are pure (resnext_viz.lesson); this module only keeps
the learner's place and answers in the session. Nothing is stored on the server beyond it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import streamlit as st

from resnext_viz import lessons
from resnext_viz.lesson import exercises as ex
from resnext_viz.lesson import steps as ls
from resnext_viz.lesson import worksheet as ws

from .state import request_run, run_requested

SEED_MAX = 999_999
LESSON_PARAM = "lesson"  # on a step's page: the step it was opened from (lesson_bar)
LESSON_PAGE = lessons.by_path("lesson").file
_WRITTEN = "_lesson_written"  # URL name -> the text this session last wrote there


def _new_seed() -> int:
    return random.SystemRandom().randint(1, SEED_MAX)


@dataclass
class Attempt:
    """One question's state in this session: wrong tries, the result once decided, the last reply."""

    wrong: int = 0
    result: str | None = None   # 'right' once answered right, 'wrong' after two wrong tries
    answer: str = ""
    message: str = ""
    worked: str = ""
    tries: int = 0
    status: str = ""            # the last reply's: 'right', 'wrong' or 'unreadable'



def _progress() -> dict:
    return st.session_state.setdefault("lesson_progress", {})


def _attempt(seed: int, step: ls.Step) -> Attempt:
    return _progress().setdefault((seed, step.id), Attempt())


# ---------------------------------------------------------------- where the learner is


def _foreign(name: str) -> str | None:
    raw = st.query_params.get(name)
    written = st.session_state.setdefault(_WRITTEN, {})
    return None if raw is None or written.get(name) == raw else raw


def lesson_position() -> tuple[int, int, list[str]]:
    """Return (step number, seed, notices): from a link when it carries them, else this session's, else 1 and new."""
    ss = st.session_state
    notices = []
    raw = _foreign("step")
    if raw is not None:
        n, why = ls.parse_step(raw)
        ss["lesson_step"] = n
        if why:
            notices.append(why + " Showing step 1.")
    raw = _foreign("seed")
    if raw is not None:
        try:
            seed = int(raw.strip())
            if not 0 <= seed <= SEED_MAX:
                raise ValueError
            ss["lesson_seed"] = seed
        except ValueError:
            ss.setdefault("lesson_seed", _new_seed())
            notices.append(f"The link's seed '{raw}' is not a whole number from 0 to {SEED_MAX:,}; using seed "
                           f"{ss['lesson_seed']} instead.")
    step = min(max(ss.get("lesson_step", 1), 1), ls.count())
    seed = ss.setdefault("lesson_seed", _new_seed())
    ss["lesson_step"] = step
    for name, value in (("step", step), ("seed", seed)):
        ss[_WRITTEN][name] = str(value)
        if st.query_params.get(name) != str(value):
            st.query_params[name] = str(value)
    return step, seed, notices


def _go(n: int) -> None:
    st.session_state["lesson_step"] = min(max(n, 1), ls.count())


def lesson_notices(notices: list[str]) -> None:
    """Say plainly what was wrong with the link, and offer step 1."""
    for text in notices:
        st.warning(text, icon=":material/link_off:")
    if notices:
        st.button("Go to step 1", key="lesson_first", on_click=_go, args=(1,), icon=":material/first_page:")


def lesson_timeline(step: int, seed: int) -> None:
    """Draw the steps as a timeline, the current one highlighted and answered ones marked; a click jumps there."""
    st.caption("Steps")
    for i, s in enumerate(ls.STEPS, 1):
        a = _progress().get((seed, s.id))
        marks = {"right": ":material/check_circle:", "wrong": ":material/cancel:"}
        mark = marks.get(a.result if a else None, ":material/radio_button_unchecked:")
        st.button(f"{i}. {s.title}", key=f"lesson_goto_{i}", on_click=_go, args=(i,),
                  type="primary" if i == step else "tertiary", icon=mark if s.exercise else ":material/visibility:",
                  width="stretch", wrap=True, help="You are here" if i == step else None)


def lesson_nav(step: int) -> None:
    """Draw Prev / Next (keyboard ← and →) and where this step is in the lesson."""
    c1, c2, c3 = st.columns([1, 3, 1], vertical_alignment="center")
    c1.button("Prev", key="lesson_prev", icon=":material/arrow_back:", on_click=_go, args=(step - 1,),
              disabled=step == 1, shortcut="Left", width="stretch", help="Previous step (← on the keyboard)")
    c2.progress(step / ls.count(), text=f"Step {step} of {ls.count()}")
    c3.button("Next", key="lesson_next", icon=":material/arrow_forward:", icon_position="right", on_click=_go,
              args=(step + 1,), disabled=step == ls.count(), shortcut="Right", width="stretch",
              help="Next step (→ on the keyboard)")


def lesson_step(step: ls.Step) -> bool:
    """Show the step's text and a link to its page in its state; False (with a message) if the page is missing."""
    problem = ls.page_problem(step)
    if problem:
        st.error(problem + " The rest of the lesson still works.", icon=":material/error:")
        st.button("Go to step 1", key="lesson_missing_first", on_click=_go, args=(1,), icon=":material/first_page:")
        return False
    st.markdown(step.text)
    number = ls.STEPS.index(step) + 1
    st.page_link(ls.page_file(step), label=f"Open **{lessons.by_path(step.page).title}** in this step's state",
                 icon=":material/open_in_new:", query_params={**step.state, LESSON_PARAM: str(number)})
    st.caption("The page opens with the settings this step describes and this step's text at its top; come back "
               "from there, or with **Lesson** in the navigation (your place and score are kept).")
    return True


def _to_step(n: int, label: str, icon: str, where=st) -> None:
    where.page_link(LESSON_PAGE, label=label, icon=icon, query_params={"step": str(n)}, width="stretch")


def lesson_bar(page: str) -> None:
    """On a step's page opened from the lesson (?lesson=N): the step's text above the page, and links back to the
    lesson at this step and the steps either side.

    The links lead to the lesson page, not to the next page directly: a step asks its question before its page
    shows the answer. A link whose step is not a step, or not this page's, says so and leaves the page as it is.
    """
    raw = st.query_params.get(LESSON_PARAM)
    if raw is None or page == "lesson":
        return
    n, why = ls.parse_step(raw)
    step = ls.STEPS[n - 1]
    if why or step.page != page:
        st.caption((why or f"The link names lesson step {n}, which is about another page.") + " This page is shown "
                   "without a lesson step.")
        return
    with st.container(border=True, key="lesson_bar"):
        st.markdown(f"**Lesson · step {n} of {ls.count()}: {step.title}**")
        st.markdown(step.text)
        c = st.columns(3)
        if n > 1:
            _to_step(n - 1, f"Step {n - 1}", ":material/arrow_back:", c[0])
        _to_step(n, "Back to this step in the lesson" + (" (its question)" if step.exercise else ""),
                 ":material/school:", c[1])
        if n < ls.count():
            _to_step(n + 1, f"Step {n + 1}: {ls.STEPS[n].title}", ":material/arrow_forward:", c[2])


# ---------------------------------------------------------------- the exercise


def _check(seed: int, step: ls.Step, q: ex.Question) -> None:
    a = _attempt(seed, step)
    text = st.session_state.get(f"lesson_answer_{seed}_{step.id}", "")
    if q.kind == "speed":
        wait = st.empty()
        with st.spinner(f"Measuring G = 1 and G = 32 on this machine (at most {ex.SPEED_BUDGET_S:g} s)…"):
            verdict = ex.check(q, text, lambda p: ex.measure_speed(p, on_wait=lambda: wait.info(
                "Another session is measuring on this server; this measurement starts when it finishes.",
                icon=":material/hourglass_top:")))
        wait.empty()
    else:
        verdict = ex.check(q, text)
    a.message, a.status = verdict.message, verdict.status
    if verdict.status == "unreadable":
        return
    a.tries += 1
    if a.result is None:
        a.answer = text
        if verdict.right:
            a.result = "right"
        else:
            a.wrong += 1
            if a.wrong >= 2:
                a.result = "wrong"
    if verdict.worked and (verdict.right or a.wrong >= 2):
        a.worked = verdict.worked


def lesson_exercise(seed: int, number: int, step: ls.Step) -> None:
    """Ask the step's question; check the answer; a hint after one wrong try, the worked answer after two."""
    if not step.exercise:
        st.caption("No question at this step: look, and move on with **Next** (or →).")
        return
    q = ex.question(seed, step.id, step.exercise)
    key = f"lesson_answer_{seed}_{step.id}"
    if run_requested(f"lesson_check_{number}"):
        _check(seed, step, q)
    a = _attempt(seed, step)
    with st.container(border=True):
        st.markdown(f"**Predict, then check.** {q.prompt}")
        with st.form(f"lesson_form_{number}", border=False, enter_to_submit=True):
            st.text_input(f"Your answer ({q.form})", key=key, persist_state="session")
            st.form_submit_button("Check", type="primary", icon=":material/task_alt:",
                                  on_click=request_run, args=(f"lesson_check_{number}",))
        if a.message:
            {"right": st.success, "wrong": st.error}.get(a.status, st.warning)(a.message)
        if a.wrong >= 1 and a.result != "right":
            st.info(f"**Hint.** {q.hint}", icon=":material/lightbulb:")
        if a.worked and a.result != "right":
            st.markdown(f"**Worked answer:** {a.worked}.")
        if a.result == "wrong":
            st.caption("Two wrong tries: this question counts as missed. Try it again for practice, or move on.")


def lesson_score(seed: int) -> tuple[int, int, int]:
    """Return (right, decided, questions) for this seed in this session."""
    qs = [s for s in ls.STEPS if s.exercise]
    got = [_progress().get((seed, s.id)) for s in qs]
    return (sum(1 for a in got if a and a.result == "right"), sum(1 for a in got if a and a.result), len(qs))


def _records(seed: int) -> list[dict]:
    out = []
    for i, s in enumerate(ls.STEPS, 1):
        a = _progress().get((seed, s.id))
        if s.exercise and a and a.result:
            out.append(dict(step=i, answer=a.answer, result=a.result, attempts=a.tries))
    return out


@st.cache_data(show_spinner=False, max_entries=64)
def _pdfs(seed: int) -> tuple[bytes, bytes]:
    return ws.worksheet_pdf(seed), ws.answer_key_pdf(seed)


def _new_questions() -> None:
    st.session_state["lesson_seed"] = _new_seed()


def lesson_downloads(seed: int) -> None:
    """Draw the score, the seed with 'new questions', and the worksheet, key and answers downloads, in one row."""
    right, decided, total = lesson_score(seed)
    c = st.columns([1, 2, 1.2], vertical_alignment="center")
    c[0].metric("Score", f"{right} of {total}", help=f"{decided} of {total} questions decided in this session "
                "(right, or missed after two wrong tries). Kept in this browser session only.")
    c[1].markdown(f"Seed **{seed}**: the same seed gives everyone the same questions, here and on the worksheet.")
    c[2].button("New questions", key="lesson_new_seed", icon=":material/casino:", on_click=_new_questions,
                help="Draw a new seed; your answers to this seed stay in its CSV.", width="stretch")
    sheet, answer_key = _pdfs(seed)
    c = st.columns(3)
    c[0].download_button("Worksheet (PDF)", sheet, file_name=f"resnext-viz-worksheet-{seed}.pdf",
                         mime="application/pdf", key="lesson_sheet", on_click="ignore",
                         icon=":material/description:", width="stretch")
    c[1].download_button("Answer key (PDF)", answer_key, file_name=f"resnext-viz-answer-key-{seed}.pdf",
                         mime="application/pdf", key="lesson_key", on_click="ignore", icon=":material/key:",
                         width="stretch")
    c[2].download_button("My answers (CSV)", ws.answers_csv(seed, _records(seed)),
                         file_name=f"lesson-answers-{seed}.csv", mime="text/csv", key="lesson_csv",
                         on_click="ignore", icon=":material/download:", width="stretch")
