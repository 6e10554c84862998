"""Look inside a ResNet-family model (blocks.resnet): one walk through the network, per-group activations.

The model passed in is shared by every browser session, so nothing here changes it: no hooks
(a hook on a shared module would fire inside other sessions' forwards), no `.train()`, no
`.grad`. Activations come from walking the network step by step with batch norm in eval
form, stopping right after the probed layer. Gradients come from `torch.autograd.grad`
with respect to a per-call copy of the probed layer's weight and its input; the shared
parameters are only read.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from resnext_viz.blocks.resnet import BasicBlock, Bottleneck, ResNet

__all__ = [
    "BlockDiagonality",
    "LayerInfo",
    "block_diagonality",
    "by_group",
    "capture_activation",
    "channel_correlation",
    "group_energy",
    "group_page",
    "grouped_layers",
    "n_pages",
    "top_channel_per_group",
]

_STEPS = {  # the order of operations inside a block, before the shortcut is added
    Bottleneck: ("conv1", "bn1", "relu", "conv2", "bn2", "relu", "conv3", "bn3"),
    BasicBlock: ("conv1", "bn1", "relu", "conv2", "bn2"),
}
_NAME = re.compile(r"layer([1-4])\.(\d+)(?:\.(conv[123]|bn[123]))?")


# ---- layers ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerInfo:
    """One probe-able convolution: where it sits and its shape."""

    name: str  # e.g. "layer3.2.conv2"
    stage: int  # 1..4, the `layerX` it belongs to
    block: int  # index of the block within the stage
    in_channels: int
    out_channels: int
    groups: int  # the cardinality C of this layer; 1 for ResNet's dense 3x3
    kernel_size: tuple[int, int]
    stride: int  # 2 in the first block of stages 2-4 (torchvision puts the stride on the 3x3)
    padding: int

    @property
    def in_per_group(self) -> int:
        return self.in_channels // self.groups

    @property
    def out_per_group(self) -> int:
        return self.out_channels // self.groups

    @property
    def weight_count(self) -> int:
        """Return the number of weights, C_out * C_in/G * kH * kW."""
        return self.out_channels * self.in_per_group * self.kernel_size[0] * self.kernel_size[1]


def grouped_layers(model: ResNet) -> list[LayerInfo]:
    """Return the 3x3 convolution of every block (`layerX.Y.conv2`), grouped in ResNeXt, dense in ResNet."""
    return [_info(model, f"layer{s}.{b}.conv2") for s in range(1, 5) for b in range(len(_stage(model, s)))]


def _info(model: ResNet, name: str) -> LayerInfo:
    stage, block, step = _locate(model, name)
    conv = getattr(_stage(model, stage)[block], step)
    return LayerInfo(name=name, stage=stage, block=block, in_channels=conv.in_channels,
                     out_channels=conv.out_channels, groups=conv.groups, kernel_size=tuple(conv.kernel_size),
                     stride=conv.stride[0], padding=conv.padding[0])


def _stage(model: ResNet, stage: int) -> nn.Sequential:
    return getattr(model, f"layer{stage}")


def _locate(model: ResNet, name: str) -> tuple[int, int, str | None]:
    """Return (stage, block, step) for 'layerX.Y[.step]'; raise ValueError with valid examples otherwise."""
    found = _NAME.fullmatch(name)
    if found is not None:
        stage, block, step = int(found.group(1)), int(found.group(2)), found.group(3)
        blocks = _stage(model, stage)
        if block < len(blocks) and (step is None or step in _STEPS[type(blocks[block])]):
            return stage, block, step
    last = len(_stage(model, 4)) - 1
    raise ValueError(f"Unknown layer {name!r}: use a block 'layerX.Y' or a layer inside it such as "
                     f"'layer1.0.conv2' or 'layer3.2.bn1' (stages 1-4; this model's last block is layer4.{last}).")


# ---- walking the network without touching it ------------------------------------------------

def _bn(bn: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    """Return batch norm in eval form (running statistics), whatever the module's mode: nothing is updated."""
    return F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)


