"""Honest timing: which devices exist, how to wait for them, and a median with its spread.

GPUs (and Apple's MPS) run asynchronously: a Python call returns as soon as the work is
queued, so a stopwatch around it measures the queueing, not the work. Every timed call
here is therefore wrapped as `synchronize; t0; fn(); synchronize; t1`, after a few
warm-up calls that pay one-off costs (lazy initialisation, cuDNN algorithm search,
allocator growth). We report the median and the interquartile range, not the mean: one
sample hit by another program should not move the answer.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import statistics
import contextlib
import threading
import time
from dataclasses import asdict, dataclass
from typing import Callable, Iterator

import torch

__all__ = [
    "DeviceOption",
    "Timing",
    "WIDE_SPREAD",
    "list_devices",
    "resolve_device",
    "synchronize",
    "measure",
    "measure_cuda_events",
    "format_seconds",
    "DTYPES",
    "resolve_dtype",
    "check_dtype",
    "steady_cpu_allocator",
]

WIDE_SPREAD = 0.2  # IQR / median above this: the samples disagree too much to trust the median closely

DeviceLike = str | torch.device

# The stopwatch, looked up at call time so a test can replace it with a fake clock.
_now: Callable[[], float] = time.perf_counter


@dataclass(frozen=True)
class DeviceOption:
    """One place the lesson could run: 'cpu', 'cuda' or 'mps', and why it is absent if it is."""

    name: str  # the string torch.device() takes
    label: str  # what a learner reads in a selectbox
    available: bool
    reason: str  # empty when available, else a plain sentence saying why not


def _cuda_option() -> DeviceOption:
    if torch.version.cuda is None and getattr(torch.version, "hip", None) is None:
        return DeviceOption("cuda", "CUDA GPU", False,
                            f"this PyTorch build has no CUDA (torch {torch.__version__} is a CPU-only build)")
    if not torch.cuda.is_available():
        return DeviceOption("cuda", "CUDA GPU", False,
                            "this PyTorch build supports CUDA, but no NVIDIA GPU is visible "
                            "(no GPU on this machine, or its driver is missing)")
    return DeviceOption("cuda", f"CUDA GPU ({torch.cuda.get_device_name(0)})", True, "")


def _mps_option() -> DeviceOption:
    mps = getattr(torch.backends, "mps", None)
    if mps is None or not mps.is_built():
        return DeviceOption("mps", "Apple GPU (MPS)", False, "this PyTorch build has no MPS (Apple Metal) support")
    if not mps.is_available():
        return DeviceOption("mps", "Apple GPU (MPS)", False,
                            "this PyTorch build supports MPS, but no Apple-silicon GPU is visible (needs macOS 12.3+)")
    return DeviceOption("mps", "Apple GPU (MPS)", True, "")


def list_devices() -> list[DeviceOption]:
    """Return CPU, CUDA and MPS options; unavailable ones carry the reason they are absent."""
    cpu = DeviceOption("cpu", f"CPU ({torch.get_num_threads()} threads)", True, "")
    return [cpu, _cuda_option(), _mps_option()]


def resolve_device(device: DeviceLike) -> torch.device:
    """Return torch.device(device) if it can run here, else raise ValueError saying why not."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"'{device}' is not a device name; use 'cpu', 'cuda' or 'mps'.") from err
    options = {o.name: o for o in list_devices()}
    option = options.get(dev.type)
    if option is None:
        raise ValueError(f"device type '{dev.type}' is not supported here; use 'cpu', 'cuda' or 'mps'.")
    if not option.available:
        raise ValueError(f"{option.label} is not available: {option.reason}. Choose the CPU instead.")
    return dev


def synchronize(device: DeviceLike) -> None:
    """Wait until all queued work on `device` has finished (a no-op on the CPU)."""
    kind = torch.device(device).type
    if kind == "cuda":
        torch.cuda.synchronize()
    elif kind == "mps":
        torch.mps.synchronize()


def format_seconds(s: float) -> str:
    """Return a duration in seconds as a short string in µs, ms or s."""
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1.0:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


