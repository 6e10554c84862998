"""Does time_block agree with torch.utils.benchmark.Timer on the CPU? (target: within 15%)

    python bench/bench_block_timing.py [--threads 1] [--rounds 3] [--budget 0.6]

For three blocks it alternates time_block and a Timer (blocked_autorange) on the same
BlockStep callables for several short rounds, so a burst of load from other programs hits
both alike. Each round gives one paired ratio (time_block / Timer, a second apart); the
verdict uses the median of those ratios, and the table also shows each method's median
over rounds. Prints a table and writes bench/results/block_timing.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import torch  # noqa: E402
from torch.utils import benchmark  # noqa: E402

from resnext_viz.blocks.builder import BlockConfig  # noqa: E402
from resnext_viz.blocks.timing import BlockStep, time_block  # noqa: E402
from resnext_viz.timing import steady_cpu_allocator  # noqa: E402

CONFIGS = {
    "ResNeXt-50 stage 1 (32x4d)": BlockConfig(256, 64, 32, 4, batch=2, height=56, width=56),
    "ResNet-50 stage 1 (1x64d)": BlockConfig(256, 64, 1, 64, batch=2, height=56, width=56),
    "ResNeXt-50 stage 3 entry (stride 2)": BlockConfig(512, 256, 32, 4, stride=2, batch=2, height=28, width=28),
}
TOLERANCE = 0.15


def timer_median(fn, threads: int, min_run_time: float) -> float:
    """Return torch.utils.benchmark's median seconds per call of fn()."""
    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=threads)
    return timer.blocked_autorange(min_run_time=min_run_time).median


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: on a busy shared machine more threads wait on each "
                             "other and time swings tenfold)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--budget", type=float, default=0.4, help="seconds per time_block call (both phases)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    steady = steady_cpu_allocator()  # see its docstring: no page faults on every call

    load_before = os.getloadavg()[0]
    rows, start = [], time.perf_counter()
    for label, cfg in CONFIGS.items():
        step = BlockStep(cfg)
        ours = {"fwd": [], "fwd+bwd": []}
        ref = {"fwd": [], "fwd+bwd": []}
        for _ in range(args.rounds):
            t = time_block(cfg, "cpu", torch.float32, budget_s=args.budget)
            ours["fwd"].append(t.forward.median_s)
            ours["fwd+bwd"].append(t.forward_backward.median_s)
            ref["fwd"].append(timer_median(step.forward, args.threads, args.budget / 2))
            ref["fwd+bwd"].append(timer_median(step.forward_backward, args.threads, args.budget / 2))
        for phase in ("fwd", "fwd+bwd"):
            o, r = statistics.median(ours[phase]), statistics.median(ref[phase])
            paired = statistics.median(a / b for a, b in zip(ours[phase], ref[phase]))
            rows.append({"block": label, "phase": phase, "time_block_ms": o * 1e3, "timer_ms": r * 1e3,
                         "ratio_of_medians": o / r, "ratio": paired, "ok": abs(paired - 1) <= TOLERANCE,
                         "time_block_rounds_ms": [x * 1e3 for x in ours[phase]],
                         "timer_rounds_ms": [x * 1e3 for x in ref[phase]]})

    print(f"{'block':<38} {'phase':<8} {'time_block ms':>13} {'Timer ms':>9} {'ratio':>6} {'paired':>7}")
    for r in rows:
        print(f"{r['block']:<38} {r['phase']:<8} {r['time_block_ms']:13.2f} {r['timer_ms']:9.2f} "
              f"{r['ratio_of_medians']:6.2f} {r['ratio']:7.2f}" + ("" if r["ok"] else "  <- outside ±15%"))
    elapsed = time.perf_counter() - start
    load = (load_before, os.getloadavg()[0])
    print(f"threads {args.threads}, rounds {args.rounds}, total {elapsed:.0f} s, "
          f"load average {load[0]:.1f} -> {load[1]:.1f} on {os.cpu_count()} CPUs")

    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "block_timing.json").write_text(json.dumps({
        "torch": torch.__version__, "python": platform.python_version(), "cpu": platform.processor(),
        "threads": args.threads, "steady_cpu_allocator": steady, "rounds": args.rounds, "budget_s": args.budget, "tolerance": TOLERANCE,
        "seconds": elapsed, "load_average": load, "cpus": os.cpu_count(), "rows": rows}, indent=1))
    print(f"wrote {out / 'block_timing.json'}")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
