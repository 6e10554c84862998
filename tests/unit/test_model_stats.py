"""Tests for the ResNet vs ResNeXt stage table, torchvision's key scheme, and the depth-2 argument."""

from __future__ import annotations

from collections import Counter

import pytest
from torch import nn

from resnext_viz.blocks.resnet import MODEL_FACTORIES
from resnext_viz.blocks.depth import depth2_max_abs_diff, depth_comparison
from resnext_viz.blocks.stages import stage_table

# (parameters, conv+linear GMACs) from REFERENCE.md (torchvision's model cards).
REFERENCE = {
    "resnet50": (25_557_032, 4.09),
    "resnext50_32x4d": (25_028_904, 4.23),
    "resnext101_32x8d": (88_791_336, 16.41),
    "resnext101_64x4d": (83_455_272, 15.46),
    "resnet101": (44_549_160, 7.80),
    "resnext101_32x4d": (44_177_704, None),
}


@pytest.mark.parametrize("name", REFERENCE)
def test_totals_match_reference(name):
    params, gmacs = REFERENCE[name]
    table = stage_table(name)
    assert table.params == params
    assert table.params == sum(p.numel() for p in MODEL_FACTORIES[name](device="meta").parameters())
    if gmacs is not None:
        assert table.macs / 1e9 == pytest.approx(gmacs, rel=0.005)
    assert [r.paper_name for r in table.rows] == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc"]
    assert table.records()[-1]["parameters"] == params


def test_resnext50_rows_follow_table1():
    rows = {r.name: r for r in stage_table("resnext50_32x4d").rows}
    assert [rows[f"layer{i}"].output_hw for i in range(1, 5)] == [(56, 56), (28, 28), (14, 14), (7, 7)]
    assert [rows[f"layer{i}"].width for i in range(1, 5)] == [128, 256, 512, 1024]
    assert [rows[f"layer{i}"].blocks for i in range(1, 5)] == [3, 4, 6, 3]
    assert all(rows[f"layer{i}"].groups == 32 for i in range(1, 5))
    assert rows["conv1"].output_hw == (112, 112) and rows["conv1"].params == 64 * 3 * 49 + 128
    assert rows["fc"].params == 2048 * 1000 + 1000
    assert "[1×1, 128; 3×3, 128, C=32; 1×1, 256] × 3" in rows["layer1"].template
    resnet = {r.name: r for r in stage_table("resnet50").rows}
    assert resnet["layer1"].width == 64 and resnet["layer1"].groups == 1
    assert "C=" not in resnet["layer1"].template


def test_image_size_scales_macs_and_caches():
    small, big = stage_table("resnet50", 112), stage_table("resnet50", 224)
    assert small.params == big.params and small.macs < big.macs
    assert stage_table("resnet50", 224) is big  # lru_cache: pure, so safe to share
    assert stage_table("resnet18").rows[1].template == "3×3 max pool, stride 2; [3×3, 64; 3×3, 64] × 2"


@pytest.mark.parametrize("args, message", [
    (("resnext42",), "unknown model 'resnext42'"),
    (("resnet50", 16), "from 32 to 1024"),
    (("resnet50", 224.0), "whole number"),
])
def test_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        stage_table(*args)


def test_state_dict_follows_torchvision_keys():
    sd = MODEL_FACTORIES["resnext50_32x4d"](device="meta").state_dict()
    shapes = {
        "conv1.weight": (64, 3, 7, 7),
        "bn1.running_mean": (64,),
        "layer1.0.conv1.weight": (128, 64, 1, 1),
        "layer1.0.conv2.weight": (128, 4, 3, 3),
        "layer1.0.conv3.weight": (256, 128, 1, 1),
        "layer1.0.downsample.0.weight": (256, 64, 1, 1),
        "layer1.0.downsample.1.running_var": (256,),
        "layer2.0.conv2.weight": (256, 8, 3, 3),
        "layer3.5.bn2.bias": (512,),
        "layer4.0.downsample.0.weight": (2048, 1024, 1, 1),
        "layer4.2.bn3.num_batches_tracked": (),
        "fc.weight": (1000, 2048),
        "fc.bias": (1000,),
    }
    for key, shape in shapes.items():
        assert tuple(sd[key].shape) == shape, key
    assert "layer1.1.downsample.0.weight" not in sd
    # 53 convs (1 stem + 16 blocks x 3 + 4 projections), 53 batch norms, 1 fc.
    kinds = Counter(k.rsplit(".", 1)[1] for k in sd)
    assert kinds == {"weight": 107, "bias": 54, "running_mean": 53, "running_var": 53, "num_batches_tracked": 53}


def test_depth2_branches_are_a_wide_dense_module():
    c = depth_comparison(256, 32, 4, 256)
    assert c.depth2_branches == c.depth2_dense == 9 * 256 * 128 * 2
    assert c.depth3_branches == 70_144  # Table 2's 32x4d
    assert c.depth3_dense - c.depth3_branches == c.depth3_saving == 9 * 128 * 128 * 31 // 32
    for C in (1, 2, 8):
        assert depth_comparison(64, C, 8, 64).depth2_branches == depth_comparison(64, C, 8, 64).depth2_dense
    assert depth_comparison(64, 1, 8, 64).depth3_saving == 0
    with pytest.raises(ValueError, match="C must be a whole number"):
        depth_comparison(C=0)


@pytest.mark.parametrize("kwargs", [dict(), dict(C=1), dict(C=8, d=2, c_in=12, c_out=20, height=5, width=13)])
def test_depth2_outputs_equal_in_float64(kwargs):
    assert depth2_max_abs_diff(**kwargs) < 1e-10


def test_depth2_parameter_counts_match_real_modules():
    c_in, C, d, c_out = 16, 4, 3, 24
    c = depth_comparison(c_in, C, d, c_out)
    branches = nn.ModuleList(nn.Sequential(nn.Conv2d(c_in, d, 3, bias=False), nn.Conv2d(d, c_out, 3, bias=False))
                             for _ in range(C))
    dense = nn.Sequential(nn.Conv2d(c_in, C * d, 3, bias=False), nn.Conv2d(C * d, c_out, 3, bias=False))
    assert sum(p.numel() for p in branches.parameters()) == c.depth2_branches
    assert sum(p.numel() for p in dense.parameters()) == c.depth2_dense
    grouped = nn.Sequential(nn.Conv2d(c_in, C * d, 1, bias=False),
                            nn.Conv2d(C * d, C * d, 3, groups=C, bias=False), nn.Conv2d(C * d, c_out, 1, bias=False))
    assert sum(p.numel() for p in grouped.parameters()) == c.depth3_branches
