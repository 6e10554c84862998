"""In a real browser: presentation mode at projector sizes, ?hide=controls, keyboard-only use, the themes."""

from __future__ import annotations

from pathlib import Path

import pytest

from resnext_viz import palette as P
from tests.conftest import wait_idle

SHOTS = Path(__file__).resolve().parents[2] / ".pytest_cache" / "screenshots"

FIRST_CHART_TOP = "() => document.querySelector('[data-testid=\"stPlotlyChart\"]').getBoundingClientRect().top"
CHART_WIDTH = "() => document.querySelector('[data-testid=\"stPlotlyChart\"]').getBoundingClientRect().width"
BODY_FONT = ("() => parseFloat(getComputedStyle(document.querySelector("
             "'[data-testid=\"stMain\"] [data-testid=\"stMarkdown\"] p')).fontSize)")


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _open(browser, url: str, width: int, height: int):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url)
    wait_idle(page)
    return page


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["1280x720", "1920x1080"])
def test_presentation_mode_fills_a_projector(server, browser, size):
    w, h = size
    normal = _open(browser, f"{server}/connectivity", w, h)
    assert normal.locator('[data-testid="stSidebar"]').is_visible()
    plain_font = normal.evaluate(BODY_FONT)
    normal.close()
    page = _open(browser, f"{server}/connectivity?present=1", w, h)
    _shot(page, f"present_{w}x{h}")
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    assert not page.locator('[data-testid="stToolbar"]').is_visible()
    top = page.evaluate(FIRST_CHART_TOP)
    assert 0 <= top < h, f"the first figure starts at {top}px, below the {h}px fold"
    assert page.evaluate(CHART_WIDTH) >= 0.9 * w           # the figure fills the width
    assert page.evaluate(BODY_FONT) >= 1.3 * plain_font     # about +40% type
    page.close()


MAIN_TOP = "k => document.querySelector('.st-key-' + k).getBoundingClientRect().top"


@pytest.mark.parametrize("path, key", [("parameters", "params_chart"), ("connectivity", "bip")])
def test_presentation_mode_puts_the_main_figure_above_the_fold(server, browser, path, key):
    plain = _open(browser, f"{server}/{path}", 1280, 720)
    plain_top = plain.evaluate(MAIN_TOP, key)
    plain.close()
    page = _open(browser, f"{server}/{path}?present=1", 1280, 720)
    _shot(page, f"present_main_{path}")
    top = page.evaluate(MAIN_TOP, key)
    assert 0 <= top < 720 - 200, f"{path}: the main figure starts at {top}px of the 720px viewport"
    assert page.locator(f".st-key-{key} [data-testid='stPlotlyChart']").is_visible()
    if path == "parameters":  # far below the fold without presentation mode: the ordering did it
        assert plain_top > 720 and top < plain_top
    page.close()


def test_presentation_mode_is_kept_across_a_page_change_and_leaving_restores(server, browser):
    page = _open(browser, f"{server}/?present=1&theme=dark", 1280, 720)
    page.locator('[data-testid="stMain"]').get_by_role("link", name="Parameter math").click()  # in-app navigation
    wait_idle(page)
    assert "/parameters" in page.url and "present=1" in page.url and "theme=dark" in page.url
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    page.get_by_role("button", name="Leave presentation").click()
    wait_idle(page)
    assert page.locator('[data-testid="stSidebar"]').is_visible() and "present=1" not in page.url
    page.close()


def _metrics(page) -> str:
    return page.locator('[data-testid="stMetric"]').all_inner_texts().__str__()


def test_hide_controls_hides_every_number_input_and_the_numbers_follow_the_url(server, browser):
    page = _open(browser, f"{server}/parameters?hide=controls&groups=8", 1280, 900)
    _shot(page, "hide_controls")
    inputs = page.locator('[data-testid="stNumberInput"]')
    assert inputs.count() >= 4 and not any(inputs.nth(i).is_visible() for i in range(inputs.count()))
    assert "9,216" in _metrics(page) and "groups=8" in page.url
    page.goto(f"{server}/parameters?hide=controls&groups=16")
    wait_idle(page)
    assert "4,608" in _metrics(page)
    page.close()


def test_keyboard_only_tab_to_groups_and_change_it(server, browser):
    page = _open(browser, f"{server}/parameters", 1280, 900)
    on_groups = ("() => { const e = document.activeElement;"
                 " const box = e && e.closest('[data-testid=\"stNumberInput\"]');"
                 " return !!box && e.tagName === 'INPUT' && box.innerText.startsWith('Groups'); }")
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate(on_groups):
            break
    assert page.evaluate(on_groups), "Tab never reached the Groups input"
    page.keyboard.press("Control+A")
    page.keyboard.type("8")
    page.keyboard.press("Enter")
    wait_idle(page)
    assert "9,216" in _metrics(page) and "groups=8" in page.url
    page.close()


