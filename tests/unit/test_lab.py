"""Tests for resnext_viz.lab: FLOPs against FlopCounterMode, the per-group loop, budget, progress, threads, CSV."""

from __future__ import annotations

import csv
import io
import threading
import time

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from resnext_viz.lab import result as lab_result
from resnext_viz.lab import sweep as lab
from resnext_viz.lab import reference as lab_reference
from resnext_viz.blocks.timing import DeviceOutOfMemory
from resnext_viz.blocks.cardinality import TABLE2_PAPER
from resnext_viz.lab.sweep import LabConfig

TINY = dict(channels=8, size=6, batch=2, budget_s=2.0)


def counted_flops(fn) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn.module(fn.input)
    return counter.get_total_flops()


@pytest.mark.parametrize("cfg", [LabConfig(channels=12, size=7, batch=2), LabConfig(channels=16, size=5, batch=1),
                                 LabConfig(channels=6, size=4, batch=3, channels_last=True)],
                         ids=["12ch", "16ch", "6ch-channels_last"])
def test_flops_match_flop_counter_for_every_configuration(cfg):
    todo = lab.cases(cfg)
    assert [c.groups for c in todo if c.method == "grouped kernel"] == lab.divisors(cfg.channels)
    assert [c.groups for c in todo if c.method == "per-group loop"] == lab.divisors(cfg.channels)
    assert [(c.groups, c.d) for c in todo if c.part == "bottleneck"] == [(C, d) for C, d, _ in TABLE2_PAPER]
    for case in todo:
        fn = lab.build_callable(case, cfg)
        assert counted_flops(fn) == case.flops, case.label


def test_flop_and_byte_formulas_by_hand():
    # 128 -> 128, G = 32, batch 64, 56x56 (the H100 reference): 2 * 64 * 128 * 3136 * 4 * 9 FLOPs
    assert lab.conv_flops(128, 32, 56, 64) == 2 * 64 * 128 * 3136 * 4 * 9 == 2 * 924_844_032
    act = 64 * 128 * 3136
    assert lab.conv_bytes(128, 32, 56, 64, 4) == 4 * (2 * act + 128 * 4 * 9)
    assert lab.conv_bytes(128, 32, 56, 64, 4, loop=True) == 4 * (4 * act + 128 * 4 * 9)
    # Table 2 at 56x56, one image: MACs 0.2184 G for 1x64d, 2 FLOPs each
    assert lab.bottleneck_flops(1, 64, 56, 1) == 2 * 69_632 * 3136
    intensities = [c.intensity for c in lab.cases(LabConfig(loop=False, bottleneck=False))]
    assert intensities == sorted(intensities, reverse=True)  # fewer FLOPs per byte as G grows


