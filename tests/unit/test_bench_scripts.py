"""Fast checks of the benchmark scripts' non-GPU logic (the full runs are benchmarks, not tests)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_check_refuses_without_cuda(capsys):
    if torch.cuda.is_available():
        pytest.skip("CUDA is present")
    assert load("gpu_check").main(["--device", "cuda"]) == 2
    assert "CUDA is not available" in capsys.readouterr().err


def test_cpu_reference_loop():
    t = load("gpu_check").reference(lambda: sum(range(1000)), "cpu", repeats=7)
    assert t.n == 7 and t.median_s > 0


def test_gpu_check_imports_neither_streamlit_nor_plotly():
    # The GPU machine has torch and numpy only: the script and everything it imports must do without.
    code = ("import importlib.util, sys; sys.path.insert(0, 'bench');"
            "spec = importlib.util.spec_from_file_location('gpu_check', 'bench/gpu_check.py');"
            "spec.loader.exec_module(importlib.util.module_from_spec(spec));"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'streamlit', 'plotly', 'pandas'}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=BENCH.parent, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_gpu_check_cpu_quick_path_runs_in_under_a_minute(tmp_path):
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "bench/gpu_check.py", "--device", "cpu", "--quick", "--threads", "1"],
                         cwd=BENCH.parent, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "OUT": str(tmp_path)})
    elapsed = time.perf_counter() - start
    assert out.returncode == 0, out.stderr
    assert elapsed < 60
    assert "lab grouped kernel G=16 16ch" in out.stdout and "lab per-group loop G=1 16ch" in out.stdout
    assert "lab rows within ±10% of the loop reference" in out.stdout
    result = json.loads((tmp_path / "gpu_check_cpu.json").read_text())
    lab_rows = result["lab"]
    assert {r["item"].split(" CL")[0].split()[-1] for r in lab_rows} == {"float32", "bfloat16"}
    assert sum("bottleneck" in r["item"] for r in lab_rows) == 10  # Table 2's five, in two dtypes
    assert all(r["ours_ms"] > 0 and r["ref_ms"] > 0 and r["ratio"] > 0 for r in lab_rows)
    assert result["forms_identity"]["ok"] and result["blocks"]


def bench_module(name: str):
    """Import a bench script as the suite does (bench/ on the path, so `from common import ...` works)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module(name)


def test_page_registry_skips_pages_not_written():
    common = bench_module("common")
    written, missing = common.present_pages([common.PageSpec("pages/parameters.py", "parameters"),
                                             common.PageSpec("pages/not_yet.py", "not_yet", None, 100)])
    assert [p.url for p in written] == ["parameters"] and [p.url for p in missing] == ["not_yet"]
    assert {p.file for p in common.PAGES} >= {"pages/parameters.py", "pages/performance_lab.py",
                                              "pages/cardinality.py", "pages/resnet_vs_resnext.py"}


def test_rows_compare_with_their_targets():
    Row = bench_module("common").Row
    assert Row("a", 40, "ms", 50).ok is True and Row("a", 60, "ms", 50).ok is False
    assert Row("a", 3, "", 1, higher_is_better=True).ok is True
    assert Row("a", float("nan"), "ms", 50).ok is None and Row("a", 1, "ms").ok is None


def test_unregistered_page_gets_its_first_number_input_nudged(tmp_path):
    from streamlit.testing.v1 import AppTest

    pages = bench_module("bench_pages")
    page = tmp_path / "p.py"
    page.write_text("import streamlit as st\nst.number_input('x', 1, 10, value=10, key='x')\n")
    at = AppTest.from_file(str(page))
    at.run()
    assert pages.pick_change(at, pages.PageSpec("p.py", "p")) == ("number_input", "x", (9, 10))
    assert pages.pick_change(at, pages.PageSpec("p.py", "p", ("toggle", "t", (True, False)))) == \
        ("toggle", "t", (True, False))