def _step(block: nn.Module, step: str, x: torch.Tensor) -> torch.Tensor:
    if step == "relu":
        return torch.relu(x)  # not in place: x may be needed by autograd
    if step.startswith("bn"):
        return _bn(getattr(block, step), x)
    return getattr(block, step)(x)  # a convolution: reads its weight, changes nothing


def _shortcut(block: nn.Module, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    identity = x if block.downsample is None else _bn(block.downsample[1], block.downsample[0](x))
    return torch.relu(residual + identity)


def run_steps(block: nn.Module, x: torch.Tensor, until: str) -> torch.Tensor:
    """Return the block's intermediate output right after step `until` (e.g. 'conv2'), batch norm in eval form."""
    out = x
    for step in _STEPS[type(block)]:
        out = _step(block, step, out)
        if step == until:
            return out
    raise ValueError(f"{type(block).__name__} has no step {until!r}.")


def _run_block(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = x
    for step in _STEPS[type(block)]:
        out = _step(block, step, out)
    return _shortcut(block, x, out)


def stem(model: ResNet, x: torch.Tensor) -> torch.Tensor:
    """Return the stem's output: conv1, eval-mode batch norm, ReLU, max-pool (nothing in the model is updated)."""
    return model.maxpool(torch.relu(_bn(model.bn1, model.conv1(x))))


def _to_block(model: ResNet, x: torch.Tensor, stage: int, block: int) -> torch.Tensor:
    """Return the input of block `block` of stage `stage`: stem, earlier stages, earlier blocks."""
    h = stem(model, x)
    for s in range(1, stage + 1):
        blocks = _stage(model, s)
        for b in range(len(blocks) if s < stage else block):
            h = _run_block(blocks[b], h)
    return h


def _after_block(model: ResNet, h: torch.Tensor, stage: int, block: int) -> torch.Tensor:
    """Return the logits (B, classes) from the output of block `block` of stage `stage`."""
    for s in range(stage, 5):
        blocks = _stage(model, s)
        for b in range(block + 1 if s == stage else 0, len(blocks)):
            h = _run_block(blocks[b], h)
    return model.fc(torch.flatten(model.avgpool(h), 1))  # (B, classes)


def _as_batch(model: ResNet, x: torch.Tensor) -> torch.Tensor:
    """Return x as (1, 3, H, W) on the model's device and dtype."""
    batch = x.unsqueeze(0) if x.dim() == 3 else x  # (1, 3, H, W)
    if batch.dim() != 4 or batch.shape[0] != 1 or batch.shape[1] != 3:
        raise ValueError(f"Expected one RGB image as (3, H, W) or (1, 3, H, W); got shape {tuple(x.shape)}.")
    weight = model.conv1.weight
    return batch.to(device=weight.device, dtype=weight.dtype)


def capture_activation(model: ResNet, layer_name: str, x: torch.Tensor) -> torch.Tensor:
    """Return the output (C, H, W) of `layer_name` ('layerX.Y.conv2', 'layerX.Y.bn1', 'layerX.Y', ...) for image x.

    Convolution and batch-norm outputs are taken before any ReLU, as a forward hook would see
    them; a block's output is after its final ReLU. The rest of the network is not run.
    """
    stage, block, step = _locate(model, layer_name)
    with torch.no_grad():
        h = _to_block(model, _as_batch(model, x), stage, block)
        module = _stage(model, stage)[block]
        if step is None:
            return _run_block(module, h)[0]
        steps = _STEPS[type(module)]
        for current in steps[: steps.index(step) + 1]:
            h = _step(module, current, h)
        return h[0]  # (C, H, W)


# ---- per-group statistics ------------------------------------------------------------------

def by_group(act: torch.Tensor, groups: int) -> torch.Tensor:
    """Return act (C, H, W) as (groups, C/groups, H, W): group g holds channels [g*C/G, (g+1)*C/G)."""
    channels, height, width = act.shape
    if groups < 1 or channels % groups:
        raise ValueError(f"{channels} channels cannot be split into {groups} equal groups; "
                         f"use a divisor of {channels}.")
    return act.reshape(groups, channels // groups, height, width)  # (G, C/G, H, W)


def group_energy(act: torch.Tensor, groups: int) -> torch.Tensor:
    """Return the mean squared activation of each group, (groups,), in squared activation units."""
    return by_group(act, groups).pow(2).mean(dim=(1, 2, 3))  # (G,)


def top_channel_per_group(act: torch.Tensor, groups: int) -> torch.Tensor:
    """Return (groups,) long: in each group, the channel index (into all C) with the largest mean square."""
    per_channel = by_group(act, groups).pow(2).mean(dim=(2, 3))  # (G, C/G)
    offsets = torch.arange(groups, device=act.device) * per_channel.shape[1]
    return per_channel.argmax(dim=1) + offsets


def channel_correlation(act: torch.Tensor) -> torch.Tensor:
    """Return (C, C) float32 Pearson correlations between channels across spatial positions.

    A constant channel (no variation over the map, e.g. a ReLU that never fired) has no defined
    correlation: its row and column, diagonal included, are 0. Channels stay in their order,
    so group g's block is [g*C/G, (g+1)*C/G) on both axes.
    """
    channels = act.shape[0]
    x = act.reshape(channels, -1).to(torch.float64)  # (C, H*W)
    centred = x - x.mean(dim=1, keepdim=True)
    norms = centred.norm(dim=1)  # (C,)
    varies = norms > 1e-6 * x.norm(dim=1)  # below this the 'variation' is float32 rounding
    safe = torch.where(varies, norms, torch.ones_like(norms))
    unit = centred / safe[:, None] * varies[:, None]  # (C, H*W), zero rows for constant channels
    return (unit @ unit.T).clamp(-1.0, 1.0).to(torch.float32)  # (C, C)


@dataclass(frozen=True)
class BlockDiagonality:
    """How much more channels correlate inside their group than across groups."""

    within: float  # mean |corr| between different channels of the same group
    across: float  # mean |corr| between channels of different groups
    ratio: float  # within / across; inf when across is 0, 1.0 when both are 0 (nothing to compare)


def block_diagonality(corr: torch.Tensor, groups: int) -> BlockDiagonality:
    """Return mean |correlation| within groups (diagonal excluded) versus across groups for a (C, C) matrix."""
    channels = corr.shape[0]
    if groups < 2 or channels % groups or channels // groups < 2:
        raise ValueError(f"Comparing within and across groups needs at least 2 groups of at least 2 channels; "
                         f"got {channels} channels in {groups} groups.")
    group_of = torch.arange(channels, device=corr.device) // (channels // groups)  # (C,)
    same = group_of[:, None] == group_of[None, :]  # (C, C)
    off_diagonal = ~torch.eye(channels, dtype=torch.bool, device=corr.device)
    magnitude = corr.abs().to(torch.float64)
    within = float(magnitude[same & off_diagonal].mean())
    across = float(magnitude[~same].mean())
    ratio = within / across if across > 0 else (math.inf if within > 0 else 1.0)
    return BlockDiagonality(within=within, across=across, ratio=ratio)


def n_pages(groups: int, per_page: int) -> int:
    """Return how many pages show `groups` groups at `per_page` groups a page."""
    if groups < 1 or per_page < 1:
        raise ValueError(f"groups and per_page must be at least 1; got {groups} and {per_page}.")
    return -(-groups // per_page)


def group_page(groups: int, page: int, per_page: int = 8) -> range:
    """Return the group indices on page `page` (0-based) when showing `per_page` groups at a time."""
    pages = n_pages(groups, per_page)
    if not 0 <= page < pages:
        raise ValueError(f"Page {page} does not exist: {groups} groups at {per_page} a page make pages 0-{pages - 1}.")
    return range(page * per_page, min(groups, (page + 1) * per_page))
