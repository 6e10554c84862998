"""Fast checks of the benchmark scripts' non-GPU logic (the full runs are benchmarks, not tests)."""

from __future__ import annotations

import importlib.util
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
