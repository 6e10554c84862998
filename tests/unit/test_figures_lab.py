"""Structure of the performance-lab figures: the ideal line, the learner's ratios, the labelled H100 reference."""

from __future__ import annotations

import json

import pytest

from resnext_viz.lab import figures as FL
from resnext_viz.lab import sweep as lab
from resnext_viz.lab import reference as lab_reference
from resnext_viz.lab.sweep import LabConfig, LabResult
from resnext_viz.lab.reference import ANCHOR_LABEL
from resnext_viz.timing import Timing

RAW = json.loads(lab_reference.ANCHOR_PATH.read_text())  # the shipped H100 numbers, read independently of the loader
ANCHOR = lab_reference.load_anchor()


def fake_result(cfg: LabConfig, seconds_of) -> LabResult:
    """Return a LabResult whose every configuration took seconds_of(case) (no timing involved)."""
    timed = [(c, Timing.from_samples([seconds_of(c)] * 3), 1) for c in lab.cases(cfg)]
    return LabResult(cfg, lab._rows(timed), (), 1.0, 1, "test CPU", "2.13", 0.0)


@pytest.fixture
def result() -> LabResult:
    # grouped kernel: 1 ms / sqrt(G); loop: 1 ms + 0.1 ms per group; blocks: 2 ms * (1 + C / 100)
    def seconds(c: lab.Case) -> float:
        if c.part == "bottleneck":
            return 2e-3 * (1 + c.groups / 100)
        return 1e-3 / c.groups ** 0.5 if c.method == "grouped kernel" else 1e-3 + 1e-4 * c.groups
    return fake_result(LabConfig(channels=16, size=8, batch=2), seconds)


def by_name(fig, name: str):
    matches = [t for t in fig.data if t.name == name]
    assert len(matches) == 1, [t.name for t in fig.data]
    return matches[0]


def assert_reference_labelled(fig):
    refs = [t for t in fig.data if t.legendgroup == "h100"]
    assert refs
    for t in refs:
        assert t.name.startswith("H100") and ANCHOR_LABEL in t.legendgrouptitle.text
        assert t.line.dash == "dot" and t.marker.symbol.endswith("-open")
        assert all(ANCHOR_LABEL in h for h in t.hovertext)
    for t in fig.data:
        if t.legendgroup == "yours":
            assert "H100" not in t.name and t.legendgrouptitle.text.startswith("Measured here")
            assert t.line.dash is None


def test_time_ratio_figure_ideal_measured_and_reference(result):
    fig = FL.time_vs_flops(result, ANCHOR)
    ideal = by_name(fig, FL.IDEAL_NAME)
    assert list(ideal.x) == [1, 2, 4, 8, 16] and list(ideal.y) == [1, 1 / 2, 1 / 4, 1 / 8, 1 / 16]
    grouped = by_name(fig, "grouped kernel")
    assert list(grouped.y) == pytest.approx([1 / g ** 0.5 for g in (1, 2, 4, 8, 16)])
    loop = by_name(fig, "per-group loop")
    assert list(loop.y) == pytest.approx([(1 + 0.1 * g) for g in (1, 2, 4, 8, 16)])
    ref = by_name(fig, "H100 grouped kernel")
    f32 = {int(k.split("G=")[1]): v for k, v in RAW["conv3x3"].items() if k.startswith("float32")}
    assert list(ref.x) == sorted(f32)
    assert list(ref.y) == pytest.approx([f32[g]["ms"] / f32[1]["ms"] for g in sorted(f32)])
    assert ref.y[list(ref.x).index(64)] > 5  # the G = 64 anomaly: 1.12 ms against 0.202 ms
    ref_loop = by_name(fig, "H100 per-group loop")
    assert list(ref_loop.y) == pytest.approx([f32[g]["per_group_loop_ms"] / f32[1]["ms"] for g in sorted(f32)])
    assert_reference_labelled(fig)
    meta = fig.layout.meta
    assert meta["figure"] == "lab_time_ratio" and meta["ideal"] == list(ideal.y) and meta["measured"] == list(grouped.y)
    assert meta["reference"]["label"] == ANCHOR_LABEL and meta["reference"]["dtype"] == "float32"
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert "measured" in fig.layout.title.text


