"""Tests for the block builder: config validation, layer table totals, generated code, block timing."""

from __future__ import annotations

import contextlib
import io

import pytest
import torch

from resnext_viz.blocks import timing as block_timing
from resnext_viz.blocks.builder import (BlockConfig, block_code, build_block, flop_counter_macs, layer_table,
                                       output_shape)
from resnext_viz.blocks.timing import BlockStep, DeviceOutOfMemory, time_block

CONFIGS = [
    BlockConfig(batch=2),  # ResNeXt-50 stage 1, 32x4d
    BlockConfig(inplanes=64, planes=64, cardinality=32, base_width=4, batch=1, height=16, width=16),  # stage 1, block 1
    BlockConfig(inplanes=256, planes=128, cardinality=32, base_width=4, stride=2, batch=2, height=9, width=13),
    BlockConfig(inplanes=256, planes=64, cardinality=1, base_width=64, batch=3, height=7, width=7),  # ResNet-50
    BlockConfig(inplanes=256, planes=64, cardinality=8, base_width=14, downsample="on", batch=1, height=5, width=6),
]


def test_default_is_resnext50_stage1():
    cfg = BlockConfig()
    assert (cfg.d, cfg.bottleneck_width, cfg.out_channels) == (4, 128, 256)
    assert not cfg.needs_downsample and not cfg.has_downsample
    assert output_shape(cfg) == (8, 256, 56, 56)


