"""Shared test fixtures: the app under AppTest, a live Streamlit server and a headless Chromium."""

from __future__ import annotations

import os

import pytest

from resnext_viz.serve import APP as _APP
from resnext_viz.serve import CHROMIUM_ARGS, ROOT, Server, chromium_path  # noqa: F401 (chromium_path: bench)

APP = str(_APP)


@pytest.fixture
def app():
    """Return a fresh AppTest of the whole app (not yet run)."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(APP, default_timeout=60)


def run_page(page: str, query: dict | None = None):
    """Return an AppTest that has run the app once and then `page` (path like 'pages/parameters.py')."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(page)
    if query:
        at.query_params.update(query)
    at.run()
    return at


def require_chromium() -> str:
    """Return Chromium's path; skip when absent locally, fail when absent in CI (CI=true)."""
    path = chromium_path()
    if path:
        return path
    msg = "Chromium not found (Debian: apt-get install -y chromium)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{msg}; browser tests must run in CI")
    pytest.skip(msg)


@pytest.fixture(scope="session")
def server():
    """Start `streamlit run app.py` on a free port for the session (offline: never a weights download); yield its URL."""
    log = ROOT / ".pytest_cache" / "streamlit-server.log" if (ROOT / ".pytest_cache").is_dir() else None
    try:
        srv = Server(log=log, env={"RESNEXT_VIZ_OFFLINE": "1"}, timeout_s=60).start()
    except RuntimeError as e:
        pytest.fail(str(e))
    yield srv.url
    srv.stop()


@pytest.fixture(scope="session")
def browser():
    """Yield a headless Chromium driven by Playwright (Debian's binary, never a downloaded one)."""
    path = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True, args=list(CHROMIUM_ARGS))
        yield b
        b.close()


IDLE_JS = ("() => { const app = document.querySelector('[data-testid=\"stApp\"]');"
           " return !!app && app.dataset.testScriptState === 'notRunning'"
           " && app.dataset.testConnectionState === 'CONNECTED'"
           " && !document.querySelector('[data-testid=\"stSkeleton\"], [data-testid=\"stAppSkeleton\"]')"
           " && Array.from(document.querySelectorAll('[data-testid=\"stPlotlyChart\"]'))"
           "        .every(c => c.querySelector('.main-svg')); }")


def wait_idle(page, timeout: float = 60_000) -> None:
    """Wait until Streamlit has finished its script runs and every Plotly chart has drawn, stably."""
    page.wait_for_timeout(400)  # let a run triggered by the last interaction start
    for _ in range(2):          # idle twice, 500 ms apart: a rerun (st.rerun, switch_page) can follow a run
        page.wait_for_function(IDLE_JS, timeout=timeout)
        page.wait_for_timeout(500)
    page.wait_for_function(IDLE_JS, timeout=timeout)
