"""Issue 9: resource bounds checked before any work, and the Block builder's timing and table defects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from resnext_viz import budget
from resnext_viz.blocks import timing as block_timing
from resnext_viz.blocks import forms
from resnext_viz.blocks.builder import BlockConfig, layer_table
from resnext_viz.blocks.forms import FormSpec
from resnext_viz.timing import Timing
from tests.conftest import run_page

ROOT = Path(__file__).resolve().parents[2]
BUILDER, FORMS = "pages/block_builder.py", "pages/three_forms.py"
# The largest settings each page allows (block: the activation limit caps 256 x 4096 channels at 16 x 16).
LARGEST_BLOCK = BlockConfig(inplanes=4096, planes=1024, cardinality=32, base_width=8, batch=256, height=16, width=16)
LARGEST_FORMS = FormSpec(c_in=4096, C=512, d=8, c_out=4096, height=90, width=90)


@pytest.fixture(autouse=True)
def default_limits(monkeypatch):
    monkeypatch.delenv("RESNEXT_VIZ_MAX_SECONDS", raising=False)
    monkeypatch.delenv("RESNEXT_VIZ_MAX_MEMORY_MB", raising=False)


def _fail(*args, **kwargs):
    raise AssertionError("work started although the run is over the bounds")


# ------------------------------------------------------------------ the estimator and its check


def test_limits_default_and_from_environment(monkeypatch):
    assert budget.limits() == budget.Limits(10.0, 1024 * 2**20)
    monkeypatch.setenv("RESNEXT_VIZ_MAX_SECONDS", "2.5")
    monkeypatch.setenv("RESNEXT_VIZ_MAX_MEMORY_MB", "300")
    assert budget.limits() == budget.Limits(2.5, 300 * 2**20)
    monkeypatch.setenv("RESNEXT_VIZ_MAX_SECONDS", "fast")  # a typo keeps the default, never a crash
    monkeypatch.setenv("RESNEXT_VIZ_MAX_MEMORY_MB", "-1")
    assert budget.limits() == budget.Limits(10.0, 1024 * 2**20)


def test_check_names_the_bound_and_what_to_lower():
    bounds = budget.Limits(10.0, 2**30)
    assert budget.check(budget.Estimate(9.9, 2**30), "X", "the batch", bounds) is None
    only_time = budget.check(budget.Estimate(12.0, 10), "This timing", "the batch", bounds)
    assert "about 12 s of CPU time (the limit is 10 s)" in only_time and "memory" not in only_time
    assert only_time.startswith("This timing was not run: ") and only_time.endswith("Lower the batch.")
    both = budget.check(budget.Estimate(30.0, 3 * 2**30), "X", "the batch", bounds)
    assert "30 s" in both and "about 3.0 GB of memory (the limit is 1.0 GB)" in both


def test_estimates_grow_with_the_batch_and_the_dtype_size():
    small, big = BlockConfig(batch=2), BlockConfig(batch=16)
    assert budget.block_estimate(big).bytes > 6 * budget.block_estimate(small).bytes
    assert budget.block_estimate(big).seconds > budget.block_estimate(small).seconds
    spec = FormSpec()
    assert budget.forms_estimate(spec, "float64").bytes > 1.5 * budget.forms_estimate(spec, "float32").bytes


def test_defaults_fit_and_largest_settings_do_not():
    for b in (0.5, 1.0, 5.0):  # the Block builder's budget slider
        assert budget.check(budget.block_estimate(BlockConfig(), "float32", b), "X", "y") is None
    assert budget.check(budget.forms_estimate(FormSpec(), "float64", 0.6), "X", "y") is None
    assert budget.check(budget.block_estimate(LARGEST_BLOCK, "float32", 5.0), "X", "y") is not None
    assert budget.check(budget.forms_estimate(LARGEST_FORMS, "float64", 0.6), "X", "y") is not None


def test_block_refused_before_any_tensor_at_the_largest_settings(monkeypatch):
    monkeypatch.setattr(block_timing, "BlockStep", _fail)
    monkeypatch.setattr(block_timing, "_time", _fail)
    t0 = time.perf_counter()
    with pytest.raises(budget.BudgetExceeded, match="Lower the batch") as err:
        block_timing.time_block(LARGEST_BLOCK, "cpu", "float32", 5.0)
    assert time.perf_counter() - t0 < 1.0
    assert isinstance(err.value, ValueError) and "was not run" in str(err.value)


def test_forms_refused_before_any_tensor_at_the_largest_settings(monkeypatch):
    monkeypatch.setattr(forms, "build_forms", _fail)
    t0 = time.perf_counter()
    with pytest.raises(budget.BudgetExceeded, match="Lower the input height and width"):
        forms.compare_forms(LARGEST_FORMS, "cpu", "float64", budget_s=0.6)
    assert time.perf_counter() - t0 < 1.0


def test_owner_can_tighten_the_bounds(monkeypatch):
    monkeypatch.setenv("RESNEXT_VIZ_MAX_MEMORY_MB", "1")
    monkeypatch.setattr(forms, "build_forms", _fail)
    with pytest.raises(budget.BudgetExceeded, match="limit is 1 MB"):
        forms.compare_forms(FormSpec(), "cpu", "float64")


# Measured runs, each in a fresh process (peak RSS only grows, so one run per process): the estimate
# must be on the safe side (>= measured) and not absurdly so (within the stated factors).
TIME_FACTOR, MEMORY_FACTOR = 15.0, 4.0
MEASURED = [
    ("block", {}, "float32", 0.05),
    ("block", {"batch": 4, "inplanes": 1024, "planes": 256, "cardinality": 64, "height": 14, "width": 14},
     "float32", 0.05),
    ("block", {}, "bfloat16", 0.05),
    ("forms", {"C": 64, "d": 1, "height": 56, "width": 56}, "float32", 0.05),
    ("forms", {"c_in": 1024, "C": 8, "d": 64, "c_out": 1024, "height": 28, "width": 28}, "float32", 0.05),
]


@pytest.mark.parametrize("kind, params, dtype, budget_s", MEASURED, ids=lambda v: str(v))
def test_estimate_is_on_the_safe_side_of_a_measured_run(kind, params, dtype, budget_s):
    env = dict(os.environ, PYTHONPATH=str(ROOT), RESNEXT_VIZ_MAX_SECONDS="1000", RESNEXT_VIZ_MAX_MEMORY_MB="100000")
    out = subprocess.run([sys.executable, str(ROOT / "tests" / "fix9_measure_run.py"), kind, json.dumps(params),
                          dtype, str(budget_s)], capture_output=True, text=True, env=env, timeout=120, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["wall"] <= r["est_s"] <= TIME_FACTOR * r["wall"], r
    assert r["mem"] <= r["est_b"] <= MEMORY_FACTOR * r["mem"], r


# ------------------------------------------------------------------ Block builder defects


def _fake_timing(fwd_s: float, fb_s: float, spread: bool):
    def t(m):
        return Timing.from_samples([m, m * 3, m, m * 0.5, m * 4] if spread else [m] * 5, "cpu", 2)

    def fake(cfg, device="cpu", dtype="float32", budget_s=1.0, progress=None, *, seed=0):
        f, b = t(fwd_s), t(fb_s)
        table = layer_table(cfg)
        return block_timing.BlockTiming(cfg, "cpu", "float32", f, b, table.params, table.macs, None, None,
                                        tuple(n.note for n in (f, b) if n.note))
    return fake


def test_each_spread_warning_shown_once(monkeypatch):
    monkeypatch.setattr(block_timing, "time_block", _fake_timing(0.010, 0.030, spread=True))
    at = run_page(BUILDER)
    at.button(key="blk_time").click().run()
    assert not at.exception
    captions = [c.value for c in at.caption if c.value.startswith("The timings spread widely")]
    assert len(captions) == 2  # one for forward, one for forward+backward: each once
    assert not at.warning


def test_impossible_ordering_is_flagged_with_measure_again(monkeypatch):
    monkeypatch.setattr(block_timing, "time_block", _fake_timing(0.030, 0.010, spread=False))
    at = run_page(BUILDER)
    at.button(key="blk_time").click().run()
    assert not at.exception
    assert "Forward + backward (10.00 ms) came out faster than forward alone (30.00 ms)" in at.warning[0].value
    calls = []
    monkeypatch.setattr(block_timing, "time_block", lambda *a, **k: calls.append(1) or _fake_timing(0.01, 0.03, False)(*a, **k))
    at.button(key="blk_again").click().run()
    assert calls == [1] and not at.warning  # measured again, and the new numbers are in order


def test_ordering_problem_only_when_training_step_is_faster():
    fake = _fake_timing(0.010, 0.030, spread=False)(BlockConfig())
    assert fake.ordering_problem is None
    assert "cannot be right" in _fake_timing(0.030, 0.010, spread=False)(BlockConfig()).ordering_problem


def test_layer_table_shows_stride_and_groups_as_whole_numbers():
    at = run_page(BUILDER, {"stride": "2"})
    assert not at.exception
    df = at.dataframe[0].value
    rows = dict(zip(df["layer"], zip(df["stride"], df["groups"])))
    assert rows["conv2"] == ("2", "32") and rows["conv1"] == ("1", "1")
    assert rows["bn1"] == ("—", "—") and rows["total"] == ("—", "—")


def test_block_builder_refusal_is_a_message(monkeypatch):
    monkeypatch.setattr(block_timing, "BlockStep", _fail)
    at = run_page(BUILDER, {"batch": "64"})
    at.button(key="blk_time").click().run()
    assert not at.exception
    assert "This timing was not run" in at.error[0].value and "Lower the batch" in at.error[0].value


def test_three_forms_refusal_is_a_message(monkeypatch):
    import streamlit as st

    monkeypatch.setenv("RESNEXT_VIZ_MAX_SECONDS", "0.01")
    try:
        at = run_page(FORMS)
    finally:
        st.cache_data.clear()  # ui.compare_forms caches its answer, the refusal too: later tests get the default bounds
    assert not at.exception
    assert "This comparison was not run: from its layer sizes it could take up to about" in at.error[0].value


def test_layer_table_kinds_fit_their_column():
    records = layer_table(BlockConfig(stride=2)).records()
    kinds = {r["layer"]: r["kind"] for r in records}
    assert kinds["downsample.0"] == "shortcut 1×1 conv"
    assert max(len(k) for k in kinds.values() if k) <= 17  # "shortcut 1×1 conv": the longest that fits (screenshot)