@pytest.mark.parametrize("channels_last", [False, True])
def test_group_loop_computes_the_grouped_convolution(channels_last):
    cfg = LabConfig(channels=12, size=9, batch=2, channels_last=channels_last)
    for G in cfg.groups:
        grouped = lab.build_callable(lab.Case("conv3x3", "grouped kernel", G, 12 // G, 12, 0, 0, 1), cfg, seed=3)
        looped = lab.build_callable(lab.Case("conv3x3", "per-group loop", G, 12 // G, 12, 0, 0, 1), cfg, seed=3)
        assert torch.equal(grouped.input, looped.input)
        assert torch.allclose(looped(), grouped(), atol=1e-5, rtol=1e-5), G
        # and both equal PyTorch's own grouped convolution of the same weights
        expect = F.conv2d(grouped.input, grouped.module.weight, padding=1, groups=G)
        assert torch.allclose(grouped(), expect, atol=1e-6)


def test_build_callable_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    lab.build_callable(lab.cases(LabConfig(**TINY))[0], LabConfig(**TINY))
    assert torch.equal(torch.rand(3), before)


def test_sweep_rows_ratios_and_tables():
    cfg = LabConfig(channels=8, size=6, batch=2, budget_s=3.0)
    result = lab.run_sweep(cfg)
    assert not result.skipped and result.seconds <= cfg.budget_s + 1.0
    grouped = result.part("conv3x3", "grouped kernel")
    assert [r.groups for r in grouped] == [1, 2, 4, 8]
    assert grouped[0].time_ratio == 1.0 and grouped[0].flops_ratio == 1.0
    for r in result.rows:
        assert r.median_s > 0 and r.q1_s <= r.median_s <= r.q3_s and r.samples >= 6  # >= 3 in each of 2 passes
        assert r.gflops_per_s == pytest.approx(r.flops / r.median_s / 1e9)
    assert [r.flops_ratio for r in grouped] == [1, 1 / 2, 1 / 4, 1 / 8]
    blocks = result.part("bottleneck")
    assert [r.groups for r in blocks] == [1, 2, 4, 8, 32] and blocks[0].time_ratio == 1.0
    table = lab.conv_table(result)
    assert [row["G"] for row in table] == [1, 2, 4, 8]
    assert {"kernel ms", "loop ms", "FLOPs ÷ dense", "FLOP/byte", "kernel GFLOP/s", "spread %"} <= set(table[0])
    assert table[1]["kernel ms"] == lab_result._sig(grouped[1].median_ms) and table[1]["FLOPs ÷ dense"] == 0.5
    assert [row["C × d"] for row in lab.bottleneck_table(result)] == ["1 × 64d", "2 × 40d", "4 × 24d", "8 × 14d",
                                                                      "32 × 4d"]
    assert any("G = 8" in line for line in lab.findings(result))


def test_csv_has_one_row_per_configuration_and_the_documented_columns():
    result = lab.run_sweep(LabConfig(channels=4, size=5, batch=1, budget_s=2.0, bottleneck=False))
    rows = list(csv.DictReader(io.StringIO(lab.to_csv(result))))
    assert len(rows) == len(result.rows) == 2 * 3
    assert list(rows[0]) == ["device", "dtype", "channels_last", "threads", "channels", "size", "batch",
                             *lab.CSV_COLUMNS]
    assert {"part", "method", "groups", "flops", "bytes", "intensity", "median_s", "time_ratio", "gflops_per_s",
            "spread", "samples"} <= set(lab.CSV_COLUMNS)
    for row, r in zip(rows, result.rows):
        assert row["method"] == r.method and int(row["groups"]) == r.groups
        assert float(row["median_s"]) == r.median_s and int(row["flops"]) == r.flops


def slow_callable(seconds: float, seen_threads: list[int] | None = None):
    def build(case, cfg, device=None, seed=0):
        def fn():
            if seen_threads is not None:
                seen_threads.append(torch.get_num_threads())
            time.sleep(seconds)
        return fn
    return build


def test_sweep_honours_its_budget_and_reports_progress_monotonically(monkeypatch):
    monkeypatch.setattr(lab, "build_callable", slow_callable(0.02))
    cfg = LabConfig(channels=64, size=4, batch=1, budget_s=1.0)  # 7 G x 2 methods + 5 blocks, 2 passes
    seen: list[lab.SweepProgress] = []
    start = time.perf_counter()
    result = lab.run_sweep(cfg, progress=seen.append)
    wall = time.perf_counter() - start
    # Each started step takes at most 2 warm-ups + 5 samples of 20 ms: the budget plus one step.
    assert wall <= cfg.budget_s + 0.3
    assert result.skipped, "a 1 s budget cannot fit 38 steps of 100 ms"
    assert len(result.rows) + len(result.skipped) == len(lab.cases(cfg))
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and fractions[0] < 0.1
    assert all(0 <= p.done <= p.total == len(lab.cases(cfg)) for p in seen)
    assert all(p.left_s <= cfg.budget_s for p in seen)
    assert "configurations" in seen[0].text() and "s left" in seen[0].text()
    assert "measured in" in seen[-1].text()
    assert any("budget ran out" in line for line in lab.findings(result))


def test_time_callable_times_short_calls_several_at_a_time(monkeypatch):
    # A fake clock that only the call moves (100 µs per call): the choice of k and the
    # division by k are checked exactly, whatever else the machine is doing.
    import resnext_viz.timing as timing_mod
    clock = [0.0]
    monkeypatch.setattr(lab, "_now", lambda: clock[0])
    monkeypatch.setattr(timing_mod, "_now", lambda: clock[0])

    def call():
        clock[0] += 100e-6

    t, k = lab.time_callable(call, "cpu", budget_s=0.2)
    assert k == 10  # 1 ms per sample / 100 µs per call
    assert t.median_s == pytest.approx(100e-6, rel=1e-6)
    t2, k2 = lab.time_callable(call, "cpu", budget_s=0.05, calls_per_sample=3)
    assert k2 == 3 and t2.n >= 3 and t2.median_s == pytest.approx(100e-6, rel=1e-6)


def test_time_callable_with_the_real_clock_times_a_short_call():
    def busy(us: float = 100.0):
        end = time.perf_counter() + us * 1e-6
        while time.perf_counter() < end:
            pass
    t, k = lab.time_callable(busy, "cpu", budget_s=0.2)
    assert 1 <= k <= 10  # a 100 µs call (or longer, if the machine is busy) is repeated, at most ten times
    assert t.median_s >= 100e-6 * 0.95


def test_thread_count_set_for_the_run_and_restored(monkeypatch):
    seen: list[int] = []
    monkeypatch.setattr(lab, "build_callable", slow_callable(0.0, seen))
    before = torch.get_num_threads()
    other = 1 if before != 1 else 2
    result = lab.run_sweep(LabConfig(channels=2, size=4, batch=1, budget_s=1.0, threads=other, bottleneck=False))
    assert set(seen) == {other} and result.threads == other
    assert torch.get_num_threads() == before


def test_interrupted_run_restores_threads_and_releases_the_lock():
    class Interrupted(Exception):
        pass

    def progress(p):
        if p.done >= 1:
            raise Interrupted  # as Streamlit stops a script when the learner changes a control

    before = torch.get_num_threads()
    with pytest.raises(Interrupted):
        lab.run_sweep(LabConfig(channels=4, size=4, batch=1, budget_s=2.0, threads=1 if before != 1 else 2),
                      progress=progress)
    assert torch.get_num_threads() == before
    assert not lab.RUN_LOCK.locked()


def test_a_second_run_waits_for_the_first():
    waited = threading.Event()
    out: list = []
    lab.RUN_LOCK.acquire()  # another session's run
    try:
        worker = threading.Thread(target=lambda: out.append(lab.run_sweep(
            LabConfig(channels=2, size=4, batch=1, budget_s=1.0, bottleneck=False, loop=False),
            on_wait=waited.set)))
        worker.start()
        assert waited.wait(5)
        time.sleep(0.1)
        assert not out  # still waiting
    finally:
        lab.RUN_LOCK.release()
    worker.join(10)
    assert out and out[0].waited_s >= 0.1 and len(out[0].rows) == 2


def test_out_of_memory_becomes_a_clear_error(monkeypatch):
    def build(case, cfg, device=None, seed=0):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    monkeypatch.setattr(lab, "build_callable", build)
    before = torch.get_num_threads()
    with pytest.raises(DeviceOutOfMemory, match="lower the batch"):
        lab.run_sweep(LabConfig(**TINY, threads=1 if before != 1 else 2))
    assert torch.get_num_threads() == before and not lab.RUN_LOCK.locked()


@pytest.mark.parametrize("kwargs, message", [
    (dict(channels=0), "channels must be between 1 and 1024"),
    (dict(channels=2048), "channels must be between 1 and 1024"),
    (dict(channels=8.0), "channels must be a whole number"),
    (dict(size=500), "size must be between 1 and 224"),
    (dict(batch=0), "batch must be between 1 and 64"),
    (dict(dtype="float64"), "dtype must be one of float32, bfloat16, float16"),
    (dict(budget_s=0.2), "time budget must be between 1 and 120 seconds"),
    (dict(threads=0), "threads must be a whole number of at least 1"),
    (dict(channels=1024, size=224, batch=2), "over the lab's 33,554,432 limit"),
    (dict(channels=512, size=56, batch=8), "over the CPU limit of 20 GFLOP"),
])
def test_invalid_settings_say_what_to_change(kwargs, message):
    with pytest.raises(ValueError, match=message) as err:
        LabConfig(**kwargs)
    assert str(err.value).endswith(".")


def test_absent_device_and_emulated_dtype_are_refused():
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available"):
            lab.run_sweep(LabConfig(**TINY, device="cuda"))
    with pytest.raises(ValueError, match="float16 on the CPU"):
        lab.run_sweep(LabConfig(**TINY, dtype="float16"))
    assert not lab.RUN_LOCK.locked()


def test_bfloat16_on_the_cpu_runs():
    result = lab.run_sweep(LabConfig(channels=4, size=4, batch=1, budget_s=1.0, dtype="bfloat16", bottleneck=False))
    assert len(result.rows) == 6 and result.config.dtype == "bfloat16"
    assert result.rows[0].bytes == lab.conv_bytes(4, 1, 4, 1, 2)  # 2 bytes per element


def test_anchor_numbers_and_their_derived_speeds():
    a = lab_reference.load_anchor()
    assert a.device == "NVIDIA H100 80GB HBM3" and a.torch.startswith("2.11")
    g1, g32 = a.conv_at("float32", 1), a.conv_at("float32", 32)
    assert round(g1.ms, 3) == 0.202 and round(g32.ms, 3) == 0.198 and round(a.conv_at("float32", 64).ms, 2) == 1.12
    assert round(a.conv_at("float32", 128).loop_ms, 1) == 4.1
    assert g1.tflops_per_s == pytest.approx(292.35, abs=0.01) and g32.tflops_per_s == pytest.approx(9.34, abs=0.01)
    for c in a.conv_rows("bfloat16"):
        assert c.params == 128 * 128 * 9 // c.groups
        assert c.flops == lab.conv_flops(128, c.groups, 56, 64)  # the lab's own count of the same convolution
    assert [(b.C, b.d, b.conv_params) for b in a.block_rows(64)] == [
        (1, 64, 69_632), (2, 40, 69_760), (4, 24, 69_888), (8, 14, 71_456), (32, 4, 70_144)]
    assert round(a.speed_ratio("infer bfloat16 bs128"), 2) == 0.85
    assert a.conv_rows("float16") == a.conv_rows("float32")  # no float16 data: fall back, never invent


def test_lesson_cites_the_h100_numbers():
    text = " ".join(lab_reference.lesson(lab_reference.load_anchor()).values())
    for number in ("0.202 ms", "292 TFLOP/s", "0.198 ms", "9.3 TFLOP/s", "1.12 ms", "4.1 ms", "0.097 ms",
                   "1.02 ms", "1.31 ms", "0.85×", "0.81×", "0.82×", "206 MB", "287 FLOP per byte", "9.0 FLOP per byte",
                   "CPU at batch 1", "1.41 ms", "2.40 ms", "16 threads", "0.75–0.84×", "guideline G2"):
        assert number in text, number


def test_cpu_run_keeps_freed_memory_while_it_runs_then_settles(monkeypatch):
    calls: list[tuple] = []
    monkeypatch.setattr(lab, "steady_cpu_allocator", lambda *a: calls.append(a) or True)
    monkeypatch.setattr(lab, "build_callable", slow_callable(0.0))
    lab.run_sweep(LabConfig(channels=2, size=4, batch=1, budget_s=1.0, bottleneck=False))
    assert calls == [(), (lab.ADAPTED_MMAP_THRESHOLD, lab.ADAPTED_TRIM_THRESHOLD)]
    calls.clear()
    with pytest.raises(RuntimeError, match="boom"), lab.steady_cpu_memory():
        raise RuntimeError("boom")
    assert len(calls) == 2  # settled after an interrupted run too
    with lab.steady_cpu_memory(False) as applied:
        assert applied is False
    assert len(calls) == 2


def test_feature_map_limit_is_larger_on_a_gpu():
    # the H100 anchor's setting (batch 64, 56x56, the 256-channel bottleneck) fits a GPU, not the CPU limit
    lab.LabConfig(channels=128, size=56, batch=64, device="cuda", dtype="float32")
    with pytest.raises(ValueError, match="limit on this device"):
        lab.LabConfig(channels=128, size=56, batch=64, device="cpu")