@dataclass(frozen=True)
class Timing:
    """Timed samples of one callable, in seconds, with their median and spread."""

    samples_s: tuple[float, ...]
    median_s: float
    q1_s: float
    q3_s: float
    device: str
    warmup: int

    @classmethod
    def from_samples(cls, samples_s: list[float] | tuple[float, ...], device: DeviceLike = "cpu",
                     warmup: int = 0) -> "Timing":
        """Return a Timing summarising `samples_s` (seconds; at least one)."""
        if not samples_s:
            raise ValueError("a Timing needs at least one sample.")
        s = tuple(float(x) for x in samples_s)
        if len(s) == 1:
            q1 = med = q3 = s[0]
        else:
            q1, med, q3 = statistics.quantiles(s, n=4, method="inclusive")
        return cls(s, med, q1, q3, str(torch.device(device)), warmup)

    @property
    def n(self) -> int:
        """Return the number of timed samples."""
        return len(self.samples_s)

    @property
    def median_ms(self) -> float:
        """Return the median in milliseconds."""
        return self.median_s * 1e3

    @property
    def iqr_s(self) -> float:
        """Return the interquartile range (q3 - q1) in seconds."""
        return self.q3_s - self.q1_s

    @property
    def spread(self) -> float:
        """Return IQR / median, a unitless relative spread (0.05 = samples within about ±2.5%)."""
        return self.iqr_s / self.median_s if self.median_s > 0 else math.inf

    @property
    def wide_spread(self) -> bool:
        """Return True when the relative spread exceeds WIDE_SPREAD."""
        return self.spread > WIDE_SPREAD

    @property
    def note(self) -> str:
        """Return a sentence for the learner when the samples disagree, else ''."""
        if not self.wide_spread:
            return ""
        return (f"The timings spread widely (the middle half spans {self.spread:.0%} of the median): "
                "other programs may be using this machine, so read the median as rough.")

    def summary(self) -> str:
        """Return e.g. '1.23 ms (middle half 1.20–1.31 ms, n=40)'."""
        return (f"{format_seconds(self.median_s)} (middle half {format_seconds(self.q1_s)}–"
                f"{format_seconds(self.q3_s)}, n={self.n})")

    def to_dict(self) -> dict:
        """Return a JSON-ready dict with the summary statistics and the samples."""
        d = asdict(self)
        d["samples_s"] = list(self.samples_s)
        d.update(n=self.n, iqr_s=self.iqr_s, spread=self.spread, wide_spread=self.wide_spread, note=self.note)
        return d


def _check_measure_args(warmup: int, min_repeats: int, max_repeats: int, budget_s: float) -> None:
    if warmup < 0:
        raise ValueError(f"warmup must be 0 or more calls, got {warmup}.")
    if min_repeats < 1:
        raise ValueError(f"min_repeats must be at least 1, got {min_repeats}.")
    if max_repeats < min_repeats:
        raise ValueError(f"max_repeats ({max_repeats}) must be at least min_repeats ({min_repeats}).")
    if not budget_s >= 0:
        raise ValueError(f"budget_s must be 0 or more seconds, got {budget_s}.")


def measure(fn: Callable[[], object], device: DeviceLike = "cpu", *, warmup: int = 2, min_repeats: int = 5,
            max_repeats: int = 100, budget_s: float = 1.0,
            progress: Callable[[float], None] | None = None) -> Timing:
    """Return the Timing (seconds) of `fn()` on `device`: warm up, then time each call between two syncs.

    Timed calls repeat until `min_repeats` are done and then until `budget_s` seconds of
    timing have passed or `max_repeats` are done. `progress(fraction)` is called as the
    fraction of that work done grows (at least 1% at a time), ending with 1.0.
    """
    _check_measure_args(warmup, min_repeats, max_repeats, budget_s)
    for _ in range(warmup):
        fn()
    synchronize(device)

    samples: list[float] = []
    reported = 0.0
    start = _now()
    while True:
        synchronize(device)
        t0 = _now()
        fn()
        synchronize(device)
        t1 = _now()
        samples.append(t1 - t0)
        n, elapsed = len(samples), t1 - start
        if n >= max_repeats or (n >= min_repeats and elapsed >= budget_s):
            break
        if progress is not None:
            # Done when n reaches max_repeats, or when both n reaches min_repeats and time the budget.
            by_time = elapsed / budget_s if budget_s > 0 else 1.0
            fraction = min(1.0, max(n / max_repeats, min(n / min_repeats, by_time)))
            if fraction - reported >= 0.01:
                reported = fraction
                progress(fraction)
    if progress is not None:
        progress(1.0)
    return Timing.from_samples(samples, device, warmup)


