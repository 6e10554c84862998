"""ResNet vs ResNeXt stage by stage (the paper's Table 1), counted on the meta device.

Building on the meta device allocates no weights, so even ResNeXt-101 64x4d is counted in
milliseconds. Multiply-accumulates come from PyTorch's own FlopCounterMode (2 FLOPs per MAC),
run on each stage separately so every row is measured, not derived.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from resnext_viz.blocks.resnet import MODEL_FACTORIES, BasicBlock, Bottleneck, ResNet

__all__ = ["StageRow", "StageTable", "stage_table", "TWO_SETTINGS", "two_settings"]


@dataclass(frozen=True)
class StageRow:
    """One stage of the network: its output size, block shape, parameters and MACs per image."""

    name: str  # module name: 'conv1', 'layer1'..'layer4', 'fc'
    paper_name: str  # Table 1's name: 'conv1', 'conv2'..'conv5', 'fc'
    output_hw: tuple[int, int] | None  # pixels; None for fc
    out_channels: int
    width: int | None  # channels of the (grouped) 3x3 in each block: C * d; None for conv1 and fc
    groups: int | None  # C
    blocks: int | None
    params: int
    macs: int  # per image
    template: str  # Table 1's bracket, e.g. '[1×1, 128; 3×3, 128, C=32; 1×1, 256] × 3'


@dataclass(frozen=True)
class StageTable:
    """All stages of one network at one image size, with totals."""

    model: str
    image_size: int
    rows: tuple[StageRow, ...]

    @property
    def params(self) -> int:
        """Return the total parameter count."""
        return sum(r.params for r in self.rows)

    @property
    def macs(self) -> int:
        """Return total multiply-accumulates per image."""
        return sum(r.macs for r in self.rows)

    def records(self) -> list[dict]:
        """Return one dict per stage plus a 'total' row, ready for a dataframe (None where not applicable)."""
        out = [{"stage": r.paper_name, "output": None if r.output_hw is None else f"{r.output_hw[0]}×{r.output_hw[1]}",
                "blocks": r.template, "width (C·d)": r.width, "groups (C)": r.groups, "parameters": r.params,
                "GMACs": r.macs / 1e9} for r in self.rows]
        out.append({"stage": "total", "output": None, "blocks": None, "width (C·d)": None, "groups (C)": None,
                    "parameters": self.params, "GMACs": self.macs / 1e9})
        return out


def _run_counted(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> tuple[int, torch.Tensor]:
    """Return (MACs, output) of fn(x), counted by FlopCounterMode."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = fn(x)
    return counter.get_total_flops() // 2, y


def _params(*modules: nn.Module) -> int:
    return sum(p.numel() for m in modules for p in m.parameters())


def _stage_shape(stage: nn.Sequential) -> tuple[int, int, str]:
    """Return (width, groups, template text) of a stage from its first block."""
    first = stage[0]
    n = len(stage)
    if isinstance(first, Bottleneck):
        w, g, out = first.conv2.in_channels, first.conv2.groups, first.conv3.out_channels
        c = f", C={g}" if g > 1 else ""
        return w, g, f"[1×1, {w}; 3×3, {w}{c}; 1×1, {out}] × {n}"
    if isinstance(first, BasicBlock):
        w, g = first.conv1.out_channels, first.conv1.groups
        return w, g, f"[3×3, {w}; 3×3, {w}] × {n}"
    raise TypeError(f"unknown block type {type(first).__name__}")


def _check(model_name: str, image_size: int) -> None:
    if model_name not in MODEL_FACTORIES:
        raise ValueError(f"unknown model '{model_name}'; choose one of {', '.join(MODEL_FACTORIES)}.")
    if isinstance(image_size, bool) or not isinstance(image_size, int) or not 32 <= image_size <= 1024:
        raise ValueError(f"image_size must be a whole number of pixels from 32 to 1024 (the network shrinks "
                         f"images 32-fold), got {image_size!r}.")


def stage_table(model_name: str, image_size: int = 224) -> StageTable:
    """Return the stage-by-stage parameters and MACs per image of one network (cached per process)."""
    _check(model_name, image_size)
    return _stage_table(model_name, image_size)


@lru_cache(maxsize=64)
def _stage_table(model_name: str, image_size: int) -> StageTable:
    model: ResNet = MODEL_FACTORIES[model_name](device="meta").eval()
    x = torch.empty(1, 3, image_size, image_size, device="meta")  # (1, 3, H, W)
    rows = []

    macs, x = _run_counted(lambda t: model.relu(model.bn1(model.conv1(t))), x)
    rows.append(StageRow("conv1", "conv1", tuple(x.shape[-2:]), x.shape[1], None, None, None,
                         _params(model.conv1, model.bn1), macs, "7×7, 64, stride 2"))
    for i in range(1, 5):
        stage: nn.Sequential = getattr(model, f"layer{i}")
        fn = (lambda t, s=stage: s(model.maxpool(t))) if i == 1 else stage  # conv2 starts with the max pool
        macs, x = _run_counted(fn, x)
        width, groups, template = _stage_shape(stage)
        if i == 1:
            template = "3×3 max pool, stride 2; " + template
        rows.append(StageRow(f"layer{i}", f"conv{i + 1}", tuple(x.shape[-2:]), x.shape[1], width, groups,
                             len(stage), _params(stage), macs, template))

    macs, x = _run_counted(lambda t: model.fc(torch.flatten(model.avgpool(t), 1)), x)  # (1, 1000)
    rows.append(StageRow("fc", "fc", None, x.shape[1], None, None, None, _params(model.fc), macs,
                         f"global average pool, {model.fc.out_features}-d fc, softmax"))
    return StageTable(model_name, image_size, tuple(rows))


def side_by_side(a: StageTable, b: StageTable, label_a: str, label_b: str) -> list[dict]:
    """Return Table 1 as rows: stage, output size, each network's block template, parameters and GMACs."""
    rows = []
    for ra, rb in zip(a.rows, b.rows):
        rows.append({"stage": ra.paper_name,
                     "output": None if ra.output_hw is None else f"{ra.output_hw[0]}×{ra.output_hw[1]}",
                     label_a: ra.template, label_b: rb.template,
                     f"params, {label_a}": ra.params, f"params, {label_b}": rb.params,
                     f"GMACs, {label_a}": round(ra.macs / 1e9, 3), f"GMACs, {label_b}": round(rb.macs / 1e9, 3)})
    rows.append({"stage": "total", "output": None, label_a: None, label_b: None,
                 f"params, {label_a}": a.params, f"params, {label_b}": b.params,
                 f"GMACs, {label_a}": round(a.macs / 1e9, 3), f"GMACs, {label_b}": round(b.macs / 1e9, 3)})
    return rows


# ResNet-50 -> ResNeXt-50 changes two settings (groups and width_per_group); each variant's (groups, width_per_group)
TWO_SETTINGS: dict[str, tuple[int, int]] = {
    "ResNet-50 (groups 1, width_per_group 64)": (1, 64),
    "groups=32 alone (width_per_group 64)": (32, 64),
    "groups=32, ResNet's widths kept (width_per_group 2)": (32, 2),
    "ResNeXt-50 32×4d (groups 32, width_per_group 4)": (32, 4),
}


@lru_cache(maxsize=None)
def two_settings() -> dict[str, int]:
    """Return the parameter count of ResNet-50's skeleton at each (groups, width_per_group) of TWO_SETTINGS."""
    return {label: _params(ResNet(Bottleneck, [3, 4, 6, 3], groups=g, width_per_group=w, device="meta"))
            for label, (g, w) in TWO_SETTINGS.items()}