@pytest.mark.parametrize("theme", ["light", "dark", "contrast"])
def test_each_theme_paints_page_and_figures(server, browser, theme):
    page = _open(browser, f"{server}/connectivity?theme={theme}&groups=8", 1280, 900)
    _shot(page, f"theme_{theme}")
    bg = page.evaluate("() => getComputedStyle(document.querySelector('[data-testid=\"stApp\"]')).backgroundColor")
    paper = page.evaluate("() => document.querySelector('[data-testid=\"stPlotlyChart\"] .main-svg')"
                          ".style.background || getComputedStyle(document.querySelector("
                          "'[data-testid=\"stPlotlyChart\"] .main-svg')).backgroundColor")
    want = {"light": "rgb(255, 255, 255)", "dark": "rgb(14, 17, 23)", "contrast": "rgb(255, 255, 255)"}[theme]
    assert bg == want and want in paper.replace("rgba", "rgb").replace(", 1)", ")")
    assert f"theme={theme}" in page.url or theme == "light"
    page.close()
    page = _open(browser, f"{server}/cardinality?theme={theme}", 1280, 900)  # Streamlit's multiselect tags
    tag = page.locator('[data-testid="stMultiSelect"] [data-tag]').first
    fg = tag.locator("span").first.evaluate("e => getComputedStyle(e).color")
    bg = tag.evaluate("e => getComputedStyle(e).backgroundColor")
    assert P.contrast_ratio(fg, bg) >= P.TEXT_MIN_CONTRAST, f"{theme} tag: {fg} on {bg}"
    page.close()


def test_a_plain_link_to_another_page_keeps_the_view(server, browser):
    page = _open(browser, f"{server}/parameters?present=1&theme=contrast", 1280, 900)
    with page.context.expect_page() as opened:  # a markdown link opens a new tab: a new session
        page.get_by_role("link", name="Cardinality, same width").click()
    new = opened.value
    wait_idle(new)
    assert "/cardinality" in new.url and "mode=fixed" in new.url
    assert "present=1" in new.url and "theme=contrast" in new.url
    assert not new.locator('[data-testid="stSidebar"]').is_visible()
    new.close()
    page.close()


def test_the_reduced_motion_preference_reaches_the_server(server, browser):
    context = browser.new_context(reduced_motion="reduce", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{server}/parameters")
    wait_idle(page)
    assert {c["name"]: c["value"] for c in context.cookies()}.get("resnext_viz_reduced_motion") == "1"
    context.close()


def test_arrow_keys_step_the_lesson_in_presentation_mode(server, browser):
    page = _open(browser, f"{server}/lesson?present=1&step=2&seed=1", 1280, 720)
    heading = page.locator('[data-testid="stMain"] h3').first
    assert heading.inner_text().startswith("2.")
    page.locator('[data-testid="stMain"] h1').click()  # focus the page, not an input
    page.keyboard.press("ArrowRight")
    wait_idle(page)
    assert heading.inner_text().startswith("3.") and "step=3" in page.url and "present=1" in page.url
    page.keyboard.press("ArrowLeft")
    wait_idle(page)
    assert heading.inner_text().startswith("2.") and not page.locator('[data-testid="stSidebar"]').is_visible()
    page.close()


def test_hide_code_hides_the_closed_code_expander_and_export(server, browser):
    page = _open(browser, f"{server}/parameters?groups=8", 1280, 900)
    assert page.get_by_text("Show the code", exact=True).is_visible()
    page.goto(f"{server}/parameters?hide=code,export&groups=8")
    wait_idle(page)
    assert page.get_by_text("Show the code", exact=True).count() == 0 or \
        not page.get_by_text("Show the code", exact=True).is_visible()
    assert page.locator('[data-testid="stPopover"]').count() == 0  # no Export menus
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 1
    page.close()


FIGURE_PAGES = ("parameters", "connectivity", "inside_conv", "stacked_layers", "separable", "cardinality",
                "three_forms", "block_builder", "resnet_vs_resnext", "group_features", "gradients", "performance_lab")


def test_every_figure_page_has_its_main_figure_above_the_fold_when_presenting(server, browser):
    from resnext_viz import lessons
    from resnext_viz.ui.present import MAIN_KEY

    with_figures = {x.url_path for x in lessons.LESSONS if x.url_path in FIGURE_PAGES}
    assert with_figures == set(FIGURE_PAGES)  # a renamed page fails here, not silently
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    low = {}
    for path in FIGURE_PAGES:
        page.goto(f"{server}/{path}?present=1")
        wait_idle(page, timeout=120_000)
        top = page.evaluate(MAIN_TOP, MAIN_KEY)
        chart = page.locator(f".st-key-{MAIN_KEY} [data-testid='stPlotlyChart']").first
        if not (0 <= top < 720 - 200 and chart.is_visible()):
            low[path] = top
            _shot(page, f"present_low_{path}")
    assert not low, f"main figure not in the top of a 1280×720 projector: {low}"
    page.close()
