"""Shared helpers for benchmarks: the page registry, timing, a live server, a table beside each target, JSON."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from resnext_viz.serve import CHROMIUM_ARGS, ROOT, chromium_path

# The benchmarks reuse the test suite's helpers (tests.conftest, tests.imagecases), which are not part of
# the installed package: put the checkout on the path for every script that imports this module.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from resnext_viz.serve import Server as _Server

RESULTS = Path(os.environ.get("BENCH_RESULTS", ROOT / "bench" / "results"))


@dataclass
class Row:
    """One measured figure beside its target."""

    name: str
    value: float
    unit: str
    target: float | None = None          # the bound (value must be <= target unless higher_is_better)
    note: str = ""
    higher_is_better: bool = False

    @property
    def ok(self) -> bool | None:
        if self.target is None or self.value != self.value:  # no target, or not measured (NaN)
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target


# ---------------------------------------------------------------- the pages, one line each


@dataclass(frozen=True)
class PageSpec:
    """One lesson page as the benchmarks see it: its file, URL, a typical widget change and its rerun target."""

    file: str                                      # path from the repository root
    url: str                                       # st.Page url_path
    change: tuple[str, str, tuple] | None = None   # (AppTest widget kind, key, two values); None: the first number input
    rerun_target_ms: float | None = None           # server time of one rerun after the change
    source: str = ""                               # where the target comes from


# Adding a page is one line. Pages whose file does not exist yet are skipped with a note.
PAGES: list[PageSpec] = [
    PageSpec("pages/parameters.py", "parameters", ("number_input", "conv_groups", (16, 32)), 50, "issue 2"),
    PageSpec("pages/connectivity.py", "connectivity", ("number_input", "conv_groups", (16, 32)), None, "issue 2"),
    PageSpec("pages/cardinality.py", "cardinality", ("number_input", "card_hw", (28, 56)), 100, "issue 3"),
    PageSpec("pages/three_forms.py", "three_forms", ("number_input", "forms_h", (12, 14)), None, "issue 3"),
    PageSpec("pages/block_builder.py", "block_builder", ("number_input", "blk_batch", (4, 8)), None, "issue 3"),
    PageSpec("pages/resnet_vs_resnext.py", "resnet_vs_resnext", ("selectbox", "rvr_pair", ("101-32x8d", "50")), 100,
             "issue 3"),
    PageSpec("pages/group_features.py", "group_features", ("radio", "feat_page", (2, 1)), None, "issue 4"),
    PageSpec("pages/gradients.py", "gradients", ("selectbox", "grad_group", (1, 0)), None, "issue 4"),
    PageSpec("pages/performance_lab.py", "performance_lab", ("number_input", "lab_batch", (1, 2)), None, "issue 5"),
    PageSpec("pages/train.py", "train", ("number_input", "train_epochs", (7, 8)), None, "issue 12"),
    PageSpec("pages/claims.py", "claims", ("number_input", "claims_group", (1, 0)), None, "issue 12"),
]


def present_pages(pages: list[PageSpec] | None = None) -> tuple[list[PageSpec], list[PageSpec]]:
    """Return (pages whose file exists, pages not written yet)."""
    pages = PAGES if pages is None else pages
    return [p for p in pages if (ROOT / p.file).is_file()], [p for p in pages if not (ROOT / p.file).is_file()]


# ---------------------------------------------------------------- timing and reporting


def median_time(fn: Callable[[], object], repeats: int = 15, warmup: int = 2) -> tuple[float, list[float]]:
    """Return (median seconds, all samples) of fn() after warm-up calls."""
    from resnext_viz.timing import bare_loop

    samples = bare_loop(fn, repeats, warmup)
    return statistics.median(samples), samples


def print_rows(title: str, rows: list[Row]) -> None:
    """Print rows as a table: measure, value, target, ok, note."""
    print(f"\n{title}")
    print(f"{'measure':62} {'value':>12} {'target':>12}  ok")
    for r in rows:
        tgt = "" if r.target is None else f"{'≥' if r.higher_is_better else '≤'}{r.target:g} {r.unit}"
        ok = {None: "", True: "yes", False: "NO"}[r.ok]
        value = "—" if r.value != r.value else f"{r.value:.3g}"
        print(f"{r.name:62} {value:>9} {r.unit:<2} {tgt:>12}  {ok:3} {r.note}")


def report(title: str, rows: list[Row], stem: str, extra: dict | None = None) -> int:
    """Print rows as a table, write them as JSON under bench/results/, return 1 if a target is missed."""
    print_rows(title, rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{stem}.json"
    out.write_text(json.dumps({"title": title, "machine": platform.platform(), "cpus": os.cpu_count(),
                               "load_average": os.getloadavg(), "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                               "rows": [asdict(r) | {"ok": r.ok} for r in rows], **(extra or {})}, indent=1))
    print(f"(written to {out})")
    return int(any(r.ok is False for r in rows))


# ---------------------------------------------------------------- a live server and its memory


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Return a process's resident memory (or another /proc/<pid>/status field) in MB; NaN where unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class Server(_Server):
    """The shared launcher (resnext_viz.serve.Server) plus the server's resident memory."""

    @property
    def rss_mb(self) -> float:
        return rss_mb(self.proc.pid) if self.proc else float("nan")


def launch_chromium(playwright):
    """Return a headless Debian Chromium (never a downloaded one), or raise RuntimeError if there is none."""
    path = chromium_path()
    if not path:
        raise RuntimeError("no Chromium found (Debian: apt-get install -y chromium)")
    return playwright.chromium.launch(executable_path=path, headless=True, args=list(CHROMIUM_ARGS))


# The page has finished its script runs and drawn its charts (tests/conftest.py's test, plus "has content").
RENDERED_JS = ("(title) => { const app = document.querySelector('[data-testid=\"stApp\"]');"
               " const main = document.querySelector('[data-testid=\"stMain\"]');"
               " return !!app && !!main && app.dataset.testScriptState === 'notRunning'"
               " && app.dataset.testConnectionState === 'CONNECTED' && main.innerText.includes(title)"
               " && !document.querySelector('[data-testid=\"stSkeleton\"], [data-testid=\"stAppSkeleton\"]')"
               " && Array.from(document.querySelectorAll('[data-testid=\"stPlotlyChart\"]'))"
               "        .every(c => c.querySelector('.main-svg')); }")


def wait_rendered(page, title: str, timeout_ms: float = 120_000, stable_ms: int = 300) -> float:
    """Wait until the page is idle with `title` shown and every chart drawn, twice `stable_ms` apart; return when first."""
    while True:
        page.wait_for_function(RENDERED_JS, arg=title, timeout=timeout_ms)
        first = time.perf_counter()
        page.wait_for_timeout(stable_ms)
        if page.evaluate(RENDERED_JS, title):
            return first
