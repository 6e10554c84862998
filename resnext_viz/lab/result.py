"""Performance lab, pure part: a sweep's rows and result, its tables, CSV and the findings in words."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass, fields

from resnext_viz.lab.cost import Case, LabConfig



@dataclass(frozen=True)
class SweepProgress:
    """Where a run stands: configurations done, the one being timed, and the time left in the budget."""

    done: int
    total: int
    label: str  # the configuration being timed ('' when finished)
    fraction: float  # 0..1, never decreasing within a run
    elapsed_s: float
    left_s: float  # budget not yet spent (the run may finish sooner)
    round: int = 1  # which pass over the configurations (1-based)
    rounds: int = 1

    def text(self) -> str:
        """Return e.g. 'pass 1 of 2 · 3 of 21 configurations · timing grouped kernel, G = 4 · at most ~8 s left'."""
        if not self.label:
            return f"{self.done} of {self.total} configurations measured in {self.elapsed_s:.1f} s"
        where = f"pass {self.round} of {self.rounds} · " if self.rounds > 1 else ""
        return (f"{where}{self.done} of {self.total} configurations · timing {self.label} · "
                f"at most ~{math.ceil(self.left_s)} s left")


@dataclass(frozen=True)
class LabRow:
    """One timed configuration, with its cost and its speed relative to the dense one."""

    part: str
    method: str
    groups: int
    d: int
    width: int
    params: int
    flops: int
    bytes: int
    intensity: float  # FLOPs per byte
    median_s: float
    q1_s: float
    q3_s: float
    spread: float  # interquartile range / median (0.05: the middle half of the samples within about ±2.5%)
    samples: int
    calls_per_sample: int
    flops_ratio: float | None  # FLOPs / the dense configuration's FLOPs (the ideal time ratio)
    time_ratio: float | None  # median time / the dense configuration's median time
    gflops_per_s: float  # achieved
    note: str

    @property
    def label(self) -> str:
        """Return the configuration's label (as Case.label)."""
        return Case(self.part, self.method, self.groups, self.d, self.width, self.params, self.flops,
                    self.bytes).label

    @property
    def median_ms(self) -> float:
        """Return the median time of one call in milliseconds."""
        return self.median_s * 1e3


@dataclass(frozen=True)
class LabResult:
    """A finished run: its configuration, one row per timed configuration, and what was skipped."""

    config: LabConfig
    rows: tuple[LabRow, ...]
    skipped: tuple[str, ...]  # labels of configurations not reached within the budget
    seconds: float  # the whole run, wall clock
    threads: int  # torch CPU threads during the run
    device_name: str
    torch_version: str
    waited_s: float  # time spent waiting for another session's run to finish (not in `seconds`)

    def part(self, part: str, method: str | None = None) -> list[LabRow]:
        """Return the rows of one part ('conv3x3' or 'bottleneck'), optionally of one method."""
        return [r for r in self.rows if r.part == part and (method is None or r.method == method)]

    @property
    def wide_spread(self) -> list[str]:
        """Return the labels of the configurations whose samples spread widely (see Timing.note)."""
        return [r.label for r in self.rows if r.note]

    def spread_note(self) -> str:
        """Return one sentence about the configurations whose samples spread widely, or ''."""
        from resnext_viz.timing import WIDE_SPREAD  # torch is loaded by then: a result comes from a sweep

        wide = self.wide_spread
        if not wide:
            return ""
        return (f"{len(wide)} of {len(self.rows)} configurations had widely spread samples (the middle half spans "
                f"over {WIDE_SPREAD:.0%} of the median; see the *spread* column): other programs were probably "
                "busy, so read those medians as rough, or run again.")


# ---------------------------------------------------------------- tables and CSV

CSV_COLUMNS = tuple(f.name for f in fields(LabRow))


def to_csv(result: LabResult) -> str:
    """Return every timed configuration as CSV text (one row per configuration, seconds and FLOPs as numbers)."""
    buf = io.StringIO()
    cfg = result.config
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("device", "dtype", "channels_last", "threads", "channels", "size", "batch") + CSV_COLUMNS)
    for r in result.rows:
        values = asdict(r)
        writer.writerow((result.device_name, cfg.dtype, cfg.channels_last,
                         result.threads if cfg.device == "cpu" else "", cfg.channels, cfg.size, cfg.batch)
                        + tuple("" if values[c] is None else values[c] for c in CSV_COLUMNS))
    return buf.getvalue()


