"""The app as a learner feels it: each interaction, change → page idle and every chart drawn, beside the floor page.

    python bench/bench_browser.py [--rounds 8] [--cold 3]

Starts the app (offline: seeded weights, never a download) and bench/floor_app.py (one number input,
one line of text, one small Plotly chart) as two servers, and drives both from one headless Chromium
(Debian's). Every round of an interaction makes the change on the app's page, then the same kind of change
on the floor page (type a number, press Enter), so both see the same machine load; the ratio of the two
medians is the figure the issue bounds. The clock runs in the page: from the commit (Enter, or the click on
an option) until the script run has ended and nothing in the main area has changed for QUIET_MS (so every
chart has drawn); the time of the last change is what counts. One warm-up round is not counted, so "cached"
means cached. "First time for a layer" picks a layer no round has used yet and records whether a spinner
or progress bar was shown while it ran. Cold start: `streamlit run` (a new server process) until the first
page's title and first chart are visible, and until it is fully drawn.
Prints a table and writes bench/results/browser.json. The load average is printed with it: other programs
on the machine move every time, the ratio less so.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

from common import RESULTS, ROOT, Row, Server, launch_chromium, report

from playwright.sync_api import sync_playwright

QUIET_MS = 400
FLOOR = ROOT / "bench" / "floor_app.py"
ENV = {"RESNEXT_VIZ_OFFLINE": "1"}

# One observer per page: the time of the last change in the main area, when the run ended, what it showed.
OBSERVE_JS = """() => {
  if (window.__b) return;
  const b = window.__b = {last: 0, idleAt: 0, sawRun: false, sawBusy: false, busyText: '', named: false, frames0: 0};
  const ws = () => window.__ws || {frames: 0, at: 0};
  b.ran = () => b.sawRun || ws().frames > b.frames0;          // the DOM showed a run, or the server sent something
  b.end = () => Math.max(b.last, b.idleAt, b.ran() ? ws().at : 0);
  const app = document.querySelector('[data-testid="stApp"]');
  // A spinner or progress bar names its work; the header's status widget only says "Running…" / "Stop".
  // Either counts as shown; the text kept is a spinner's or a progress bar's where one appeared.
  const busy = () => {
    const named = document.querySelector('[data-testid="stSpinner"], [data-testid="stProgress"]');
    const el = named || document.querySelector('[data-testid="stStatusWidget"]');
    if (!el) return;
    b.sawBusy = true;
    const text = (el.innerText || '').trim().slice(0, 120);
    if (text && (named ? !b.named : !b.busyText)) { b.busyText = text; b.named = b.named || !!named; }
  };
  new MutationObserver((ms) => {
    if (ms.some(m => m.oldValue === 'running') || app.dataset.testScriptState === 'running') b.sawRun = true;
    if (app.dataset.testScriptState === 'running') busy(); else b.idleAt = performance.now();
  }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state'], attributeOldValue: true});
  new MutationObserver((ms) => {
    const main = document.querySelector('[data-testid="stMain"]');
    if (ms.some(m => main && main.contains(m.target))) b.last = performance.now();
    if (b.sawRun) busy();
  }).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}"""
# Every message the server sends, counted: a run so short that React never draws the "running" state (a fast CPU
# on the floor page: the run's start and end arrive in one render batch) still shows as a run by its frames.
WS_JS = """(() => {
  const Orig = window.WebSocket;
  window.__ws = {frames: 0, at: 0};
  window.WebSocket = class extends Orig {
    constructor(...a) {
      super(...a);
      this.addEventListener('message', () => { window.__ws.frames += 1; window.__ws.at = performance.now(); });
    }
  };
})();"""
ARM_JS = "() => { const b = window.__b; b.sawRun = false; b.sawBusy = false; b.busyText = ''; b.named = false;" \
         " b.last = 0;" \
         " b.frames0 = window.__ws ? window.__ws.frames : 0; return performance.now(); }"
SETTLED_JS = """(quiet) => {
  const b = window.__b, app = document.querySelector('[data-testid="stApp"]');
  if (!b.ran() || app.dataset.testScriptState !== 'notRunning' || app.dataset.testConnectionState !== 'CONNECTED')
    return false;
  if (document.querySelector('[data-testid="stSkeleton"], [data-testid="stAppSkeleton"]')) return false;
  if (!Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]')).every(c => c.querySelector('.main-svg')))
    return false;
  return performance.now() - b.end() > quiet;
}"""


def settle(page, timeout_ms: float = 180_000) -> bool:
    """Wait until the page's run has ended and its main area has been still for QUIET_MS; False if no run began."""
    try:  # a change the browser dropped (rare, under load) starts no run: give up on that sample, not the whole run
        page.wait_for_function("() => window.__b.ran()", timeout=15_000, polling=50)
    except Exception:
        return False
    page.wait_for_function(SETTLED_JS, arg=QUIET_MS, timeout=timeout_ms, polling=50)
    return True


def timed(page, prepare: Callable[[], None], commit: Callable[[], None]) -> dict:
    """Prepare a change (type, open a list), then time commit → settled in the page's clock; return ms and busy."""
    page.evaluate(OBSERVE_JS)
    prepare()
    t0 = page.evaluate(ARM_JS)
    commit()
    page.mouse.move(2, 2)  # no hover label on a chart while it settles
    if not settle(page):
        print(f"  (no script run after the change on {page.url}: sample dropped)", flush=True)
        return {"ms": float("nan"), "busy": False, "busy_text": ""}
    b = page.evaluate("() => ({end: window.__b.end(), busy: window.__b.sawBusy,"
                      " text: window.__b.busyText})")
    return {"ms": b["end"] - t0, "busy": b["busy"], "busy_text": b["text"]}


# ---------------------------------------------------------------- the changes


def median(xs) -> float:
    xs = list(xs)
    return statistics.median(xs) if xs else float("nan")


def number_change(label: str, value) -> tuple[Callable, Callable]:
    def make(page):
        box = page.get_by_label(label, exact=True)

        def prepare():  # under load an Enter pressed before the widget took the typed text commits nothing
            box.fill(str(value))
            page.wait_for_function("(v) => document.activeElement && document.activeElement.value === v",
                                   arg=str(value), timeout=10_000)
            page.wait_for_timeout(100)
        return prepare, (lambda: box.press("Enter"))
    return make


def select_change(label: str, option: str, exact: bool = True) -> Callable:
    """Open a selectbox and type to filter it (prepare); click the option (commit)."""
    def make(page):
        def prepare():
            page.get_by_label(label, exact=True).first.click()
            page.keyboard.type(option.split(" · ")[0])
        def commit():
            opts = page.get_by_role("option", name=option, exact=True) if exact else \
                page.get_by_role("option").filter(has_text=option)
            opts.first.click()
        return prepare, commit
    return make


@dataclass
class Interaction:
    name: str
    path: str                     # URL path (with query) of the app page
    title: str                    # text that shows the page is there
    changes: list[Callable]       # each round cycles through these
    target_ratio: float | None = None
    target_s: float | None = None  # an absolute bound (first-time computations)
    first_time: bool = False       # each round a change never made before (no warm-up round)
    samples: list = field(default_factory=list)
    floor: list = field(default_factory=list)


LAYERS = [f"layer{s}.{b}.conv2" for s, n in ((1, 3), (2, 4), (3, 6), (4, 3)) for b in range(n)]
FRESH = [x for x in LAYERS if x not in ("layer1.0.conv2", "layer1.1.conv2")]  # the cached rows use those two


def interactions(rounds: int) -> list[Interaction]:
    first = min(rounds, len(FRESH) // 2)
    grads = "/gradients?target=class"
    return [
        Interaction("Parameter math: change groups", "/parameters", "Parameter math",
                    [number_change("Groups", 16), number_change("Groups", 32)], 1.5),
        Interaction("Connectivity: change groups", "/connectivity", "Connectivity",
                    [number_change("Groups", 16), number_change("Groups", 32)], 2),
        Interaction("Connectivity: highlight a group", "/connectivity", "Connectivity",
                    [select_change("Highlight a group", "group 1"), select_change("Highlight a group", "group 2")], 2),
        Interaction("Cardinality: change the feature-map size", "/cardinality", "Cardinality",
                    [number_change("Feature map H = W", 28), number_change("Feature map H = W", 56)], 2),
        Interaction("Block builder: change the batch (no timing run)", "/block_builder", "Block builder",
                    [number_change("Batch", 4), number_change("Batch", 8)], 2),
        Interaction("ResNet vs ResNeXt: change the image size", "/resnet_vs_resnext", "ResNet",
                    [number_change("Image size", 256), number_change("Image size", 224)], 2),
        Interaction("Group features: change layer, cached", "/group_features", "Group features",
                    [select_change("Grouped convolution", "layer1.1.conv2", exact=False),
                     select_change("Grouped convolution", "layer1.0.conv2", exact=False)], 2.5),
        Interaction("Gradients: change group, cached", "/gradients", "Gradients",
                    [select_change("Output group g", "group 1"), select_change("Output group g", "group 0")], 2.5),
        Interaction("Gradients: change layer, cached", "/gradients", "Gradients",
                    [select_change("Grouped convolution", "layer1.1.conv2", exact=False),
                     select_change("Grouped convolution", "layer1.0.conv2", exact=False)], 2.5),
        Interaction("Group features: first time for a layer", "/group_features", "Group features",
                    [select_change("Grouped convolution", x, exact=False) for x in FRESH[:first]],
                    target_s=2, first_time=True),
        Interaction("Gradients (class score): first time for a layer", grads, "Gradients",
                    [select_change("Grouped convolution", x, exact=False) for x in FRESH[::-1][:first]],
                    target_s=2, first_time=True),
    ]


def open_page(context, url: str, title: str):
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("(t) => { const a = document.querySelector('[data-testid=\"stApp\"]');"
                           " const m = document.querySelector('[data-testid=\"stMain\"]');"
                           " return a && m && a.dataset.testScriptState === 'notRunning' && m.innerText.includes(t); }",
                           arg=title, timeout=180_000)
    page.wait_for_timeout(1000)
    page.evaluate(OBSERVE_JS)
    return page


def run_interactions(browser, app_url: str, floor_url: str, rounds: int, only: str = "") -> list[Interaction]:
    ctx_app = browser.new_context(viewport={"width": 1400, "height": 1200})
    ctx_floor = browser.new_context(viewport={"width": 1400, "height": 1200})
    for ctx in (ctx_app, ctx_floor):
        ctx.add_init_script(WS_JS)
    floor = open_page(ctx_floor, floor_url, "Floor page")
    floor_values = iter(range(10**9))
    done = []
    for it in [x for x in interactions(rounds) if only.lower() in x.name.lower()]:
        page = open_page(ctx_app, app_url + it.path, it.title)
        n = len(it.changes) if it.first_time else rounds
        warm = 0 if it.first_time else len(it.changes)
        for i in range(warm + n):
            prep, commit = it.changes[i % len(it.changes)](page)
            sample = timed(page, prep, commit)
            fv = 20 + next(floor_values) % 500
            fprep, fcommit = number_change("Floor value", fv)(floor)
            fsample = timed(floor, fprep, fcommit)
            if i >= warm and sample["ms"] == sample["ms"]:
                it.samples.append(sample)
            if i >= warm and fsample["ms"] == fsample["ms"]:
                it.floor.append(fsample["ms"])
        page.close()
        med = median(s["ms"] for s in it.samples)
        fmed = median(it.floor)
        print(f"  {it.name:55} {med:8.0f} ms   floor {fmed:6.0f} ms   × {med / fmed:5.2f}", flush=True)
        done.append(it)
    ctx_app.close()
    ctx_floor.close()
    return done


COLD = (("parameters", "Parameter math"), ("group_features", "Group features"))
VISIBLE_JS = """(title) => {
  const h = Array.from(document.querySelectorAll('[data-testid="stMain"] h1')).some(e => e.innerText.includes(title));
  return h && !!document.querySelector('[data-testid="stMain"] [data-testid="stPlotlyChart"] .main-svg');
}"""


def cold_start(browser, path: str, title: str) -> dict:
    """Return seconds from `streamlit run` to the title and a first chart visible, and to fully drawn."""
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    page = context.new_page()
    server = Server(RESULTS / f"browser_cold_{path}.log", env=ENV)
    try:
        server.start()
        page.goto(f"{server.url}/{path}")
        page.wait_for_function(VISIBLE_JS, arg=title, timeout=180_000, polling=50)
        visible = time.perf_counter() - server.started
        page.evaluate(OBSERVE_JS)
        page.evaluate("() => { window.__b.sawRun = true; }")  # the first run is already under way
        settle(page)
        quiet_since = page.evaluate("() => performance.now() - window.__b.end()")
        drawn = time.perf_counter() - server.started - quiet_since / 1000
        return {"health_s": server.healthy_after_s, "visible_s": visible, "drawn_s": max(drawn, visible)}
    finally:
        context.close()
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8, help="timed rounds of each interaction (--quick: 2)")
    parser.add_argument("--cold", type=int, default=3, help="cold starts of each page")
    parser.add_argument("--only", default="", help="only the interactions whose name contains this text")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold starts")
    parser.add_argument("--cold-pages", nargs="*", default=[c[0] for c in COLD], help="the pages to cold-start")
    parser.add_argument("--quick", action="store_true", help="2 rounds, 1 cold start: a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.cold = 2, 1
    RESULTS.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    rows, raw = [], {"interactions": {}, "cold_start": {}}
    with sync_playwright() as p:
        browser = launch_chromium(p)
        with Server(RESULTS / "browser_app.log", env=ENV, timeout_s=120) as app, \
                Server(RESULTS / "browser_floor.log", app=FLOOR, timeout_s=120) as floor:
            for it in run_interactions(browser, app.url, floor.url, args.rounds, args.only):
                med = median(s["ms"] for s in it.samples)
                fmed = median(it.floor)
                busy = sum(s["busy"] for s in it.samples)
                texts = sorted({s["busy_text"] for s in it.samples if s["busy_text"]})
                raw["interactions"][it.name] = {"app_ms": [s["ms"] for s in it.samples], "floor_ms": it.floor,
                                                "busy_shown": busy, "busy_texts": texts}
                note = f"median {med:.0f} ms vs floor {fmed:.0f} ms, {len(it.samples)} rounds"
                if it.target_s is not None:
                    rows.append(Row(f"{it.name} (seconds)", med / 1000, "s", it.target_s,
                                    note=f"{note}; spinner/progress shown in {busy} of {len(it.samples)}"
                                         + (f" ({texts[0]!r})" if texts else "")))
                rows.append(Row(f"{it.name} (÷ floor)", med / fmed, "×", it.target_ratio,
                                note="" if it.target_s is not None else note))
        for path, title in [c for c in COLD if c[0] in args.cold_pages and not args.no_cold]:
            runs = [cold_start(browser, path, title) for _ in range(args.cold)]
            raw["cold_start"][path] = runs
            rows.append(Row(f"cold start /{path}: title and first chart visible",
                            statistics.median(r["visible_s"] for r in runs), "s", 3 if path == "parameters" else None,
                            note=f"median of {len(runs)}; healthy after "
                                 f"{statistics.median(r['health_s'] for r in runs):.1f} s"))
            rows.append(Row(f"cold start /{path}: fully drawn", statistics.median(r["drawn_s"] for r in runs), "s",
                            5 if path == "parameters" else None))
        browser.close()
    load_after = os.getloadavg()
    print(f"load average {load_before[0]:.2f} -> {load_after[0]:.2f} on {os.cpu_count()} CPUs")
    return report("Browser: interactions beside the floor page (headless Chromium), cold start", rows, "browser",
                  {"raw": raw, "rounds": args.rounds, "load_average_before": load_before,
                   "load_average_after": load_after})


if __name__ == "__main__":
    sys.exit(main())
