"""CUDA paths of the block builder, the three forms and the timing helper. Skipped, with the reason, without a GPU."""

import pytest
import torch

from resnext_viz.blocks.builder import BlockConfig
from resnext_viz.blocks.timing import time_block
from resnext_viz.blocks.forms import FormSpec, compare_forms
from resnext_viz.timing import list_devices, measure

CUDA = next(d for d in list_devices() if d.name == "cuda")
pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not CUDA.available, reason=f"needs an NVIDIA GPU: {CUDA.reason}")]


def test_block_times_on_cuda_with_peak_memory():
    result = time_block(BlockConfig(batch=32), "cuda", "float32", budget_s=0.5)
    assert result.forward.median_s > 0 and result.forward_backward.median_s > result.forward.median_s
    assert result.peak_forward_bytes and result.peak_forward_backward_bytes >= result.peak_forward_bytes


def test_block_bf16_on_cuda():
    result = time_block(BlockConfig(batch=32), "cuda", "bfloat16", budget_s=0.3)
    assert result.dtype == "bfloat16" and result.forward.n >= 3


def test_three_forms_agree_on_cuda_in_float64():
    cmp = compare_forms(FormSpec(stride=2, height=15, width=11), "cuda", torch.float64, time_forms=False)
    assert max(cmp.max_abs_diff.values()) < 1e-10


def test_measure_synchronises_real_cuda_work():
    x = torch.randn(4096, 4096, device="cuda")
    t = measure(lambda: x @ x, "cuda", warmup=2, min_repeats=5, budget_s=0.2)
    # 2 * 4096^3 FLOPs cannot take less than 10 microseconds on any GPU; an unsynchronised timer would say so
    assert t.median_s > 1e-5
