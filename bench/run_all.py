"""The benchmark suite: every benchmark in its own process, then one table of each figure beside its target.

    .venv/bin/python bench/run_all.py            # about 5 minutes on a 2-core machine
    .venv/bin/python bench/run_all.py --quick    # fewer repeats, about 3 minutes

Steps (each a script in bench/ that also runs on its own, printing its own table):
  pages       bench_pages.py        server rerun time of each page after a typical widget change (AppTest),
                                    beside a minimal Streamlit page measured in the same run
  cold_start  bench_cold_start.py   `streamlit run` until /parameters and /lab are rendered in headless
                                    Chromium; the lab's default sweep as the browser sees it
  features    bench_features.py     a 12 MP JPEG to per-group feature statistics; RSS with ResNeXt-50
  figures     bench_figures.py      connectivity figure build time and JSON size; export cold and warm
  memory      bench_memory.py       live-server RSS after every page, over 200 reruns, per extra session
  lab         bench_lab.py          the performance lab's default sweep (AppTest) and its rerun
  block_timing bench_block_timing.py time_block against torch.utils.benchmark.Timer
  train       bench_train.py        the training lab's default experiment: wall time, first curve point, RSS,
                                    two sessions at once
  browser     bench_browser.py      each interaction in headless Chromium (change -> idle, every chart drawn) beside
                                    a floor page in the same run, first-time computations, cold start to first chart
  gpu         gpu_check.py          --device cpu --quick here (a check of the logic); the H100 figure is read
                                    from bench/results/gpu_check.json when a GPU run left one there
Each step's output goes to bench/results/<step>.log; the table is also written to
bench/results/run_all.json. Exit status 1 when a target is missed or a step failed.
Other programs on the machine move every timing: the load average is printed with the table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from common import RESULTS, ROOT, Row, print_rows

BENCH = ROOT / "bench"
FIXED = ROOT / "bench" / "results"  # bench_features and bench_block_timing always write here
STEPS: dict[str, tuple[str, list[str], list[str]]] = {  # name -> (script, full args, quick args)
    "pages": ("bench_pages.py", ["20"], ["8"]),
    "cold_start": ("bench_cold_start.py", ["--repeats", "3"], ["--repeats", "1"]),
    "features": ("bench_features.py", ["--repeats", "15"], ["--repeats", "5"]),
    "figures": ("bench_figures.py", [], []),
    "memory": ("bench_memory.py", ["--reruns", "200", "--sessions", "3"], ["--reruns", "50", "--sessions", "2"]),
    "lab": ("bench_lab.py", ["--repeats", "2"], ["--repeats", "1"]),
    "block_timing": ("bench_block_timing.py", ["--rounds", "7"], ["--rounds", "3"]),
    "train": ("bench_train.py", ["--repeats", "2"], ["--repeats", "1"]),
    "browser": ("bench_browser.py", ["--rounds", "8", "--cold", "3"], ["--quick"]),
    "gpu": ("gpu_check.py", ["--device", "cpu", "--quick", "--threads", "1"],
            ["--device", "cpu", "--quick", "--threads", "1"]),
}


OUTPUTS = {"pages": RESULTS / "pages.json", "cold_start": RESULTS / "cold_start.json",
           "features": FIXED / "bench_features.json", "figures": RESULTS / "figures.json",
           "memory": RESULTS / "memory.json", "lab": RESULTS / "lab.json", "block_timing": FIXED / "block_timing.json",
           "train": RESULTS / "train.json", "gpu": RESULTS / "gpu_check_cpu.json",
           "browser": RESULTS / "browser.json"}  # what each step writes (never a GPU run's gpu_check.json)


def run_step(name: str, quick: bool) -> tuple[str, float]:
    """Run one benchmark in its own process, its output to bench/results/<name>.log; return (status, seconds).

    The step's previous results are removed first, so a step that crashes shows as not
    measured rather than as last time's numbers.
    """
    script, full, short = STEPS[name]
    log = RESULTS / f"{name}.log"
    OUTPUTS[name].unlink(missing_ok=True)
    t0 = time.perf_counter()
    with open(log, "w") as out:
        try:
            rc = subprocess.run([sys.executable, str(BENCH / script), *(short if quick else full)], cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT, timeout=1800,
                                env={**os.environ, "OUT": str(RESULTS)}).returncode
        except subprocess.TimeoutExpired:
            rc = -1
    seconds = time.perf_counter() - t0
    if rc == 0:
        return "ok", seconds
    if rc == 1 and OUTPUTS[name].is_file():  # the scripts exit 1 when a figure misses its target
        return "target missed", seconds
    return f"FAILED (exit {rc}), see {log}", seconds


def _load(name: str) -> dict | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.is_file() else None


def _gpu_run() -> tuple[dict | None, str]:
    """Return the latest GPU run's JSON: bench/results/ if a run left one there, else the kept H100 reference."""
    fresh = _load("gpu_check.json")
    if fresh:
        return fresh, "bench/results/gpu_check.json"
    kept = ROOT / "bench" / "reference" / "gpu_check_h100.json"
    return (json.loads(kept.read_text()), "bench/reference/gpu_check_h100.json") if kept.is_file() else (None, "")


def _rows(data: dict | None) -> list[Row]:
    """Return the Rows of a JSON written by common.report."""
    if not data:
        return []
    keep = {"name", "value", "unit", "target", "note", "higher_is_better"}
    return [Row(**{k: v for k, v in r.items() if k in keep}) for r in data["rows"]]


