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

BENCH = Path(__file__).resolve().parents[1] / "bench"


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