def _ratio(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def _sig(x: float | None, digits: int = 3) -> float | None:
    """Return x rounded to `digits` significant figures (for display; the CSV keeps every digit)."""
    return None if x is None or x == 0 else round(x, digits - 1 - math.floor(math.log10(abs(x))))


def ratio_interval(num_q1: float, num_q3: float, den_q1: float, den_q3: float) -> tuple[float, float]:
    """Return the range of num / den that the two timings' middle halves (quartiles, seconds) allow."""
    return num_q1 / den_q3, num_q3 / den_q1


def ratio_note(num: LabRow, den: LabRow, same_call: bool = False) -> str:
    """Return '' for a ratio noise cannot explain away, else a flag: '≈1 (within noise)' or a same-call warning.

    A ratio whose quartile interval (see ratio_interval) contains 1 is indistinguishable from 1.
    When `same_call` (the loop at G = 1 is the grouped call itself) any gap is measurement noise or drift.
    """
    lo, hi = ratio_interval(num.q1_s, num.q3_s, den.q1_s, den.q3_s)
    if lo <= 1.0 <= hi:
        return "≈1 (within noise)"
    if same_call:
        return "same call: should be 1, the gap is drift between passes"
    return ""


def conv_table(result: LabResult) -> list[dict]:
    """Return one dict per group count, rounded for display: cost, intensity, the kernel beside the loop."""
    loop = {r.groups: r for r in result.part("conv3x3", "per-group loop")}
    out = []
    for r in result.part("conv3x3", "grouped kernel"):
        row = {"G": r.groups, "MFLOP": _sig(r.flops / 1e6), "FLOPs ÷ dense": _ratio(r.flops_ratio),
               "FLOP/byte": _sig(r.intensity), "kernel ms": _sig(r.median_ms), "kernel ÷ dense": _ratio(r.time_ratio),
               "kernel GFLOP/s": _sig(r.gflops_per_s)}
        lp = loop.get(r.groups)
        if result.config.loop:
            row.update({"loop ms": None if lp is None else _sig(lp.median_ms),
                        "loop ÷ dense": None if lp is None else _ratio(lp.time_ratio),
                        "loop ÷ kernel": None if lp is None else _sig(lp.median_s / r.median_s),
                        "loop ÷ kernel noise": "" if lp is None else ratio_note(lp, r, same_call=r.groups == 1)})
        row["spread %"] = round(100 * max(r.spread, lp.spread if lp else 0))
        out.append(row)
    return out


def format_pair(by_format: dict[bool, LabResult]) -> tuple[LabResult, LabResult] | None:
    """Return (NCHW run, channels_last run) when both exist with otherwise the same settings, else None."""
    nchw, cl = by_format.get(False), by_format.get(True)
    if nchw is None or cl is None or nchw.config.with_(channels_last=True) != cl.config:
        return None
    return nchw, cl


def format_table(nchw: LabResult, cl: LabResult) -> list[dict]:
    """Return, per group count, the grouped kernel's time and time ÷ dense in both memory formats."""
    a = {r.groups: r for r in nchw.part("conv3x3", "grouped kernel")}
    b = {r.groups: r for r in cl.part("conv3x3", "grouped kernel")}
    return [{"G": g, "NCHW ms": _sig(a[g].median_ms), "channels_last ms": _sig(b[g].median_ms),
             "NCHW ÷ dense": _ratio(a[g].time_ratio), "channels_last ÷ dense": _ratio(b[g].time_ratio),
             "NCHW ÷ channels_last": _sig(a[g].median_s / b[g].median_s)} for g in sorted(a.keys() & b.keys())]


def bottleneck_table(result: LabResult) -> list[dict]:
    """Return one dict per cardinality of the Table 2 bottleneck, rounded for display."""
    return [{"C × d": f"{r.groups} × {r.d}d", "width C·d": r.width, "weights": r.params, "MFLOP": _sig(r.flops / 1e6),
             "FLOPs ÷ 1×64d": _ratio(r.flops_ratio), "FLOP/byte": _sig(r.intensity), "ms": _sig(r.median_ms),
             "time ÷ 1×64d": _ratio(r.time_ratio), "GFLOP/s": _sig(r.gflops_per_s), "spread %": round(100 * r.spread)}
            for r in result.part("bottleneck")]


def _times(x: float) -> str:
    return f"{x:.2f}×" if x < 10 else f"{x:.0f}×"


def findings(result: LabResult) -> list[str]:
    """Return a few sentences (markdown) saying what this run measured, with its own numbers."""
    out = []
    grouped = result.part("conv3x3", "grouped kernel")
    if len(grouped) > 1 and grouped[0].groups == 1:
        dense = grouped[0]
        mid = min(grouped[1:], key=lambda r: abs(r.groups - 32))  # ResNeXt-50's cardinality, or the closest
        out.append(f"**G = {mid.groups}** does 1/{mid.groups} of the dense FLOPs and took "
                   f"**{mid.time_ratio:.2f}×** the dense time ({mid.median_ms:.3g} ms vs {dense.median_ms:.3g} ms): "
                   f"{'close to' if mid.time_ratio < 2 * mid.flops_ratio else 'far from'} the ideal "
                   f"{mid.flops_ratio:.3f}×.")
        worst = min(grouped, key=lambda r: r.gflops_per_s)
        out.append(f"Achieved speed fell from **{dense.gflops_per_s:,.1f} GFLOP/s** at G = 1 to "
                   f"**{worst.gflops_per_s:,.1f} GFLOP/s** at G = {worst.groups}, where each byte moved carries "
                   f"{worst.intensity:.1f} FLOPs instead of {dense.intensity:.1f}.")
    loops = result.part("conv3x3", "per-group loop")
    if loops and grouped:
        last = max(loops, key=lambda r: r.groups)
        kernel = next((r for r in grouped if r.groups == last.groups), None)
        if kernel is not None:
            out.append(f"One convolution per group in a Python loop took **{last.median_ms:.3g} ms** at "
                       f"G = {last.groups} against {kernel.median_ms:.3g} ms for the grouped kernel "
                       f"({_times(last.median_s / kernel.median_s)}): {last.groups} small launches instead of one.")
    blocks = result.part("bottleneck")
    if len(blocks) > 1 and blocks[0].groups == 1:
        b = max(blocks, key=lambda r: r.groups)
        out.append(f"The bottleneck at preserved complexity: **{b.groups}×{b.d}d took {b.time_ratio:.2f}×** the "
                   f"time of 1×64d with {b.flops_ratio:.3f}× its FLOPs.")
    if result.skipped:
        out.append(f"The budget ran out before {len(result.skipped)} configuration"
                   f"{'s' if len(result.skipped) > 1 else ''} ({', '.join(result.skipped[:3])}"
                   f"{', …' if len(result.skipped) > 3 else ''}); raise the budget to measure them.")
    return out


HOW_IT_IS_TIMED = """\
- **One shared stopwatch.** Every number comes from `timing.measure`, the helper the block builder uses too:
  each sample is taken between two device synchronisations (a GPU works asynchronously, so a stopwatch without
  them would time the queueing, not the work).
- **Warm-up first.** Two untimed calls pay one-off costs (kernel choice, memory allocation); the second also
  tells how long one call takes. A call under 1 ms is repeated k times per sample (the *calls per sample*), so
  the synchronisation and the timer are under 1% of what is measured.
- **Median and spread, in two passes.** Every configuration is timed twice, in two passes over the whole
  list, and its samples pooled: a burst of load from another program then lands on several configurations a
  little rather than on one a lot. In each pass samples repeat until the configuration's share of the budget
  is spent (at least 3, at most 50). The tables show the median, and the *spread*: how wide the middle half
  of the samples is, as a share of the median. Above 20% the run says so: other programs were probably busy.
- **One run at a time, one thread by default.** PyTorch's CPU thread count belongs to the whole server
  process, which serves every open browser tab. A run therefore holds a process-wide lock (a second tab waits
  for the first), sets the thread count you chose, and puts the previous one back when it ends, even when it
  is interrupted; while it runs, other pages' PyTorch work may also use that thread count. One thread is the
  default because on a machine shared with other programs two or more threads wait on each other and the same
  call can vary several-fold from one sample to the next; raise it to see what parallelism buys.
- **Steady memory.** During a CPU run the lab asks the C library to keep freed memory instead of handing it
  back to the system after every call; otherwise each call page-faults its buffers in again, which here made
  the bottleneck 1.7× slower and its timings twice as noisy. The memory is handed back when the run ends.
- **A time budget.** Each configuration gets an equal share of the budget left when it starts; once the budget
  is spent, configurations not yet started are skipped and listed. Changing any control stops a run.
"""
