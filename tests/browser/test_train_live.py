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


def _open_tab(page) -> str:
    return page.locator('[data-testid="stTab"][aria-selected="true"]').first.inner_text()


def test_the_probe_tab_follows_the_link_is_written_back_and_survives_a_page_change(server, browser):
    import re

    page = browser.new_page(viewport={"width": 1300, "height": 1600})
    page.goto(f"{server}/train?preset=lr_sweep&epochs=1&seeds=1&probe=lr")  # a claim's link: its probe open
    wait_idle(page)
    run = page.get_by_role("button", name="Run")
    if run.is_enabled():  # another test of this server may have trained this configuration already
        run.click()
    page.locator('[data-testid="stTab"]').first.wait_for(timeout=120_000)
    wait_idle(page)
    assert _open_tab(page) == "Learning rates"
    assert page.get_by_text(re.compile(r"^✕ diverged")).is_visible()  # the sweep's own caption, in the open tab

    page.get_by_role("tab", name="Input noise").click()
    page.wait_for_url(re.compile(r"[?&]probe=noise\b"))  # a tab switch reruns only the fragment: still written
    wait_idle(page)
    page.get_by_role("link", name="Home").first.click()
    page.wait_for_url(re.compile(r"/$|/\?"))
    wait_idle(page)
    page.get_by_role("link", name="Train it yourself").first.click()
    page.locator('[data-testid="stTab"]').first.wait_for(timeout=60_000)
    wait_idle(page)
    assert _open_tab(page) == "Input noise" and re.search(r"[?&]probe=noise\b", page.url)
    page.reload()
    page.locator('[data-testid="stTab"]').first.wait_for(timeout=60_000)
    wait_idle(page)
    assert _open_tab(page) == "Input noise"  # a reload is a new session: the URL alone brings it back
    page.close()
