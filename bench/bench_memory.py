"""Server memory: RSS after loading every page, its growth over 200 reruns, and the cost of extra sessions.

    python bench/bench_memory.py [--reruns 200] [--sessions 3]

Measured on a live `streamlit run app.py` driven by headless Chromium, reading the server
process's VmRSS from /proc. A live server rather than AppTest: what a deployment pays for is
the server process, including what AppTest does not have (per-session state kept between
reruns, websocket buffers, the forward-message cache), and AppTest's own objects would be
counted with the app's. Steps:
1. load every page listed in the sidebar navigation (the lab also runs its default sweep);
2. on the parameter page, change the group count 200 times (16 <-> 32), waiting for each
   rerun to finish, and read RSS before, halfway and after;
3. open N more browser sessions on the heaviest page present (group features when written,
   else the parameter page) and divide the RSS growth by N.
Targets (issue 4): RSS <= 700 MB with ResNeXt-50 loaded; <= 30 MB per extra session.
Prints a table and writes bench/results/memory.json.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time

from common import RESULTS, ROOT, Row, Server, launch_chromium, report

from playwright.sync_api import sync_playwright

from tests.conftest import wait_idle

RSS_TARGET_MB = 700.0
SESSION_TARGET_MB = 30.0
HEAVY_PAGES = (("pages/group_features.py", "group_features"), ("pages/gradients.py", "gradients"),
               ("pages/parameters.py", "parameters"))


def settle(server: Server, seconds: float = 1.0) -> float:
    """Return the server's RSS (MB) after letting it finish what it was doing."""
    time.sleep(seconds)
    gc.collect()
    return server.rss_mb


def visit_everything(page, server: Server) -> list[str]:
    """Open every page of the navigation (the lab also runs its default sweep); return the paths visited."""
    page.goto(server.url)
    wait_idle(page, 180_000)
    hrefs = page.eval_on_selector_all('[data-testid="stSidebarNav"] a', "links => links.map(a => a.href)")
    visited = []
    for href in dict.fromkeys(hrefs):
        page.goto(href)
        wait_idle(page, 180_000)
        if page.get_by_text("Page not found").count():
            page.keyboard.press("Escape")
        visited.append(href.removeprefix(server.url) or "/")
        if href.rstrip("/").endswith("/performance_lab"):
            page.get_by_role("button", name="Run").click()
            page.mouse.move(0, 0)
            page.wait_for_function("() => document.querySelector('[data-testid=\"stMain\"]').innerText"
                                   ".includes('Configurations timed')", timeout=120_000)
            wait_idle(page, 120_000)
    return visited


def rerun_parameters(page, server: Server, reruns: int) -> list[tuple[int, float]]:
    """Change the group count `reruns` times on the parameter page; return (rerun, RSS MB) checkpoints."""
    page.goto(f"{server.url}/parameters")
    wait_idle(page)
    groups = page.get_by_label("Groups", exact=True)
    checkpoints = [(0, settle(server))]
    for i in range(1, reruns + 1):
        g = 16 if i % 2 else 32
        groups.fill(str(g))
        groups.press("Enter")
        page.wait_for_function(
            "(g) => { const app = document.querySelector('[data-testid=\"stApp\"]');"
            " return app.dataset.testScriptState === 'notRunning'"
            " && document.querySelector('[data-testid=\"stMain\"]').innerText.includes(`Grouped weights (G = ${g})`); }",
            arg=g, timeout=30_000)
        if i in (reruns // 2, reruns):
            checkpoints.append((i, settle(server)))
    return checkpoints


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=200)
    parser.add_argument("--sessions", type=int, default=3)
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    heavy_file, heavy_url = next((f, u) for f, u in HEAVY_PAGES if (ROOT / f).is_file())
    model_loaded = heavy_file != "pages/parameters.py"
    with sync_playwright() as p, Server(RESULTS / "memory_server.log") as server:
        browser = launch_chromium(p)
        rss_start = settle(server)
        context = browser.new_context(viewport={"width": 1400, "height": 1200})
        page = context.new_page()
        t0 = time.perf_counter()
        visited = visit_everything(page, server)
        rss_all = settle(server, 2.0)
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        checkpoints = rerun_parameters(page, server, args.reruns)
        rerun_s = time.perf_counter() - t0
        before_sessions = settle(server)
        extra = []
        for _ in range(args.sessions):
            ctx = browser.new_context(viewport={"width": 1400, "height": 1200})
            pg = ctx.new_page()
            pg.goto(f"{server.url}/{heavy_url}")
            wait_idle(pg, 180_000)
            extra.append(ctx)
        after_sessions = settle(server, 2.0)
        for ctx in extra:
            ctx.close()
        context.close()
        browser.close()
    growth = checkpoints[-1][1] - checkpoints[0][1]
    per_session = (after_sessions - before_sessions) / max(1, args.sessions)
    rows = [
        Row("server RSS at start (no page opened)", rss_start, "MB"),
        Row(f"server RSS after loading every page ({len(visited)} pages)", rss_all, "MB",
            RSS_TARGET_MB if model_loaded else None,
            note=("issue 4, ResNeXt-50 loaded" if model_loaded else
                  "no page loads ResNeXt-50 yet (feature pages not written); see bench_features for the model")
            + f"; took {load_s:.0f} s"),
        Row(f"server RSS growth over {args.reruns} reruns (parameter page)", growth, "MB",
            note=" → ".join(f"{rss:.0f}" for _, rss in checkpoints) + f" MB; {rerun_s / args.reruns * 1000:.0f} ms per "
                 "rerun in the browser"),
        Row(f"server RSS per extra session ({args.sessions} on /{heavy_url})", per_session, "MB",
            SESSION_TARGET_MB if model_loaded else None,
            note="issue 4" if model_loaded else "the feature page is not written yet: measured on /parameters"),
    ]
    return report("Server memory (live server driven by headless Chromium)", rows, "memory",
                  {"visited": visited, "checkpoints": checkpoints, "sessions": args.sessions,
                   "heavy_page": heavy_file})


if __name__ == "__main__":
    sys.exit(main())
