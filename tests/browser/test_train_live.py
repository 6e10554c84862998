"""In a real browser: the training page's fragment polls the worker, so curves grow without any click."""

from tests.conftest import wait_idle

PROGRESS = '[data-testid="stProgress"]'


def test_run_draws_live_curves_until_done_then_stops_polling(server, browser):
    page = browser.new_page(viewport={"width": 1300, "height": 1600})
    page.goto(f"{server}/train?epochs=2&seeds=1&dataset=gratings")
    wait_idle(page)
    page.get_by_role("button", name="Run").click()
    page.locator(PROGRESS).first.wait_for(timeout=60_000)
    seen = set()
    for _ in range(360):  # no clicks from here on: only the fragment's polling can change the text
        text = page.locator(PROGRESS).first.inner_text()
        seen.add(text.split(":")[0])
        if text.startswith("Done"):
            break
        page.wait_for_timeout(500)
    assert "Training" in seen and text.startswith("Done: 6 of 6 epochs"), seen
    wait_idle(page)
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 4  # curves and the probes, drawn when done
    assert page.get_by_role("button", name="Run").is_disabled()  # the finished, shared runs are shown as they are
    page.close()
