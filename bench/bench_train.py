"""The training lab: the default experiment's wall time, time to the first curve point, RSS, two sessions at once.

    python bench/bench_train.py [--repeats 1]

In one process, as the app's server runs it (train.runner's worker thread, one CPU thread):
1. warm-up (the digits, one network, one optimiser step), as the page does when it opens;
2. the default experiment (3 variants × 3 seeds × 8 epochs on digits): wall time from the request
   until every run is done, and until the first trained epoch of any run (the first curve point);
   the process's RSS sampled every 50 ms while it trains;
3. two sessions asking for the same experiment at the same moment (a fresh registry): one
   training (counted), and its wall time;
4. two sessions asking for *different* experiments at once (other seeds): both trained, side by side.
Targets (issue 12): the default experiment ≤ 30 s and its first point ≤ 2 s on this 2-core CPU.
Other programs on the machine slow every figure: the load average is printed beside the table.
Prints a table and writes bench/results/train.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time

from common import Row, report, rss_mb

from resnext_viz.train import runner as R

WALL_TARGET_S = 30.0
FIRST_POINT_TARGET_S = 2.0


def run_once(reg: R.Registry, exp: R.Experiment) -> tuple[float, float, float, float]:
    """Return (wall s, s to the first trained epoch, peak RSS MB while training, CPU s of the process) of one run."""
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    job = reg.request(exp)
    first, peak = float("nan"), 0.0
    while not job.done or job.alive:
        if first != first and any(r.epochs_done > 0 for r in job.runs):
            first = time.perf_counter() - t0
        peak = max(peak, rss_mb(os.getpid()))
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    return wall, first, peak, time.process_time() - cpu0


def together(exps: list[R.Experiment]) -> tuple[float, int]:
    """Return (wall seconds until every job is done, runs trained) when sessions ask for `exps` at the same moment."""
    reg = R.Registry()
    jobs: list[R.Job | None] = [None] * len(exps)
    go = threading.Barrier(len(exps))

    def ask(i: int) -> None:
        go.wait()
        jobs[i] = reg.request(exps[i])

    t0 = time.perf_counter()
    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(exps))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    while any(not j.done or j.alive for j in jobs):
        time.sleep(0.05)
    return time.perf_counter() - t0, reg.trainings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="default experiments timed (a fresh registry each)")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    R.warm()
    warm_s = time.perf_counter() - t0
    rss_idle = rss_mb(os.getpid())
    exp = R.experiment()
    walls, firsts, peaks, cpus = [], [], [], []
    for _ in range(max(1, args.repeats)):
        w, f, p, c = run_once(R.Registry(), exp)
        walls.append(w), firsts.append(f), peaks.append(p), cpus.append(c)
    same_wall, same_trainings = together([exp, exp])
    other = R.experiment(seeds=(3, 4, 5))
    diff_wall, diff_trainings = together([exp, other])
    load_after = os.getloadavg()
    n = len(exp.keys())
    note = f"load average {load_before[0]:.1f} -> {load_after[0]:.1f} on {os.cpu_count()} CPUs"
    rows = [
        Row("warm-up when the page opens (digits, one net, one step)", warm_s, "s", note="paid once per process"),
        Row(f"default experiment ({n} runs × {exp.epochs} epochs, digits), wall", statistics.median(walls), "s",
            WALL_TARGET_S, note=f"issue 12; median of {len(walls)}; {note}"),
        Row("  CPU time it used (all threads of the process)", statistics.median(cpus), "s",
            note="the work itself: one worker thread, so the wall time cannot be lower; other programs add wall time"),
        Row("  time to the first curve point (first trained epoch)", statistics.median(firsts), "s",
            FIRST_POINT_TARGET_S, note="issue 12"),
        Row("  RSS while training (peak of 50 ms samples)", max(peaks), "MB",
            note=f"issue 12; {rss_idle:.0f} MB before (torch, numpy, sklearn data loaded)"),
        Row("two sessions, same experiment at once: runs trained", same_trainings, "runs", n,
            note=f"issue 12; {n} = trained once, shared"),
        Row("  their wall time", same_wall, "s", WALL_TARGET_S, note="issue 12; one training, both see it"),
        Row("two sessions, different seeds at once: wall for both", diff_wall, "s",
            note=f"issue 12; {diff_trainings} runs, two workers sharing the CPU"),
    ]
    return report("Issue 12 (training lab): default experiment, first point, memory, sessions", rows, "train",
                  {"walls_s": walls, "first_point_s": firsts, "load_average_before_after": [load_before, load_after]})


if __name__ == "__main__":
    sys.exit(main())
