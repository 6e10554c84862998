"""The performance lab's default sweep on this machine: how long the page takes, and its rerun afterwards.

    python bench/bench_lab.py [--repeats 2]

In a fresh process, the lab page runs under AppTest and its Run button is pressed with the
default settings (128 -> 128 channels, 56x56, batch 1, float32, 1 CPU thread, 10 s budget);
the server time of that run is the default sweep as a learner waits for it (target: <= 20 s
on this 2-core CPU, issue 5). Then the page's rerun after a control change, with the results
on screen, is timed like the other pages. Prints a table and writes bench/results/lab.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from common import Row, report

import torch

from bench_pages import time_reruns
from tests.conftest import run_page

TARGET_S = 20.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="default sweeps to run (the median is reported)")
    args = parser.parse_args(argv)
    threads_before = torch.get_num_threads()
    runs = []
    for _ in range(args.repeats):
        at = run_page("pages/performance_lab.py")
        t0 = time.perf_counter()
        at.button(key="lab_run").click().run(timeout=120)
        wall = time.perf_counter() - t0
        if at.exception:
            raise RuntimeError(at.exception[0].value)
        m = {x.label: x.value for x in at.metric}
        runs.append({"page_run_s": wall, "sweep_s": float(m["Run time"].split()[0]),
                     "timed": m["Configurations timed"], "load_average": os.getloadavg()[0]})
    rerun = statistics.median(time_reruns(at, "number_input", "lab_batch", (2, 1), 10))
    med = statistics.median(r["page_run_s"] for r in runs)
    rows = [
        Row("lab default sweep, page run after pressing Run (AppTest)", med, "s", TARGET_S,
            note=f"issue 5; median of {args.repeats}: " + ", ".join(f"{r['page_run_s']:.1f}" for r in runs)
                 + f" s; {runs[-1]['timed']} configurations"),
        Row("  of which the sweep itself (the page's 'Run time')", statistics.median(r["sweep_s"] for r in runs), "s",
            note="budget 10 s, 2 passes, 1 thread"),
        Row("lab page rerun with results shown, after a batch change", rerun * 1000, "ms"),
        Row("torch threads restored after the runs", float(torch.get_num_threads() == threads_before), "",
            1, higher_is_better=True, note=f"{torch.get_num_threads()} now, {threads_before} before"),
    ]
    return report("Performance lab (this CPU)", rows, "lab", {"runs": runs})


if __name__ == "__main__":
    sys.exit(main())
