"""In a real browser: the lesson moves by keyboard (→ / ←), checks answers, shows the hint, keeps the score."""

from __future__ import annotations

import re

from resnext_viz.lesson import exercises as ex
from resnext_viz.lesson import steps as ls
from tests.conftest import wait_idle

SEED = 123


def _main(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def _heading(page) -> str:
    return page.locator('[data-testid="stMain"] h3').first.inner_text()


def _question(number: int) -> ex.Question:
    step = ls.STEPS[number - 1]
    return ex.question(SEED, step.id, step.exercise)


def _wrong(q: ex.Question) -> str:
    return str(q.expected + 1) if isinstance(q.expected, int) else "0"


def test_lesson_by_keyboard_right_and_wrong_answers_and_the_hint(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(f"{server}/lesson?step=1&seed={SEED}")
    wait_idle(page)
    assert _heading(page).startswith("1. ")
    for n in (2, 3, 4):
        page.keyboard.press("ArrowRight")
        wait_idle(page)
        assert _heading(page).startswith(f"{n}. "), _heading(page)
    assert re.search(r"[?&]step=4\b", page.url) and f"seed={SEED}" in page.url

    box = page.get_by_label(re.compile(r"^Your answer"))
    q4 = _question(4)
    box.fill("0")  # output channel o is never fed by input channel 0 alone
    box.press("ArrowLeft")  # inside the answer box the arrows move the cursor, not the lesson
    box.press("Enter")
    wait_idle(page)
    assert _heading(page).startswith("4. ")
    text = _main(page)
    assert "Not quite." in text and "Hint." in text
    assert q4.hint.split("**")[0].strip() in text

    box.evaluate("e => e.blur()")
    page.keyboard.press("ArrowRight")
    wait_idle(page)
    assert _heading(page).startswith("5. ")
    q5 = _question(5)  # the next step with a question
    box = page.get_by_label(re.compile(r"^Your answer"))
    box.fill(ex.answer_text(q5))
    box.press("Enter")
    wait_idle(page)
    text = _main(page)
    assert "Right: " in text and q5.worked.split(";")[0] in text
    assert "1 of " in page.locator('[data-testid="stMetric"]').first.inner_text()
    shot = tmp_path / "lesson.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()


def test_a_steps_page_keeps_the_step_on_top_and_leads_back_to_the_next_question(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(f"{server}/lesson?step=3&seed={SEED}")
    wait_idle(page)
    page.get_by_role("link", name=re.compile("in this step's state")).click()
    page.wait_for_url(re.compile(r"/parameters\?.*lesson=3"))
    wait_idle(page)
    bar = page.locator(".st-key-lesson_bar")
    step = ls.STEPS[2]
    assert f"Lesson · step 3 of {ls.count()}: {step.title}" in bar.inner_text()
    title = page.locator('[data-testid="stMain"] h1').first
    assert bar.bounding_box()["y"] < title.bounding_box()["y"]  # the step's text comes first, above the page
    page.screenshot(path=str(tmp_path / "lesson_bar.png"))

    groups = page.get_by_label("Groups", exact=True)  # the learner changes the view: the step stays
    groups.fill("2")
    groups.press("Enter")
    wait_idle(page)
    assert re.search(r"[?&]groups=2\b", page.url) and re.search(r"[?&]lesson=3\b", page.url)
    assert bar.is_visible()

    page.get_by_role("link", name=re.compile(r"^Step 4: ")).click()
    page.wait_for_url(re.compile(r"/lesson\?"))
    wait_idle(page)
    assert _heading(page).startswith("4. ") and f"seed={SEED}" in page.url  # same seed, so the same questions
    assert page.get_by_label(re.compile(r"^Your answer")).is_visible() == bool(ls.STEPS[3].exercise)
    page.close()