def test_run_all_reports_the_h100_target_from_the_newest_gpu_run(tmp_path, monkeypatch):
    run_all = bench_module("run_all")
    monkeypatch.setattr(run_all, "RESULTS", tmp_path)  # no fresh results: the kept H100 run is read
    sections = run_all.collect()
    speed = next(rows for title, rows in sections.items() if title.startswith("Issue 5"))
    h100 = [r for r in speed if "CUDA events on the GPU" in r.name]
    assert [r.target for r in h100] == [10, 10] and "bench/reference/gpu_check_h100.json" in h100[0].note
    monkeypatch.setattr(run_all, "ROOT", tmp_path)  # and without it, the row says how to measure
    none = run_all.gpu_rows(None, *run_all._gpu_run())
    assert len(none) == 1 and none[0].ok is None and "gpu_check.py" in none[0].note
    (tmp_path / "gpu_check.json").write_text(json.dumps({
        "environment": {"gpu": "NVIDIA H100"}, "lab_within": 1,
        "lab": [{"ratio": 1.04}, {"ratio": 0.85}]}))
    median, worst = run_all.gpu_rows(None, *run_all._gpu_run())
    assert worst.value == pytest.approx(15) and worst.ok is False
    assert "bench/results/gpu_check.json" in median.note


def test_run_all_tells_a_crash_from_a_missed_target(tmp_path, monkeypatch):
    run_all = bench_module("run_all")
    out = tmp_path / "x.json"
    monkeypatch.setattr(run_all, "BENCH", tmp_path)
    monkeypatch.setattr(run_all, "RESULTS", tmp_path)
    monkeypatch.setattr(run_all, "STEPS", {"x": ("x.py", [], [])})
    monkeypatch.setattr(run_all, "OUTPUTS", {"x": out})
    out.write_text("{}")  # last run's results must not survive a crash
    (tmp_path / "x.py").write_text("raise RuntimeError('boom')\n")
    status, _ = run_all.run_step("x", quick=True)
    assert status.startswith("FAILED (exit 1)") and not out.exists()
    (tmp_path / "x.py").write_text(f"open({str(out)!r}, 'w').write('{{}}'); raise SystemExit(1)\n")
    assert run_all.run_step("x", quick=True)[0] == "target missed"
    (tmp_path / "x.py").write_text("pass\n")
    assert run_all.run_step("x", quick=True)[0] == "ok"


def _load_test(monkeypatch):
    """Import bench/load_test.py as run from bench/ (it imports common.py; its dataclasses need sys.modules)."""
    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location("load_test", BENCH / "load_test.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "load_test", module)
    spec.loader.exec_module(module)
    return module


def test_load_test_statistics_fit_and_capacity(monkeypatch):
    lt = _load_test(monkeypatch)
    assert lt.percentile([1, 2, 3, 4], 50) == 2.5 and lt.percentile([5.0], 95) == 5.0
    assert lt.percentile([0, 10], 95) == pytest.approx(9.5)
    a, b = lt.fit_line([1, 2, 3, 6], [110, 120, 130, 160])
    assert a == pytest.approx(100) and b == pytest.approx(10)
    assert lt.learners_per_replica({1: 0.8, 5: 1.9, 10: 2.4, 20: 1.0}) == 5   # stops at the first miss
    assert lt.learners_per_replica({1: float("nan")}) == 0 and lt.learners_per_replica({1: 3.0}) == 0
    assert lt.replicas_for(30, 7) == 6 and lt.replicas_for(300, 10) == 31 and lt.replicas_for(30, 0) == 0  # + 1 spare
    assert lt.replicas_for(30, 40) == 2 and lt.replicas_for(300, 40) == 9  # deploy/README.md's two examples


def test_load_test_journey_includes_the_training_page_only_when_registered(monkeypatch):
    lt = _load_test(monkeypatch)
    steps = [name for name, _, _ in lt.journey(lt.Learner(index=3), "http://x", None)]
    assert steps[0] == "home" and not any(s.startswith("train") for s in steps)
    with_train = [name for name, _, _ in lt.journey(lt.Learner(index=3), "http://x", "Training")]
    assert with_train[-1].startswith("train") and with_train[:-1] == steps
    learners = [lt.Learner(index=i) for i in range(6)]
    assert len({(x.g1, x.g2) for x in learners}) == 6 and all(x.g1 != x.g2 != 32 for x in learners)
