"""Performance lab: time grouped 3x3 convolutions and the ResNeXt bottleneck, set against their FLOPs.

A grouped 3x3 convolution with G groups does 1/G of the dense convolution's arithmetic,
but it still reads the whole input and writes the whole output. So as G grows, the
bytes moved per FLOP rise (the arithmetic intensity falls), the kernels get less
tuned, and "G times fewer FLOPs" rarely means "G times faster". This module runs the
sweep (every valid G, the naive one-convolution-per-group loop beside the grouped
kernel, and the paper's Table 2 bottlenecks at preserved complexity), counts each
configuration's FLOPs and compulsory memory traffic, and times it with the shared
`timing.measure` under one time budget, reporting progress as it goes.

Everything here is plain Python and PyTorch (no Streamlit, no Plotly), so
`bench/gpu_check.py` can run the same code on a GPU machine.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import math
import time
from pathlib import Path
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from resnext_viz.blocks.builder import BlockConfig, build_block
from resnext_viz.lab.cost import *  # noqa: F401,F403  (the sweep's configuration, re-exported)
from resnext_viz.lab.cost import (ELEMENT_BYTES, MAX_CALLS_PER_SAMPLE, MAX_REPEATS, MIN_SAMPLE_S, ROUNDS, Case,
                                  LabConfig, cases)
from resnext_viz.lab.result import *  # noqa: F401,F403  (rows, tables and CSV, re-exported)
from resnext_viz.lab.result import LabResult, LabRow, SweepProgress
from resnext_viz.timing import RUN_LOCK  # noqa: F401  (re-exported: callers hold lab.RUN_LOCK)
from resnext_viz.timing import (DeviceOutOfMemory, Timing, check_dtype, cpu_threads, exclusive, is_oom,
                                measure, resolve_device, steady_cpu_allocator, synchronize)

_now: Callable[[], float] = time.perf_counter

# ---------------------------------------------------------------- timing the cases (torch)

class GroupLoop(nn.Module):
    """The naive grouped convolution: one ordinary convolution per group in a Python loop, then concatenate."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        self.groups, self.padding = conv.groups, conv.padding
        # Group g owns output channels [g*C/G, (g+1)*C/G): rows g*C/G... of the (C, C/G, 3, 3) weight.
        self.weights = nn.ParameterList(nn.Parameter(w.detach().clone()) for w in conv.weight.chunk(self.groups, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x.chunk: G views of (B, C/G, H, W), each read by its own small convolution (one kernel launch each)
        outs = [F.conv2d(xg, wg, padding=self.padding) for xg, wg in zip(x.chunk(self.groups, 1), self.weights)]
        return torch.cat(outs, 1)  # (B, C, H, W)


def _conv_module(cfg: LabConfig, groups: int, seed: int) -> nn.Conv2d:
    conv = nn.Conv2d(cfg.channels, cfg.channels, 3, padding=1, groups=groups, bias=False, device="meta")
    conv = conv.to_empty(device="cpu")
    # A private generator: other sessions' random numbers neither change nor are changed by ours.
    nn.init.kaiming_uniform_(conv.weight, a=math.sqrt(5), generator=torch.Generator().manual_seed(seed))
    return conv


def build_callable(case: Case, cfg: LabConfig, device: str | torch.device | None = None,
                   seed: int = 0) -> Callable[[], torch.Tensor]:
    """Return a no-argument callable running one inference forward pass of `case` on a fixed random input."""
    dev = torch.device(device or cfg.device)
    dtype = check_dtype(dev, cfg.dtype)
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    if case.part == "bottleneck":
        block_cfg = BlockConfig(inplanes=TEMPLATE_CHANNELS, planes=TEMPLATE_CHANNELS // 4, cardinality=case.groups,
                                base_width=case.d, batch=cfg.batch, height=cfg.size, width=cfg.size)
        module: nn.Module = build_block(block_cfg, dev, dtype, seed)  # eval mode: batch norm uses running stats
        c_in = TEMPLATE_CHANNELS
    else:
        conv = _conv_module(cfg, case.groups, seed)
        module = conv if case.method == "grouped kernel" else GroupLoop(conv)
        module = module.to(dev, dtype).eval()
        c_in = cfg.channels
    module = module.to(memory_format=fmt)
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(cfg.batch, c_in, cfg.size, cfg.size, generator=gen)  # (B, C_in, H, W)
    x = x.to(dev, dtype).contiguous(memory_format=fmt)

    def forward() -> torch.Tensor:
        with torch.inference_mode():
            return module(x)

    forward.module = module  # type: ignore[attr-defined]  (for tests and FLOP counting)
    forward.input = x  # type: ignore[attr-defined]
    return forward


def time_callable(fn: Callable[[], object], device: str | torch.device, budget_s: float,
                  progress: Callable[[float], None] | None = None,
                  calls_per_sample: int | None = None) -> tuple[Timing, int]:
    """Return (Timing of one call in seconds, calls per timed sample) after two warm-up calls.

    The first warm-up pays one-off costs (kernel choice, allocation); the second, timed
    between syncs, estimates one call. A call shorter than MIN_SAMPLE_S is repeated k
    times per sample (each sample then divided by k), so the sync and the timer are a
    small part of what is measured; pass `calls_per_sample` to reuse an earlier k.
    Samples then repeat via timing.measure until `budget_s` (at least 3, or 5 when they
    fit in the budget).
    """
    dev = torch.device(device)
    start = _now()
    fn()
    synchronize(dev)
    t0 = _now()
    fn()
    synchronize(dev)
    one = max(_now() - t0, 1e-9)
    k = calls_per_sample or (1 if one >= MIN_SAMPLE_S else min(MAX_CALLS_PER_SAMPLE, math.ceil(MIN_SAMPLE_S / one)))
    left = max(0.0, budget_s - (_now() - start))
    min_repeats = 5 if 5 * k * one <= left else 3

    def batch() -> None:
        for _ in range(k):
            fn()

    t = measure(fn if k == 1 else batch, dev, warmup=0, min_repeats=min_repeats, max_repeats=MAX_REPEATS,
                budget_s=left, progress=progress)
    if k == 1:
        return Timing.from_samples(t.samples_s, dev, 2), 1
    return Timing.from_samples([s / k for s in t.samples_s], dev, 2), k


# ---------------------------------------------------------------- running a sweep

ADAPTED_MMAP_THRESHOLD = 32 << 20  # where glibc's own dynamic threshold ends up in a long-running process
ADAPTED_TRIM_THRESHOLD = 64 << 20  # glibc keeps it at twice the mmap threshold


@contextlib.contextmanager
def steady_cpu_memory(enabled: bool = True) -> Iterator[bool]:
    """Keep freed memory for the block (timing.steady_cpu_allocator), then hand it back; yield whether applied.

    Without it the convolutions' buffers are returned to the OS after every call and
    page-faulted in again on the next (measured here: the Table 2 bottleneck took 10.6 ms
    instead of 6.2 ms, and spread twice as wide). Afterwards the thresholds are set to the
    values glibc adapts to by itself in a long-running process, and malloc_trim returns
    what the run left over, so the server does not keep the sweep's memory.
    """
    applied = bool(enabled) and steady_cpu_allocator()
    try:
        yield applied
    finally:
        if applied:
            steady_cpu_allocator(ADAPTED_MMAP_THRESHOLD, ADAPTED_TRIM_THRESHOLD)
            try:
                ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
            except (OSError, AttributeError):
                pass


def _device_name(dev: torch.device) -> str:
    """Return the GPU's name, or the CPU's model name where the system says it (else its architecture)."""
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    if dev.type == "mps":
        return "Apple GPU (MPS)"
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


def _rows(timed: list[tuple[Case, Timing, int]]) -> tuple[LabRow, ...]:
    dense: dict[str, tuple[int, float]] = {}
    for case, t, _ in timed:  # the dense reference of each part: the grouped kernel at G = 1, the C = 1 block
        if case.groups == 1 and case.method in ("grouped kernel", "bottleneck"):
            dense[case.part] = (case.flops, t.median_s)
    rows = []
    for case, t, k in timed:
        ref = dense.get(case.part)
        rows.append(LabRow(case.part, case.method, case.groups, case.d, case.width, case.params, case.flops,
                           case.bytes, case.intensity, t.median_s, t.q1_s, t.q3_s, t.spread, t.n, k,
                           None if ref is None else case.flops / ref[0],
                           None if ref is None else t.median_s / ref[1],
                           case.flops / t.median_s / 1e9, t.note))
    return tuple(rows)


def run_sweep(cfg: LabConfig, progress: Callable[[SweepProgress], None] | None = None,
              on_wait: Callable[[], None] | None = None, seed: int = 0, rounds: int = ROUNDS) -> LabResult:
    """Time every configuration of `cfg` within its budget and return the results (seconds, FLOPs, bytes).

    The configurations are timed in `rounds` passes and each one's samples pooled, so a
    burst of load from other programs falls on several configurations rather than ruining
    one. Each step gets an equal share of the budget left when it starts. Once the budget
    is spent no new step starts; configurations with no samples yet are listed in
    `LabResult.skipped` (a started step still takes its minimum of three samples). Runs are
    serialised by RUN_LOCK (torch's thread count is process-wide): `on_wait()` is called if
    this run must wait for another. The CPU thread count is set to `cfg.threads` for the run
    and restored afterwards, also when the run is interrupted; a CPU run also keeps freed
    memory while it runs (see steady_cpu_memory).
    Raises ValueError for an absent device or a dtype that makes no sense there, and
    DeviceOutOfMemory when a configuration does not fit.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}.")
    dev = resolve_device(cfg.device)
    check_dtype(dev, cfg.dtype)
    todo = cases(cfg)
    total = len(todo)
    steps = [(r, i) for r in range(rounds) for i in range(total)]  # pass r over configuration i
    samples: list[list[float]] = [[] for _ in todo]
    per_sample: dict[int, int] = {}
    oom: str | None = None
    cpu = dev.type == "cpu"
    with exclusive(on_wait) as waited, cpu_threads(cfg.threads if cpu else None) as threads, \
            steady_cpu_memory(cpu), cudnn_benchmark(cfg.cudnn_benchmark if dev.type == "cuda" else None):
        start = _now()
        last = 0.0

        def report(step: int, label: str, within: float) -> None:
            nonlocal last
            if progress is None:
                return
            r, i = steps[step] if step < len(steps) else (rounds - 1, total)
            last = 1.0 if not label else max(last, min(1.0, (step + within) / len(steps)))
            elapsed = _now() - start
            progress(SweepProgress(i if label else sum(1 for x in samples if x), total, label, last, elapsed,
                                   max(0.0, cfg.budget_s - elapsed), r + 1, rounds))

        for step, (r, i) in enumerate(steps):
            left = cfg.budget_s - (_now() - start)
            if left <= 0:
                break
            case = todo[i]
            report(step, case.label, 0.0)
            try:
                fn = build_callable(case, cfg, dev, seed)
                t, k = time_callable(fn, dev, left / (len(steps) - step),
                                     None if progress is None else
                                     (lambda f, step=step, lb=case.label: report(step, lb, f)),
                                     per_sample.get(i))
            except RuntimeError as err:
                if not is_oom(err):
                    raise
                oom, fn = case.label, None
                break
            per_sample[i] = k
            samples[i].extend(t.samples_s)
            del fn  # free this configuration's tensors before the next one is built
        seconds = _now() - start
        if oom is None:
            report(len(steps), "", 1.0)
    if oom is not None:  # outside the except block, so the failed tensors are already freed
        if dev.type == "cuda":
            torch.cuda.empty_cache()
        where = "this GPU" if dev.type == "cuda" else "this machine"
        raise DeviceOutOfMemory(f"{oom} did not fit in {where}'s memory; lower the batch, the channels or the size"
                                + (", or run it on the CPU." if dev.type == "cuda" else "."))
    timed = [(case, Timing.from_samples(samples[i], dev, 2), per_sample[i]) for i, case in enumerate(todo)
             if samples[i]]
    skipped = tuple(case.label for i, case in enumerate(todo) if not samples[i])
    return LabResult(cfg, _rows(timed), skipped, seconds, threads, _device_name(dev), torch.__version__, waited)


@contextlib.contextmanager
def cudnn_benchmark(value: bool | None):
    """Set torch.backends.cudnn.benchmark to `value` for the block and restore it (None: leave it alone)."""
    before = torch.backends.cudnn.benchmark
    if value is not None:
        torch.backends.cudnn.benchmark = value
    try:
        yield before
    finally:
        torch.backends.cudnn.benchmark = before
