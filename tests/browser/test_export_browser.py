"""In a real browser: a figure's Export menu makes its buttons when opened, and a click downloads the figure."""

from __future__ import annotations

from tests.conftest import wait_idle

DOWNLOADS = '[data-testid="stDownloadButton"]'


def test_export_menu_opens_with_its_formats_and_downloads_the_figure(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1600}, accept_downloads=True)
    page.goto(f"{server}/parameters")
    wait_idle(page)
    assert page.locator(DOWNLOADS).count() == 0  # closed menus send no buttons (each would change every run)
    page.get_by_role("button", name="Export").first.click()
    wait_idle(page)
    for fmt in ("PNG", "SVG", "PDF", "HTML"):
        assert page.get_by_role("button", name=fmt, exact=True).is_visible(), fmt
    with page.expect_download(timeout=60_000) as dl:
        page.get_by_role("button", name="HTML", exact=True).click()
    download = dl.value
    assert download.suggested_filename == "params_vs_groups.html"
    html = open(download.path(), encoding="utf-8").read()
    assert "Parameters and MACs fall as 1\\u002fG" in html  # the figure's title, as plotly escapes "/" in JSON
    assert "Plotly.newPlot" in html and len(html) > 3_000_000  # plotly.js inlined: opens offline
    page.keyboard.press("Escape")  # closing it reruns the page without the buttons again
    wait_idle(page)
    assert page.locator(DOWNLOADS).count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()
