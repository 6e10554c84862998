"""Shared test fixtures: the app under AppTest, a live Streamlit server and a headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
sys.path.insert(0, str(ROOT))


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


def chromium_path() -> str | None:
    """Return the Chromium to drive: $CHROMIUM, else Debian's /usr/bin/chromium or one on PATH."""
    for cand in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                 shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if cand and os.path.isfile(cand):
            return cand
    return None


def require_chromium() -> str:
    """Return Chromium's path; skip when absent locally, fail when absent in CI (CI=true)."""
    path = chromium_path()
    if path:
        return path
    msg = "Chromium not found (Debian: apt-get install -y chromium)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{msg}; browser tests must run in CI")
    pytest.skip(msg)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server():
    """Start `streamlit run app.py` on a free port for the session; yield its base URL."""
    port = _free_port()
    log = open(ROOT / ".pytest_cache" / "streamlit-server.log", "w") if (ROOT / ".pytest_cache").is_dir() else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", APP, "--server.port", str(port), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env=os.environ | {"RESNEXT_VIZ_OFFLINE": "1"})  # tests never wait on a weights download
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("streamlit server did not become healthy in 60 s")
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def browser():
    """Yield a headless Chromium driven by Playwright (Debian's binary, never a downloaded one)."""
    path = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
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
