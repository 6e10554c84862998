"""Performance lab: time grouped 3x3 convolutions and the ResNeXt bottleneck, set against their FLOPs.

A grouped 3x3 convolution with G groups does 1/G of the dense convolution's arithmetic,
but it still reads the whole input and writes the whole output. So as G grows, the
bytes moved per FLOP rise (the arithmetic intensity falls), the kernels get less
tuned, and "G times fewer FLOPs" rarely means "G times faster". This module defines the
sweep (every valid G, the naive one-convolution-per-group loop beside the grouped
kernel, and the paper's Table 2 bottlenecks at preserved complexity), counts each
configuration's FLOPs and compulsory memory traffic, and times it with the shared
`timing.measure` under one time budget, reporting progress as it goes.

Everything here is plain Python and PyTorch (no Streamlit, no Plotly), so
`bench/gpu_check.py` can run the same code on a GPU machine.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import ctypes.util
import io
import math
import threading
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from .block_builder import BlockConfig, build_block
from .block_timing import DeviceOutOfMemory
from .cardinality import TABLE2_PAPER, solve_preserved_complexity, template_params
from .conv_math import divisors
from .timing import WIDE_SPREAD, Timing, check_dtype, measure, resolve_device, steady_cpu_allocator, synchronize

__all__ = [
    "LAB_DTYPES",
    "ELEMENT_BYTES",
    "TEMPLATE_CHANNELS",
    "TABLE2_CARDINALITIES",
    "LabConfig",
    "Case",
    "SweepProgress",
    "LabRow",
    "LabResult",
    "GroupLoop",
    "RUN_LOCK",
    "ROUNDS",
    "cpu_threads",
    "steady_cpu_memory",
    "conv_flops",
    "conv_bytes",
    "bottleneck_flops",
    "bottleneck_bytes",
    "cases",
    "build_callable",
    "time_callable",
    "run_sweep",
    "to_csv",
    "CSV_COLUMNS",
    "conv_table",
    "bottleneck_table",
    "findings",
    "HOW_IT_IS_TIMED",
]

# ---------------------------------------------------------------- the sweep and its bounds

LAB_DTYPES = ("float32", "bfloat16", "float16")
ELEMENT_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
TEMPLATE_CHANNELS = 256  # the paper's template block: 256 -> 1x1 -> C*d -> grouped 3x3 -> 1x1 -> 256
TABLE2_CARDINALITIES = tuple(C for C, _, _ in TABLE2_PAPER)  # 1, 2, 4, 8, 32

MAX_CHANNELS = 1024  # ResNeXt-50's widest grouped 3x3 has 1024 channels (stage 4, 32 x 32d)
MAX_SIZE = 224  # feature-map height = width; ImageNet images are 224 x 224
MAX_BATCH = 64  # the H100 reference used batch 64
MIN_BUDGET_S, MAX_BUDGET_S = 1.0, 120.0
MAX_ELEMENTS = 2**25  # one feature map of at most 32 M numbers (128 MB in float32)
MAX_ELEMENTS_GPU = 2**28  # a GPU holds far more: 1 GiB of float32 per feature map (batch 64 at 56x56 fits)
CPU_MAX_CALL_GFLOP = 20.0  # on the CPU, one call of the largest configuration (~1 s on a laptop core)

MIN_SAMPLE_S = 1e-3  # a call shorter than this is timed k at a time, so a sync or timer tick is < 1% of a sample
MAX_CALLS_PER_SAMPLE = 100
MAX_REPEATS = 50  # samples per configuration and pass; cheap configurations stop here and leave budget to the rest
ROUNDS = 2  # passes over the configurations; a burst of load from other programs then hits several alike

RUN_LOCK = threading.Lock()  # one lab run at a time in this process (torch's thread count is process-wide)

# The stopwatch for the budget, looked up at call time so a test can replace it.
_now: Callable[[], float] = time.perf_counter


@dataclass(frozen=True)
class LabConfig:
    """One lab run: the convolution size, where and how to run it, and the time budget."""

    channels: int = 128  # C_in = C_out; ResNeXt-50's stage-1 grouped 3x3 is 128 -> 128 (32 groups of 4)
    size: int = 56  # feature-map height = width: stage 1 for a 224 x 224 image
    batch: int = 1  # one image, as a CPU usually serves them; REFERENCE's CPU claim is at batch 1
    device: str = "cpu"
    dtype: str = "float32"
    channels_last: bool = False  # PyTorch's default layout (NCHW); the H100 reference used channels_last
    threads: int | None = 1  # CPU only: one thread gives the steadiest numbers on a shared machine
    budget_s: float = 10.0  # the whole run, building and warm-up included
    loop: bool = True  # also time one convolution per group in a Python loop
    bottleneck: bool = True  # also time the Table 2 bottlenecks (256 channels in and out)
    cudnn_benchmark: bool = False  # CUDA only: let cuDNN time kernels; False (PyTorch's default) as in the H100 run

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError with a sentence a learner can act on if this run cannot be done."""
        for name in ("channels", "size", "batch"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be a whole number, got {value!r}.")
        _check("channels", self.channels, 1, MAX_CHANNELS, " (input = output channels)")
        _check("size", self.size, 1, MAX_SIZE, " pixels (height = width)")
        _check("batch", self.batch, 1, MAX_BATCH, " images")
        if not isinstance(self.cudnn_benchmark, bool):
            raise ValueError(f"cudnn_benchmark must be True or False, got {self.cudnn_benchmark!r}.")
        if self.dtype not in LAB_DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(LAB_DTYPES)}, got {self.dtype!r}.")
        if self.threads is not None and (isinstance(self.threads, bool) or not isinstance(self.threads, int)
                                         or self.threads < 1):
            raise ValueError(f"threads must be a whole number of at least 1 (or None to keep the current "
                             f"setting), got {self.threads!r}.")
        if not MIN_BUDGET_S <= self.budget_s <= MAX_BUDGET_S:
            raise ValueError(f"the time budget must be between {MIN_BUDGET_S:g} and {MAX_BUDGET_S:g} seconds, "
                             f"got {self.budget_s:g}.")
        widest = max(self.channels, TEMPLATE_CHANNELS if self.bottleneck else 0)
        elements = self.batch * widest * self.size * self.size
        limit = MAX_ELEMENTS if self.device == "cpu" else MAX_ELEMENTS_GPU
        if elements > limit:
            raise ValueError(f"a feature map of {self.batch} × {widest} × {self.size} × {self.size} = {elements:,} "
                             f"numbers is over the lab's {limit:,} limit on this device; lower the batch, the "
                             "channels or the size.")
        if self.device == "cpu":
            worst = max(conv_flops(self.channels, 1, self.size, self.batch),
                        max(bottleneck_flops(C, d, self.size, self.batch) for C, d, _ in TABLE2_PAPER)
                        if self.bottleneck else 0)
            if worst / 1e9 > CPU_MAX_CALL_GFLOP:
                raise ValueError(f"the largest configuration needs {worst / 1e9:.1f} GFLOP per call, over the "
                                 f"CPU limit of {CPU_MAX_CALL_GFLOP:g} GFLOP (about a second per call on a "
                                 "laptop core, too slow to time several of them); lower the batch, the channels "
                                 "or the size.")

    @property
    def groups(self) -> list[int]:
        """Return every valid group count of the channels (its divisors), increasing."""
        return divisors(self.channels)

    def with_(self, **changes) -> "LabConfig":
        """Return a copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def describe(self) -> str:
        """Return a one-line description, e.g. '128 → 128 channels, 56×56, batch 1, cpu float32, 1 thread'."""
        fmt = "channels_last" if self.channels_last else "NCHW"
        where = f"{self.device} {self.dtype}, {fmt}"
        if self.device == "cpu" and self.threads:
            where += f", {self.threads} thread{'s' if self.threads > 1 else ''}"
        if self.device.startswith("cuda") and self.cudnn_benchmark:
            where += ", cudnn.benchmark on"
        return (f"{self.channels} → {self.channels} channels, {self.size}×{self.size}, batch {self.batch}, "
                f"{where}, budget {self.budget_s:g} s")


def _check(name: str, value: int, lo: int, hi: int, unit: str) -> None:
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi}{unit}, got {value}.")


# ---------------------------------------------------------------- FLOPs and bytes (2 FLOPs per MAC)


def conv_flops(channels: int, groups: int, size: int, batch: int) -> int:
    """Return the FLOPs of one 3x3 convolution C -> C, padding 1: 2 * B * C * H * W * (C / G) * 9."""
    return 2 * batch * channels * size * size * (channels // groups) * 9


def conv_bytes(channels: int, groups: int, size: int, batch: int, element_bytes: int, loop: bool = False) -> int:
    """Return the bytes a 3x3 convolution must move at least: read input and weights once, write output once.

    The per-group loop also concatenates its G outputs, reading and writing every output
    value once more.
    """
    act = batch * channels * size * size  # (B, C, H, W), input and output alike
    weights = channels * (channels // groups) * 9  # (C, C/G, 3, 3)
    return element_bytes * (2 * act + weights + (2 * act if loop else 0))


def bottleneck_flops(C: int, d: int, size: int, batch: int, channels: int = TEMPLATE_CHANNELS) -> int:
    """Return the FLOPs of the template block's three convolutions (stride 1): 2 * B * H * W * eq. 4's weights."""
    return 2 * batch * size * size * template_params(C, d, channels, channels)


def bottleneck_bytes(C: int, d: int, size: int, batch: int, element_bytes: int,
                     channels: int = TEMPLATE_CHANNELS) -> int:
    """Return the bytes the block's three convolutions must move at least (each input, weight, output once)."""
    hw, w = size * size, C * d
    outer, inner = batch * channels * hw, batch * w * hw  # (B, 256, H, W) and (B, C*d, H, W)
    conv1 = outer + channels * w + inner
    conv2 = inner + w * d * 9 + inner
    conv3 = inner + w * channels + outer
    return element_bytes * (conv1 + conv2 + conv3)


