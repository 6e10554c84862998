"""In a real browser: sections built only while open (Export menus, tables) appear when opened and work."""

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


def test_connectivity_table_is_built_when_opened_and_follows_the_groups(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.goto(f"{server}/connectivity?groups=4")
    wait_idle(page)
    grids = page.locator('[data-testid="stMain"] [data-testid="stDataFrame"]')
    assert grids.count() == 0  # closed: nothing sent
    page.get_by_text("The groups as a table").click()
    wait_idle(page)
    assert grids.count() == 1 and grids.first.is_visible()
    box = page.get_by_label("Groups", exact=True)
    box.fill("8")
    box.press("Enter")
    wait_idle(page)
    assert grids.count() == 1  # still open after the change of G
    rows = grids.first.locator("[aria-rowcount]").first.get_attribute("aria-rowcount")
    assert rows == "9", rows  # the header and one row per group, G = 8
    page.close()