def test_time_ratio_before_any_run_shows_the_reference_alone():
    fig = FL.time_vs_flops(None, ANCHOR, "bfloat16")
    assert [t.name for t in fig.data] == [FL.IDEAL_NAME, "H100 grouped kernel", "H100 per-group loop"]
    bf16 = {int(k.split("G=")[1]): v for k, v in RAW["conv3x3"].items() if k.startswith("bfloat16")}
    assert list(by_name(fig, "H100 grouped kernel").y) == pytest.approx(
        [bf16[g]["ms"] / bf16[1]["ms"] for g in sorted(bf16)])
    assert list(by_name(fig, FL.IDEAL_NAME).y) == pytest.approx([1 / g for g in sorted(bf16)])
    assert "bfloat16" in fig.data[1].legendgrouptitle.text and "press Run" in fig.layout.title.text


def test_half_precision_runs_compare_with_the_bfloat16_reference(result):
    half = LabResult(result.config.with_(dtype="bfloat16"), result.rows, (), 1.0, 1, "x", "2.13", 0.0)
    assert FL.time_vs_flops(half, ANCHOR).layout.meta["reference"]["dtype"] == "bfloat16"
    assert FL.anchor_dtype("float16") == "bfloat16" and FL.anchor_dtype("float32") == "float32"


def test_speed_figure_uses_achieved_gflops_and_intensity(result):
    fig = FL.speed_vs_intensity(result, ANCHOR)
    grouped = by_name(fig, "grouped kernel")
    rows = result.part("conv3x3", "grouped kernel")
    assert list(grouped.x) == [r.intensity for r in rows]
    assert list(grouped.y) == pytest.approx([r.flops / r.median_s / 1e9 for r in rows])
    assert list(grouped.text) == [f"G={g}" for g in (1, 2, 4, 8, 16)]
    ref = by_name(fig, "H100 grouped kernel")
    f32 = [v for k, v in RAW["conv3x3"].items() if k.startswith("float32")]
    assert list(ref.y) == pytest.approx([2 * v["GMACs"] / v["ms"] * 1e3 for v in f32])  # GFLOP/s
    assert list(ref.y) == pytest.approx([v["TFLOPs"] * 1e3 for v in f32])  # the anchor's own TFLOP/s
    assert list(ref.x) == sorted(ref.x, reverse=True)  # intensity falls as G grows
    assert_reference_labelled(fig)
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"


def test_bottleneck_figure(result):
    fig = FL.bottleneck_ratio(result, ANCHOR)
    ideal = by_name(fig, FL.IDEAL_NAME)
    assert list(ideal.x) == ["1×64d", "2×40d", "4×24d", "8×14d", "32×4d"]
    assert list(ideal.y) == pytest.approx([p / 69_632 for p in (69_632, 69_760, 69_888, 71_456, 70_144)])
    assert list(by_name(fig, "bottleneck").y) == pytest.approx([(1 + C / 100) / 1.01 for C in (1, 2, 4, 8, 32)])
    ref = by_name(fig, "H100 bottleneck")
    ms = {int(k.split()[0][2:]): v["fwd_ms"] for k, v in RAW["blocks"].items() if k.endswith("bs64")}
    assert list(ref.y) == pytest.approx([ms[C] / ms[1] for C in (1, 2, 4, 8, 32)])
    assert_reference_labelled(fig)
    assert fig.layout.meta["figure"] == "lab_bottleneck"
    before = FL.bottleneck_ratio(None, ANCHOR)
    assert [t.name for t in before.data] == [FL.IDEAL_NAME, "H100 bottleneck"]


def test_figures_serialise_small(result):
    for fig in (FL.time_vs_flops(result, ANCHOR), FL.speed_vs_intensity(result, ANCHOR),
                FL.bottleneck_ratio(result, ANCHOR)):
        assert len(fig.to_json()) < 60_000
