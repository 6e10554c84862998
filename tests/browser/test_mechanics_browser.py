"""In a real browser: the step-through's Play button advances the frame, in the app and in the exported HTML."""

from resnext_viz import export as ex
from resnext_viz.conv import mech_figures as mf
from resnext_viz.conv import stepthrough as sv
from tests.conftest import wait_idle

CURRENT = "g.slider-group > text.slider-label"   # plotly's "position (i, j) = ..." label


def _play_and_compare(page, chart, tmp_path, name: str) -> None:
    before = chart.screenshot(path=str(tmp_path / f"{name}_before.png"))
    assert "(0, 0)" in chart.locator(CURRENT).text_content()
    chart.locator(".updatemenu-button", has_text="Play").click()
    page.wait_for_function(f"() => !document.querySelector('{CURRENT}').textContent.includes('(0, 0)')",
                           timeout=15_000)
    page.wait_for_timeout(700)
    after = chart.screenshot(path=str(tmp_path / f"{name}_after.png"))
    assert before != after


def test_play_advances_the_frame_in_the_app(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 2400})
    page.goto(f"{server}/inside_conv")
    wait_idle(page)
    chart = page.locator('[data-testid="stPlotlyChart"]').nth(1)      # the one-output-channel animation
    chart.scroll_into_view_if_needed()
    _play_and_compare(page, chart, tmp_path, "app")
    page.close()


def test_play_advances_the_frame_in_the_exported_html(browser, tmp_path):
    s = sv.StepSpec()
    html = tmp_path / "one_channel.html"
    html.write_bytes(ex.export(mf.one_channel(s, sv.tensors(s), 5), "html"))
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(html.as_uri())
    page.wait_for_selector(".main-svg")
    _play_and_compare(page, page.locator(".plotly-graph-div"), tmp_path, "html")
    page.close()
