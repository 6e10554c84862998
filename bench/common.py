"""Shared helpers for benchmarks: timing, a table beside each target, JSON results."""

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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
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
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target


def median_time(fn: Callable[[], object], repeats: int = 15, warmup: int = 2) -> tuple[float, list[float]]:
    """Return (median seconds, all samples) of fn() after warm-up calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples), samples


def report(title: str, rows: list[Row], stem: str) -> int:
    """Print rows as a table, write them as JSON under bench/results/, return 1 if a target is missed."""
    print(f"\n{title}")
    print(f"{'measure':58} {'value':>12} {'target':>12}  ok")
    for r in rows:
        tgt = "" if r.target is None else f"{'≥' if r.higher_is_better else '≤'}{r.target:g} {r.unit}"
        ok = {None: "", True: "yes", False: "NO"}[r.ok]
        print(f"{r.name:58} {r.value:>9.3g} {r.unit:<2} {tgt:>12}  {ok}  {r.note}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{stem}.json"
    out.write_text(json.dumps({"title": title, "machine": platform.platform(), "cpus": os.cpu_count(),
                               "rows": [asdict(r) | {"ok": r.ok} for r in rows]}, indent=1))
    print(f"(written to {out})")
    return int(any(r.ok is False for r in rows))
