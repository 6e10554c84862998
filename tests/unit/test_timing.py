"""Tests for resnext_viz.timing: durations, synchronisation, repeat rules, warm-up, devices."""

from __future__ import annotations

import platform
import time

import pytest
import torch

from resnext_viz import timing
from resnext_viz.timing import Timing, list_devices, measure, resolve_device


class FakeClock:
    """A stopwatch that only moves when the timed function says so (exact, binary-friendly steps)."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    c = FakeClock()
    monkeypatch.setattr(timing, "_now", c)
    return c


def test_sleep_median_within_20_percent():
    t = measure(lambda: time.sleep(0.02), warmup=1, min_repeats=5, max_repeats=8, budget_s=0.1)
    assert t.median_s == pytest.approx(0.02, rel=0.2)
    assert 5 <= t.n <= 8
    assert t.q1_s <= t.median_s <= t.q3_s


def test_synchronizes_before_and_after_every_timed_call(monkeypatch):
    # A fake CUDA device on a CPU-only machine: measure must route through torch.cuda.synchronize.
    log: list[str] = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a, **k: log.append("sync"))
    t = measure(lambda: log.append("call"), device="cuda", warmup=3, min_repeats=6, max_repeats=6, budget_s=0)
    assert t.n == 6 and t.device == "cuda"
    calls = [i for i, e in enumerate(log) if e == "call"]
    assert len(calls) == 3 + 6
    for i in calls[3:]:  # the timed calls
        assert log[i - 1] == "sync" and log[i + 1] == "sync"


def test_mps_and_cpu_routes(monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(torch.mps, "synchronize", lambda: seen.append("mps"))
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a, **k: seen.append("cuda"))
    timing.synchronize("mps")
    timing.synchronize("cpu")
    timing.synchronize(torch.device("cuda", 0))
    assert seen == ["mps", "cuda"]


def test_min_repeats_when_budget_is_spent(clock):
    def slow():
        clock.t += 0.5  # each call alone overruns the budget
    t = measure(slow, warmup=0, min_repeats=4, max_repeats=100, budget_s=0.1)
    assert t.n == 4


def test_max_repeats_caps_a_long_budget(clock):
    def fast():
        clock.t += 2.0 ** -10
    t = measure(fast, warmup=0, min_repeats=2, max_repeats=7, budget_s=100.0)
    assert t.n == 7


def test_budget_stops_between_min_and_max(clock):
    def step():
        clock.t += 2.0 ** -6  # 1/64 s, exact in binary
    t = measure(step, warmup=0, min_repeats=3, max_repeats=100, budget_s=0.125)
    assert t.n == 8  # 8 * 1/64 = 0.125


def test_warmup_calls_are_not_sampled(clock):
    calls = []

    def fn():
        calls.append(1)
        clock.t += 1.0 if len(calls) <= 2 else 0.01  # the first two (warm-up) calls are slow

    t = measure(fn, warmup=2, min_repeats=5, max_repeats=5, budget_s=0)
    assert len(calls) == 2 + 5 and t.n == 5 and t.warmup == 2
    assert max(t.samples_s) == pytest.approx(0.01)


def test_progress_is_monotone_and_ends_at_one(clock):
    def step():
        clock.t += 2.0 ** -6
    seen: list[float] = []
    measure(step, warmup=0, min_repeats=3, max_repeats=100, budget_s=1.0, progress=seen.append)
    assert seen[-1] == 1.0 and seen == sorted(seen) and all(0 < f <= 1 for f in seen)
    assert len(seen) <= 101


def test_timing_statistics_and_wide_spread_note():
    tight = Timing.from_samples([1.0, 1.01, 0.99, 1.0, 1.02])
    assert tight.median_s == 1.0 and not tight.wide_spread and tight.note == ""
    wide = Timing.from_samples([1.0, 2.0, 1.0, 3.0, 1.0, 2.5])
    assert wide.wide_spread and "rough" in wide.note
    assert wide.iqr_s == pytest.approx(wide.q3_s - wide.q1_s)
    single = Timing.from_samples([0.5])
    assert single.median_s == single.q1_s == single.q3_s == 0.5 and single.n == 1
    d = wide.to_dict()
    assert d["n"] == 6 and d["wide_spread"] is True and len(d["samples_s"]) == 6


@pytest.mark.parametrize("kwargs", [dict(warmup=-1), dict(min_repeats=0), dict(min_repeats=5, max_repeats=4),
                                    dict(budget_s=-1.0), dict(budget_s=float("nan"))])
def test_bad_measure_arguments(kwargs):
    with pytest.raises(ValueError):
        measure(lambda: None, **kwargs)


def test_list_devices_explains_what_is_absent():
    options = {o.name: o for o in list_devices()}
    assert options["cpu"].available and options["cpu"].reason == ""
    for name in ("cuda", "mps"):
        o = options[name]
        assert o.available == (o.reason == "")
    if torch.version.cuda is None:
        assert "no CUDA" in options["cuda"].reason


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="not a device name"):
        resolve_device("gpu!")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available"):
            resolve_device("cuda")


def test_no_cuda_events_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("CUDA is present")
    with pytest.raises(ValueError, match="CUDA"):
        timing.measure_cuda_events(lambda: None)


def test_dtypes():
    assert timing.resolve_dtype("bfloat16") is torch.bfloat16
    assert timing.resolve_dtype("torch.float64") is torch.float64
    assert timing.check_dtype("cpu", torch.bfloat16) is torch.bfloat16
    assert timing.check_dtype("cuda", "float16") is torch.float16
    with pytest.raises(ValueError, match="bfloat16 or float32"):
        timing.check_dtype("cpu", "float16")
    with pytest.raises(ValueError, match="no float64"):
        timing.check_dtype("mps", torch.float64)
    with pytest.raises(ValueError, match="use one of"):
        timing.resolve_dtype("int8")
    with pytest.raises(ValueError, match="use one of"):
        timing.resolve_dtype(torch.int32)


def test_steady_cpu_allocator_applies_on_glibc():
    applied = timing.steady_cpu_allocator()
    assert applied == (platform.libc_ver()[0] == "glibc")
    assert timing.steady_cpu_allocator() == applied  # safe to call twice