# ---------------------------------------------------------------- configurations


@dataclass(frozen=True)
class Case:
    """One configuration to time: what it is, its size, FLOPs and compulsory bytes."""

    part: str  # 'conv3x3' or 'bottleneck'
    method: str  # 'grouped kernel', 'per-group loop' or 'bottleneck'
    groups: int  # G of the 3x3 (the bottleneck's cardinality C)
    d: int  # channels per group
    width: int  # channels of the (grouped) 3x3
    params: int  # weights of the convolutions (no bias, no batch norm)
    flops: int
    bytes: int

    @property
    def label(self) -> str:
        """Return e.g. 'grouped kernel, G = 32' or 'bottleneck 32×4d'."""
        if self.part == "bottleneck":
            return f"bottleneck {self.groups}×{self.d}d"
        return f"{self.method}, G = {self.groups}"

    @property
    def intensity(self) -> float:
        """Return the arithmetic intensity, FLOPs per byte moved (higher: more work per byte)."""
        return self.flops / self.bytes


def cases(cfg: LabConfig) -> list[Case]:
    """Return the run's configurations in timing order: each G (grouped, then loop), then Table 2's C."""
    e = ELEMENT_BYTES[cfg.dtype]
    out = []
    for G in cfg.groups:
        params = cfg.channels * (cfg.channels // G) * 9
        flops = conv_flops(cfg.channels, G, cfg.size, cfg.batch)
        out.append(Case("conv3x3", "grouped kernel", G, cfg.channels // G, cfg.channels, params, flops,
                        conv_bytes(cfg.channels, G, cfg.size, cfg.batch, e)))
        if cfg.loop:
            out.append(Case("conv3x3", "per-group loop", G, cfg.channels // G, cfg.channels, params, flops,
                            conv_bytes(cfg.channels, G, cfg.size, cfg.batch, e, loop=True)))
    if cfg.bottleneck:
        for row in solve_preserved_complexity(cardinalities=TABLE2_CARDINALITIES, hw=cfg.size):
            out.append(Case("bottleneck", "bottleneck", row.C, row.d, row.width, row.params,
                            bottleneck_flops(row.C, row.d, cfg.size, cfg.batch),
                            bottleneck_bytes(row.C, row.d, cfg.size, cfg.batch, e)))
    return out


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
        wide = self.wide_spread
        if not wide:
            return ""
        return (f"{len(wide)} of {len(self.rows)} configurations had widely spread samples (the middle half spans "
                f"over {WIDE_SPREAD:.0%} of the median; see the *spread* column): other programs were probably "
                "busy, so read those medians as rough, or run again.")


@contextlib.contextmanager
def _exclusive(on_wait: Callable[[], None] | None) -> Iterator[float]:
    """Hold RUN_LOCK for the block, calling on_wait() first if another run holds it; yield seconds waited."""
    t0 = _now()
    if not RUN_LOCK.acquire(blocking=False):
        if on_wait is not None:
            on_wait()
        RUN_LOCK.acquire()
    try:
        yield _now() - t0
    finally:
        RUN_LOCK.release()


@contextlib.contextmanager
def cpu_threads(n: int | None) -> Iterator[int]:
    """Set torch's CPU thread count to n for the block (None: leave it), then put the old value back."""
    before = torch.get_num_threads()
    if n is not None and n != before:
        torch.set_num_threads(n)
    try:
        yield torch.get_num_threads()
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


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


def _is_oom(err: BaseException) -> bool:
    oom_type = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)
    return isinstance(err, oom_type) or "can't allocate memory" in str(err)


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
    with _exclusive(on_wait) as waited, cpu_threads(cfg.threads if cpu else None) as threads, \
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
                if not _is_oom(err):
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
