"""Issue 9: lesson sentences computed from their numbers, the roofline, the noise flag and the cuDNN toggle."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from resnext_viz.lab import figures as FL
from resnext_viz.lab import sweep as lab
from resnext_viz.lab import reference as lab_reference
from resnext_viz.lab.sweep import LabConfig, LabResult
from resnext_viz.timing import Timing
from tests.conftest import run_page

ANCHOR = lab_reference.load_anchor()
LAB = "pages/performance_lab.py"
TINY = {"lab_channels": "12", "lab_size": "6", "lab_batch": "1", "lab_budget": "3"}


# ---------------------------------------------------------------- item 1: roofline reasoning, computed

def test_roofline_numbers_match_the_reference_facts():
    roof = lab_reference.roofline_numbers(ANCHOR)
    assert roof["balance"] == pytest.approx(494.7 / 3.35)  # ~148 FLOP/B for TF32
    assert round(roof["intensity_1"]) == 287 and roof["intensity_1"] > roof["balance"]  # compute-bound
    assert round(roof["floor_us_32"]) == 61
    assert round(roof["bw_frac_32"], 2) == 0.31 and round(roof["tbs_32"], 2) == 1.04
    assert round(roof["us_128"]) == 97 and round(roof["tbs_128"], 1) == 2.1


def test_lesson_no_longer_says_bytes_set_both_times_and_follows_its_numbers():
    text = lab_reference.lesson(ANCHOR)["Fewer FLOPs, same bytes"]
    assert "because both move the same" not in text
    for cited in ("~148 FLOP per byte", "compute-bound", "memory-bound", "~61 µs", "~31% of peak", "97 µs",
                  "coincidence"):
        assert cited in text, cited
    # change the anchor's G=32 time: the computed sentence follows it
    conv = tuple(dataclasses.replace(c, ms=c.ms * 2) if (c.groups == 32 and c.dtype == "float32") else c
                 for c in ANCHOR.conv)
    slower = dataclasses.replace(ANCHOR, conv=conv)
    changed = lab_reference.lesson(slower)["Fewer FLOPs, same bytes"]
    assert "~15% of peak" in changed and "~31% of peak" not in changed


def test_cudnn_cpu_and_timm_sentences():
    text = " ".join(lab_reference.lesson(ANCHOR).values())
    for cited in ("cudnn.benchmark = False", "G = 64 bump too", "2.3×", "8.7×", "channels_last", "1.01–1.18×",
                  "76.9 vs 67.2", "30.9 vs 30.5", "14.4 M vs 11.1 M"):
        assert cited in text, cited
    assert "little parallel work to lose" not in text  # the speculation is gone


def fake_result(cfg: LabConfig, seconds_of) -> LabResult:
    timed = [(c, Timing.from_samples([seconds_of(c)] * 3), 1) for c in lab.cases(cfg)]
    return LabResult(cfg, lab._rows(timed), (), 1.0, 1, "test CPU", "2.13", 0.0)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_roofline_traces_carry_the_datasheet_ceilings(dtype):
    fig = FL.speed_vs_intensity(None, ANCHOR, dtype)
    peak, bw = lab_reference.H100_PEAK[dtype]
    flops = next(t for t in fig.data if t.name == FL.ROOF_FLOPS_NAME)
    band = next(t for t in fig.data if t.name == FL.ROOF_BW_NAME)
    assert set(flops.y) == {peak / 1e9}
    assert band.y[0] == pytest.approx(bw * band.x[0] / 1e9) and band.y[-1] == pytest.approx(peak / 1e9)
    assert band.x[-1] == pytest.approx(peak / bw) == flops.x[0]  # the two ceilings meet at the balance point
    assert fig.layout.meta["roofline"]["peak_gflops"] == peak / 1e9


def test_cpu_roofline_is_stated_unknown_not_invented():
    res = fake_result(LabConfig(channels=4, size=4, batch=1), lambda c: 1e-3)
    fig = FL.speed_vs_intensity(res, ANCHOR)
    assert "unknown" in fig.layout.meta["roofline"]["yours"]
    assert any("unknown" in a.text for a in fig.layout.annotations)
    assert sum(1 for t in fig.data if t.legendgroup == "roofline") == 2  # the H100's only


# ---------------------------------------------------------------- the noise flag

def row(median: float, q1: float, q3: float, groups: int = 1) -> lab.LabRow:
    return lab.LabRow("conv3x3", "x", groups, 0, 0, 0, 1, 1, 1.0, median, q1, q3, (q3 - q1) / median, 3, 1,
                      None, None, 1.0, "")


def test_ratio_interval_and_note_on_constructed_timings():
    assert lab.ratio_interval(1.0, 2.0, 4.0, 8.0) == (0.125, 0.5)
    loop, kernel = row(0.72e-3, 0.6e-3, 1.1e-3), row(1e-3, 0.9e-3, 1.2e-3)  # overlapping: noise
    assert lab.ratio_note(loop, kernel) == "≈1 (within noise)"
    tight_loop, tight_kernel = row(0.72e-3, 0.71e-3, 0.73e-3), row(1e-3, 0.99e-3, 1.01e-3)
    assert lab.ratio_note(tight_loop, tight_kernel) == ""  # a real difference between two calls
    assert "should be 1" in lab.ratio_note(tight_loop, tight_kernel, same_call=True)  # same call: drift
    assert lab.ratio_note(row(5e-3, 4.9e-3, 5.1e-3), tight_kernel) == ""


def test_conv_table_flags_the_g1_loop_ratio():
    cfg = LabConfig(channels=4, size=4, batch=1, bottleneck=False)
    res = fake_result(cfg, lambda c: 0.7e-3 if (c.method == "per-group loop" and c.groups == 1) else 1e-3)
    table = lab.conv_table(res)
    assert table[0]["loop ÷ kernel"] == 0.7 and "should be 1" in table[0]["loop ÷ kernel noise"]


# ---------------------------------------------------------------- the cuDNN toggle

def test_cudnn_benchmark_is_set_for_the_run_and_restored():
    before = torch.backends.cudnn.benchmark
    with lab.cudnn_benchmark(not before):
        assert torch.backends.cudnn.benchmark is (not before)
    assert torch.backends.cudnn.benchmark is before
    with pytest.raises(RuntimeError), lab.cudnn_benchmark(True):
        raise RuntimeError("interrupted")
    assert torch.backends.cudnn.benchmark is before
    with lab.cudnn_benchmark(None):
        assert torch.backends.cudnn.benchmark is before
    with pytest.raises(ValueError, match="cudnn_benchmark"):
        LabConfig(cudnn_benchmark="yes")
    assert "cudnn.benchmark on" in LabConfig(device="cuda", cudnn_benchmark=True, bottleneck=False).describe()


def test_cudnn_toggle_absent_on_cpu():
    at = run_page(LAB, {**TINY, "lab_cudnn_benchmark": "true"})
    assert not at.exception
    assert "lab_cudnn" not in [t.key for t in at.toggle]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="the cuDNN toggle is shown on CUDA only")
def test_cudnn_toggle_round_trips_on_cuda():
    at = run_page(LAB, {**TINY, "device": "cuda", "lab_cudnn_benchmark": "true"})
    assert not at.exception
    toggle = at.toggle(key="lab_cudnn")
    assert toggle.value is True
    toggle.set_value(False).run()
    assert at.query_params["lab_cudnn_benchmark"] in ("false", ["false"])


# ---------------------------------------------------------------- items 6-10: the other lessons

def test_two_settings_counts_on_the_meta_device():
    from resnext_viz.blocks.stages import two_settings
    counts = list(two_settings().values())
    assert counts == [25_557_032, 667_000_104, 14_593_448, 25_028_904]


def test_resnet_vs_resnext_page_says_two_settings_and_shows_the_counts():
    at = run_page("pages/resnet_vs_resnext.py")
    assert not at.exception
    text = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "changes one thing" not in text and "`width_per_group=4`" in text
    for n in ("667,000,104", "14,593,448", "25,028,904"):
        assert n in text, n
    assert any("depth ≥ 3" in h.value for h in at.subheader)


def test_preserved_claim_is_computed_from_the_rows_shown():
    from resnext_viz.blocks import cardinality as card
    default = card.solve_preserved_complexity()
    text = card.preserved_claim(default)
    assert f"from {min(default, key=lambda r: r.C).width}" in text and "Table 4" in text and "22.3" in text
    few = card.solve_preserved_complexity(cardinalities=(2, 8))
    other = card.preserved_claim(few)
    assert f"from {few[0].width} at C = 2 to {few[-1].width} at C = 8" in other
    assert "from 64 to 128" not in other


def test_v2_accuracy_is_labelled_as_torchvisions_recipe():
    from resnext_viz.inside.weights import WEIGHTS
    assert "torchvision's retrained recipe" in WEIGHTS["IMAGENET1K_V2"].accuracy_note
    assert "81.2%" in WEIGHTS["IMAGENET1K_V2"].accuracy_note
    assert WEIGHTS["IMAGENET1K_V1"].accuracy_note == "ImageNet top-1 77.6%"


def test_batch_norm_rows_say_not_counted_but_keep_numbers():
    from resnext_viz.blocks.builder import BlockConfig, layer_table
    table = layer_table(BlockConfig())
    records = table.records()
    key = f"MACs (batch {table.batch})"
    bn = [r for r in records if r["kind"] == "batch norm"]
    assert bn and all(r[key] is None for r in bn)
    assert all(isinstance(r[key], int) and r[key] > 0 for r in records if r["kind"] and "conv" in r["kind"])
    assert records[-1][key] == table.macs


def test_three_forms_and_parameter_pages_state_the_precise_claims():
    at = run_page("pages/three_forms.py")
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "after the sum" in text and "1×1s and" in text
    at = run_page("pages/parameters.py")
    assert not at.exception
    cap = " ".join(c.value for c in at.caption)
    assert "fixed width" in cap and "multiply-adds" in cap and "mode=fixed" in cap


def test_format_pair_and_table_on_constructed_runs():
    cfg = LabConfig(channels=4, size=4, batch=1, bottleneck=False, loop=False)
    nchw = fake_result(cfg, lambda c: 1e-3 * c.groups)
    cl = fake_result(cfg.with_(channels_last=True), lambda c: 0.5e-3 * c.groups)
    assert lab.format_pair({False: nchw}) is None
    assert lab.format_pair({False: nchw, True: fake_result(cfg.with_(channels_last=True, size=5), lambda c: 1e-3)}) \
        is None  # different settings: not a comparison
    pair = lab.format_pair({False: nchw, True: cl})
    assert pair == (nchw, cl)
    table = lab.format_table(*pair)
    assert [r["G"] for r in table] == [1, 2, 4]
    assert [r["NCHW ÷ channels_last"] for r in table] == [2.0, 2.0, 2.0]
    assert table[-1]["NCHW ÷ dense"] == 4.0


def test_lab_page_shows_both_memory_formats_after_two_runs():
    at = run_page(LAB, TINY)
    at.button(key="lab_run").click().run()
    assert not at.exception and "channels_last off and once on" in " ".join(c.value for c in at.caption)
    at.toggle(key="lab_cl").set_value(True).run()
    at.button(key="lab_run").click().run()
    assert not at.exception
    frames = [d.value for d in at.dataframe]
    assert any("NCHW ÷ channels_last" in f.columns for f in frames)
