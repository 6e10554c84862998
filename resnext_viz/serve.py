"""Start the app: the `resnext-viz` command, and the one server launcher that tests and benchmarks share.

No streamlit import here: the server is `python -m streamlit run app.py` in a child process,
run from the repository root so it reads the project's `.streamlit/config.toml`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout: app.py, pages/ and .streamlit/ live here
APP = ROOT / "app.py"
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def streamlit_command(*args: str, app: Path = APP) -> list[str]:
    """Return the command line that runs the app (or another script) with extra Streamlit options."""
    return [sys.executable, "-m", "streamlit", "run", str(app), *args]


def chromium_path() -> str | None:
    """Return the Chromium to drive: $CHROMIUM, else Debian's /usr/bin/chromium or one on PATH."""
    for cand in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                 shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if cand and os.path.isfile(cand):
            return cand
    return None


class Server:
    """`streamlit run app.py` on a free loopback port, started on __enter__ and stopped on __exit__."""

    def __init__(self, log: Path | None = None, env: dict | None = None, timeout_s: float = 90.0,
                 app: Path = APP):
        self.app = app  # another script (a benchmark's floor page) runs with the project's config too
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log, self.env, self.timeout_s = log, env, timeout_s
        self.proc: subprocess.Popen | None = None
        self.started = 0.0
        self.healthy_after_s = float("nan")

    def start(self) -> "Server":
        """Start the server and wait for /_stcore/health; raise RuntimeError if it is not healthy in time."""
        out = open(self.log, "w") if self.log else subprocess.DEVNULL
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            streamlit_command("--server.port", str(self.port), "--server.headless", "true",
                              "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", app=self.app),
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=None if self.env is None else os.environ | self.env)
        deadline = self.started + self.timeout_s
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2).status == 200:
                    self.healthy_after_s = time.perf_counter() - self.started
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the streamlit server did not become healthy in {self.timeout_s:g} s")

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 10 s)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the app in the foreground (`resnext-viz [streamlit options]`); return Streamlit's exit code."""
    if not APP.is_file():
        print(f"resnext-viz: {APP} not found; run it from a checkout (pip install -e .).", file=sys.stderr)
        return 2
    return subprocess.call(streamlit_command(*(sys.argv[1:] if argv is None else argv)), cwd=ROOT)


if __name__ == "__main__":
    raise SystemExit(main())
