"""In a real browser: nothing the app loads leaves this machine, and an unknown page says so."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.conftest import wait_idle

PAGES = ("", "parameters", "connectivity", "cardinality", "three_forms")


def test_no_request_leaves_localhost(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    for name in PAGES:
        page.goto(f"{server}/{name}")
        wait_idle(page, timeout=120_000)
    icons = page.eval_on_selector_all("link[rel~='icon']", "els => els.map(e => e.href)")
    page.close()
    hosts = {urlsplit(u).hostname for u in requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")}
    assert requests and hosts == {"127.0.0.1"}, sorted(u for u in requests if "127.0.0.1" not in u)
    assert icons and all(urlsplit(h).hostname == "127.0.0.1" for h in icons)   # the favicon is served locally


def test_unknown_page_shows_a_notice_and_home(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(f"{server}/nosuchpage")
    wait_idle(page)
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "There is no page named “nosuchpage”; here is Home." in text
    assert "Grouped convolutions and ResNeXt's cardinality" in text
    assert page.locator('[data-testid="stException"]').count() == 0
    page.goto(f"{server}/parameters")
    wait_idle(page)
    assert "no page named" not in page.locator('[data-testid="stMain"]').inner_text()
    page.close()