def bare_loop(fn: Callable[[], object], repeats: int = 15, warmup: int = 2) -> list[float]:
    """Return the seconds of `repeats` calls of fn() after `warmup` calls: a plain perf_counter reference, no sync."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return samples


def measure_cuda_events(fn: Callable[[], object], *, warmup: int = 5, repeats: int = 50) -> Timing:
    """Return the Timing (seconds) of `fn()` from CUDA events recorded around each call (a reference)."""
    if not torch.cuda.is_available():
        raise ValueError("CUDA events need a CUDA GPU, and none is available here.")
    if warmup < 0 or repeats < 1:
        raise ValueError(f"warmup must be >= 0 and repeats >= 1, got {warmup} and {repeats}.")
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(repeats)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(repeats)]
    for start, end in zip(starts, ends):
        start.record()
        fn()
        end.record()
    torch.cuda.synchronize()
    return Timing.from_samples([s.elapsed_time(e) / 1e3 for s, e in zip(starts, ends)], "cuda", warmup)


DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
    "float64": torch.float64,
}


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """Return the torch dtype named by `dtype` ('float32', 'bfloat16', 'float16', 'float64')."""
    if isinstance(dtype, torch.dtype):
        if dtype in DTYPES.values():
            return dtype
        raise ValueError(f"{dtype} is not offered here; use one of {', '.join(DTYPES)}.")
    name = str(dtype).removeprefix("torch.")
    if name not in DTYPES:
        raise ValueError(f"'{dtype}' is not a dtype offered here; use one of {', '.join(DTYPES)}.")
    return DTYPES[name]


def check_dtype(device: DeviceLike, dtype: str | torch.dtype) -> torch.dtype:
    """Return the dtype if it is sensible on `device`, else raise ValueError saying what would work."""
    dt, kind = resolve_dtype(dtype), torch.device(device).type
    if kind == "cpu" and dt == torch.float16:
        raise ValueError("float16 on the CPU is mostly emulated and very slow, so its timings mislead; "
                         "use bfloat16 or float32 on the CPU, or float16 on a GPU.")
    if kind == "mps" and dt == torch.float64:
        raise ValueError("Apple's MPS has no float64; use float32 (or float64 on the CPU).")
    return dt


def steady_cpu_allocator(mmap_threshold: int = 64 << 20, trim_threshold: int = 256 << 20) -> bool:
    """Ask glibc to keep freed memory (bytes) instead of returning it to the OS; return True if applied.

    By default glibc hands large freed blocks back to the OS, so a fresh process that runs
    the same forward pass over and over can page-fault its buffers in again on every call
    (measured here: ~3,700 page faults and twice the time per call for a stage-1 block at
    batch 2) until its thresholds adapt. Call once at start-up, before timing on the CPU.
    Process-wide; a no-op returning False where the C library is not glibc (macOS, Windows).
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h> option numbers
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(M_TRIM_THRESHOLD, trim_threshold))


# ---------------------------------------------------------------- one measurement at a time, threads, out of memory

RUN_LOCK = threading.Lock()  # one measurement at a time in this process (torch's thread count is process-wide)


@contextlib.contextmanager
def exclusive(on_wait: Callable[[], None] | None) -> Iterator[float]:
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


class DeviceOutOfMemory(RuntimeError):
    """A configuration did not fit in the device's memory; the message says what to lower."""


def is_oom(err: BaseException) -> bool:
    """Return True when an exception means 'out of memory' (CUDA's error, or the CPU allocator's)."""
    oom_type = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)
    return isinstance(err, (oom_type, MemoryError)) or (isinstance(err, RuntimeError)
                                                        and "can't allocate memory" in str(err))


def first_line(e: BaseException) -> str:
    """Return the first line of an exception's message."""
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


@contextlib.contextmanager
def steady_timing(device: str, on_wait: Callable[[], None] | None = None) -> Iterator[float]:
    """Serialise measurements with RUN_LOCK and, on the CPU, time on one thread (restored after)."""
    with exclusive(on_wait) as waited, cpu_threads(1 if device == "cpu" else None):
        yield waited