def features_rows(data: dict | None) -> list[Row]:
    if not data:
        return []
    rows = [Row(f"12 MP JPEG → feature maps, {name.removeprefix('END TO END ')}", s["median_ms"], "ms",
                data["targets"]["end_to_end_ms"], note=f"issue 4; decode to statistics, model load excluded")
            for name, s in data["steps"].items() if name.startswith("END TO END")]
    rss = data["rss_mb"]
    rows.append(Row("RSS after loading ResNeXt-50 (the feature benchmark's process)", rss["after_model"], "MB",
                    data["targets"]["rss_after_model_mb"], note=f"issue 4; weights: {data['weights']['source']}"))
    return rows


def block_timing_rows(data: dict | None) -> list[Row]:
    if not data:
        return []
    return [Row(f"block builder vs Timer: {r['block']} {r['phase']}", abs(r["ratio"] - 1) * 100, "%",
                data["tolerance"] * 100, note=f"issue 3; paired ratio {r['ratio']:.3f}, {data['threads']} thread(s)")
            for r in data["rows"]]


def gpu_rows(cpu: dict | None, cuda: dict | None, source: str = "bench/results/gpu_check.json") -> list[Row]:
    rows = []
    if cuda and cuda.get("lab"):
        lab = cuda["lab"]
        off = sorted(abs(r["ratio"] - 1) * 100 for r in lab)
        where = f"{cuda['environment'].get('gpu', '?')}, from {source}"
        rows.append(Row("lab timings vs CUDA events on the GPU (median of all rows)", off[len(off) // 2], "%", 10,
                        note=f"issue 5; {cuda['lab_within']} of {len(lab)} within 10%; {where}"))
        rows.append(Row("lab timings vs CUDA events on the GPU (worst row)", off[-1], "%", 10, note="issue 5"))
    else:
        rows.append(Row("lab timings vs CUDA events on an H100", float("nan"), "%", 10,
                        note="issue 5; not measured here (no GPU): run bench/gpu_check.py on one"))
    if cpu and cpu.get("lab"):
        lab = cpu["lab"]
        ratios = sorted(abs(r["ratio"] - 1) * 100 for r in lab)
        rows.append(Row("  the same check on this CPU (vs a perf_counter loop), median", ratios[len(ratios) // 2],
                        "%", note=f"{cpu['lab_within']} of {len(lab)} rows within 10%; a check of the logic"))
    return rows


def collect() -> dict[str, list[Row]]:
    """Return the table's sections, read from the steps' JSON files."""
    fixed = FIXED
    return {
        "Issue 2 (foundation): parameter page, connectivity figures, export": (
            [r for r in _rows(_load("pages.json")) if "minimal" in r.name or "parameters" in r.name
             or "connectivity" in r.name] + _rows(_load("figures.json"))),
        "Issue 3 (blocks): page reruns, block-builder timing": (
            [r for r in _rows(_load("pages.json")) if not any(k in r.name for k in ("minimal", "parameters",
                                                                                   "connectivity", "lab"))]
            + block_timing_rows(json.loads((fixed / "block_timing.json").read_text())
                                if (fixed / "block_timing.json").is_file() else None)),
        "Issue 4 (images): feature pipeline and memory": (
            features_rows(json.loads((fixed / "bench_features.json").read_text())
                          if (fixed / "bench_features.json").is_file() else None)
            + _rows(_load("memory.json"))),
        "Issue 5 (speed): cold start, performance lab, GPU check": (
            _rows(_load("cold_start.json")) + [r for r in _rows(_load("pages.json")) if "lab" in r.name]
            + _rows(_load("lab.json")) + gpu_rows(_load("gpu_check_cpu.json"), *_gpu_run())),
        "Issue 12 (training lab): default experiment, first point, memory, sessions": _rows(_load("train.json")),
        "Issue 10 (browser): interactions beside the floor page, first-time work, cold start": _rows(
            _load("browser.json")),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run, not for the record)")
    parser.add_argument("--only", nargs="*", choices=list(STEPS), help="run only these steps (others: last results)")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    start = time.perf_counter()
    failed = []
    for name in args.only or STEPS:
        print(f"• {name:<13} ", end="", flush=True)
        status, seconds = run_step(name, args.quick)
        print(f"{seconds:6.1f} s  {status}")
        if status.startswith("FAILED"):
            failed.append(name)
    sections = collect()
    all_rows = []
    for title, rows in sections.items():
        print_rows(title, rows)
        all_rows += rows
    met = sum(r.ok is True for r in all_rows)
    missed = [r.name for r in all_rows if r.ok is False]
    unmeasured = sum(r.target is not None and r.ok is None for r in all_rows)
    load_after = os.getloadavg()
    print(f"\n{met} targets met, {len(missed)} missed, {unmeasured} not measured here; "
          f"{'quick' if args.quick else 'full'} run in {time.perf_counter() - start:.0f} s; load average "
          f"{load_before[0]:.1f} -> {load_after[0]:.1f} on {os.cpu_count()} CPUs"
          + (f"; steps failed: {', '.join(failed)}" if failed else ""))
    out = RESULTS / "run_all.json"
    out.write_text(json.dumps({"quick": args.quick, "seconds": time.perf_counter() - start,
                               "load_average": [load_before, load_after], "failed_steps": failed,
                               "sections": {t: [vars(r) | {"ok": r.ok} for r in rows]
                                            for t, rows in sections.items()}}, indent=1))
    print(f"(written to {out})")
    return int(bool(missed or failed))


if __name__ == "__main__":
    sys.exit(main())
