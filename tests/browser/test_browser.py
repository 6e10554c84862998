"""In a real browser (Playwright + Debian's Chromium): the app loads, the numbers follow the widgets."""

from tests.conftest import wait_idle


def test_parameter_page_updates_when_groups_change(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 2000})
    page.goto(f"{server}/parameters")
    wait_idle(page)
    main = page.locator('[data-testid="stMain"]')
    assert "2,304" in main.inner_text() and "96.9%" in main.inner_text()
    groups = page.get_by_label("Groups", exact=True)
    groups.fill("16")
    groups.press("Enter")
    page.wait_for_function("() => document.querySelector('[data-testid=\"stMain\"]').innerText.includes('4,608')",
                           timeout=30_000)
    wait_idle(page)
    text = main.inner_text()
    assert "4,608" in text and "93.8%" in text
    assert "groups=16" in page.url                       # the view is shareable
    page.screenshot(path=str(tmp_path / "parameters_g16.png"))
    assert (tmp_path / "parameters_g16.png").stat().st_size > 10_000
    page.close()


def test_shared_link_reopens_the_view_and_connectivity_draws(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 2000})
    page.goto(f"{server}/connectivity?c_in=2048&c_out=2048&groups=32&highlight=3")
    wait_idle(page)
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "Group 3 owns output channels [192, 256)" in text
    assert "one band from its input block" in text
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 3
    page.screenshot(path=str(tmp_path / "connectivity_2048.png"))
    page.close()