@pytest.mark.parametrize("kwargs, message", [
    (dict(planes=8, base_width=4), r"planes 8 with base width 4 gives 0 channels per group.*planes >= 16"),
    (dict(inplanes=0), "inplanes must be between 1 and 4096"),
    (dict(inplanes=5000), "inplanes must be between 1 and 4096"),
    (dict(planes=2000), "planes must be between 1 and 1024"),
    (dict(cardinality=513), "cardinality must be between 1 and 512"),
    (dict(stride=3), "stride must be 1 or 2"),
    (dict(batch=0), "batch must be between 1 and 256"),
    (dict(batch=257), "batch must be between 1 and 256"),
    (dict(height=513), "height must be between 1 and 512"),
    (dict(width=0), "width must be between 1 and 512"),
    (dict(base_width=64, cardinality=128), "over the 4096 limit"),
    (dict(stride=2, downsample="off"), "stride 2 halves the output.*'auto' or 'on'"),
    (dict(inplanes=64, downsample="off"), "inplanes 64 differs.*'auto' or 'on'"),
    (dict(downsample="maybe"), "downsample must be one of auto, on, off"),
    (dict(planes=2.5), "planes must be a whole number"),
    (dict(stride=True), "stride must be a whole number"),
    (dict(batch=256, inplanes=1024, height=512, width=512), "largest feature map"),
])
def test_bad_configs_say_what_to_change(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BlockConfig(**kwargs)


@pytest.mark.parametrize("cfg", CONFIGS, ids=str)
def test_block_shape_params_and_macs(cfg):
    block = build_block(cfg)
    assert not block.training
    assert (block.downsample is not None) == cfg.has_downsample
    x = torch.randn(cfg.batch, cfg.inplanes, cfg.height, cfg.width)
    with torch.no_grad():
        assert tuple(block(x).shape) == output_shape(cfg)
    table = layer_table(cfg)
    assert table.params == sum(p.numel() for p in block.parameters())
    meta_block = build_block(cfg, device="meta")
    assert table.macs == flop_counter_macs(meta_block, x.to("meta"))
    assert table.macs_per_image * cfg.batch == table.macs


def test_layer_rows_name_the_grouped_conv_and_batch_norms():
    cfg = CONFIGS[2]  # stride 2 with a projection shortcut
    rows = {r.name: r for r in layer_table(cfg).rows}
    assert list(rows) == ["conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "downsample.0", "downsample.1"]
    conv2 = rows["conv2"]
    assert conv2.kind == "grouped 3×3 conv" and conv2.groups == 32 and conv2.stride == 2
    assert conv2.weight_shape == (256, 8, 3, 3) and conv2.output_shape == (2, 256, 5, 7)
    assert rows["bn2"].params == 2 * 256 and rows["bn2"].macs == 0
    assert rows["downsample.0"].kind.endswith("(shortcut projection)")
    records = layer_table(cfg).records()
    assert records[-1]["layer"] == "total" and records[-1]["parameters"] == layer_table(cfg).params


def test_same_seed_same_weights_and_global_rng_untouched():
    cfg = CONFIGS[1]
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b = build_block(cfg, seed=5), build_block(cfg, seed=5)
    assert torch.rand(1) == before
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    assert not torch.equal(a.conv2.weight, build_block(cfg, seed=6).conv2.weight)


@pytest.mark.parametrize("cfg", CONFIGS, ids=str)
def test_block_code_rebuilds_the_same_block(cfg):
    code = block_code(cfg)
    imports = [line for line in code.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["import torch", "from torch import nn"]
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<block_code>", "exec"), namespace)
    ours = build_block(cfg).state_dict()
    theirs = namespace["block"].state_dict()
    assert list(theirs) == list(ours)
    assert all(theirs[k].shape == ours[k].shape for k in ours)
    printed = out.getvalue()
    assert f"output shape: {output_shape(cfg)}" in printed
    assert f"parameters: {layer_table(cfg).params}" in printed


def test_time_block_on_cpu_reports_both_phases():
    cfg = BlockConfig(inplanes=64, planes=16, cardinality=4, base_width=16, batch=2, height=8, width=8)
    seen: list[float] = []
    result = time_block(cfg, "cpu", torch.float32, budget_s=0.2, progress=seen.append)
    assert result.forward.n >= 3 and result.forward_backward.n >= 3
    assert result.forward.median_s > 0 and result.forward_backward.median_s > 0
    assert result.peak_forward_bytes is None and result.peak_forward_backward_bytes is None
    assert result.params == layer_table(cfg).params and result.macs == layer_table(cfg).macs
    assert result.device == "cpu" and result.dtype == "float32"
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert result.images_per_s > 0 and result.forward_gmacs_per_s > 0


def test_time_block_bfloat16_and_single_pixel_note():
    cfg = BlockConfig(inplanes=32, planes=16, cardinality=2, base_width=32, batch=1, height=1, width=1)
    result = time_block(cfg, "cpu", "bfloat16", budget_s=0.05)
    assert result.dtype == "bfloat16"
    assert any("eval mode" in n for n in result.notes)


def test_forward_backward_fills_gradients():
    step = BlockStep(CONFIGS[1])
    step.forward_backward()
    assert step.block.conv2.weight.grad is not None and step.x_train.grad is not None
    assert step.block.training  # a training step runs batch norm in train mode


@pytest.mark.parametrize("device, dtype, message", [
    ("cpu", torch.float16, "float16 on the CPU"),
    ("cpu", "int8", "not a dtype offered"),
    ("tpu", torch.float32, "not a device name|not supported"),
])
def test_time_block_rejects_bad_device_dtype(device, dtype, message):
    with pytest.raises(ValueError, match=message):
        time_block(CONFIGS[1], device, dtype, budget_s=0.01)


def test_time_block_rejects_absent_cuda():
    if torch.cuda.is_available():
        pytest.skip("CUDA is present")
    with pytest.raises(ValueError, match="not available"):
        time_block(CONFIGS[1], "cuda")


def test_out_of_memory_becomes_a_clear_error(monkeypatch):
    def boom(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
    monkeypatch.setattr(block_timing, "_time", boom)
    with pytest.raises(DeviceOutOfMemory, match="lower the batch"):
        time_block(CONFIGS[1], "cpu")

    def other(*args, **kwargs):
        raise RuntimeError("something else")
    monkeypatch.setattr(block_timing, "_time", other)
    with pytest.raises(RuntimeError, match="something else"):
        time_block(CONFIGS[1], "cpu")
