"""What the group-features and gradients pages compute for one picture, as small NumPy summaries.

The pages cache these per image and layer (st.cache_data pickles them), so a summary holds
only what a page draws: arrays that share no memory with the shared model, no autograd
graph, no full weight gradients. The model is only read, as in probes.py: no hooks, no
`.train()`, no `.grad`.

The Block builder's block is fed with a real picture by running ResNeXt-50 up to the point
whose output has as many channels as the block's input (the stem: 64, layer1: 256, layer2:
512, layer3: 1024, layer4: 2048) and resizing that map to the block's height and width.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from resnext_viz.inside import probes
from resnext_viz.blocks.builder import BlockConfig, build_block
from resnext_viz.blocks.resnet import ResNet

__all__ = [
    "BUILDER_MAX_ELEMENTS",
    "CORR_CELLS_MAX",
    "CORR_WORK_MAX",
    "GROUPS_PER_PAGE",
    "BuilderFeed",
    "Features",
    "GradSummary",
    "builder_features",
    "builder_problem",
    "feed_points",
    "gradient_summary",
    "layer_features",
    "layer_label",
    "pooled_abs_correlation",
    "predictions",
    "stage_output",
    "summarise",
]

GROUPS_PER_PAGE = 8  # feature maps of 8 groups at a time: 32 maps at layer1, 256 at layer4, never thousands
CORR_CELLS_MAX = 256  # the correlation heatmap shows at most 256 x 256 cells; larger layers are averaged
CORR_WORK_MAX = 2_000_000_000  # C * C * positions above this: correlate over a subsample of positions
BUILDER_MAX_ELEMENTS = 2**22  # 4M numbers (16 MB) per feature map of the Block builder's block, batch 1


# ---- the network input ------------------------------------------------------------------------

def layer_label(info: probes.LayerInfo, height: int | None = None) -> str:
    """Return a one-line description: 'layer3.5.conv2 · 512 channels · 32 groups of 16 · 14×14'."""
    size = f" · {height}×{height}" if height else ""
    return (f"{info.name} · {info.out_channels} channels · {info.groups} groups of {info.out_per_group}"
            f"{' · stride 2' if info.stride == 2 else ''}{size}")


# ---- per-group feature summaries ---------------------------------------------------------------

@dataclass(frozen=True)
class Features:
    """The output of one grouped convolution for one picture, summarised per group."""

    title: str  # what was probed, e.g. "layer3.5.conv2"
    groups: int
    act: np.ndarray  # (C, H, W) float32, the convolution's output before batch norm and ReLU
    energy: np.ndarray  # (G,) float64, mean squared output per group
    top_channel: np.ndarray  # (G,) int64, per group the channel (index into all C) with the largest mean square
    corr: np.ndarray  # (n, n) float32 |Pearson correlation|; n = C / corr_step; the diagonal is NaN when not pooled
    corr_step: int  # channels per heatmap cell along each axis (1: every channel has its own row)
    corr_positions: int  # spatial positions the correlations were computed over
    within: float | None  # mean |corr| between different channels of one group (None: fewer than 2 a group)
    across: float | None  # mean |corr| between channels of different groups
    ratio: float | None  # within / across

    @property
    def channels(self) -> int:
        return self.act.shape[0]

    @property
    def per_group(self) -> int:
        return self.channels // self.groups

    @property
    def height(self) -> int:
        return self.act.shape[1]

    @property
    def width(self) -> int:
        return self.act.shape[2]


def _corr_step(channels: int, per_group: int, cells_max: int) -> int:
    """Return channels per heatmap cell: 1 when C <= cells_max, else a divisor or multiple of the group size."""
    need = -(-channels // cells_max)
    if need <= 1:
        return 1
    divisors = [d for d in range(need, per_group + 1) if per_group % d == 0]
    if divisors:  # cells never straddle a group boundary
        return divisors[0]
    return per_group * -(-need // per_group)  # each cell holds whole groups


def pooled_abs_correlation(corr: torch.Tensor, per_group: int,
                           cells_max: int = CORR_CELLS_MAX) -> tuple[np.ndarray, int]:
    """Return (|corr| as an (n, n) float32 array, channels per cell); cells average |corr| without the diagonal."""
    channels = corr.shape[0]
    magnitude = corr.abs().to(torch.float32)
    magnitude.fill_diagonal_(float("nan"))  # a channel with itself is 1 by definition: not data
    step = _corr_step(channels, per_group, cells_max)
    if step == 1:
        return magnitude.numpy(), 1
    n = -(-channels // step)
    padded = torch.full((n * step, n * step), float("nan"))
    padded[:channels, :channels] = magnitude
    cells = padded.reshape(n, step, n, step).permute(0, 2, 1, 3).reshape(n, n, step * step)  # (n, n, step^2)
    return torch.nanmean(cells, dim=2).numpy(), step


def summarise(act: torch.Tensor, groups: int, title: str) -> Features:
    """Return the per-group summary of a (C, H, W) activation split into `groups` groups."""
    act = act.detach().to(torch.float32)
    channels, height, width = act.shape
    flat = act.reshape(channels, -1)  # (C, H*W)
    positions = flat.shape[1]
    if channels * channels * positions > CORR_WORK_MAX:  # keep the correlation under ~a second
        keep = max(2, CORR_WORK_MAX // (channels * channels))
        idx = torch.linspace(0, positions - 1, keep).round().long().unique()
        flat = flat[:, idx]
    corr = probes.channel_correlation(flat.unsqueeze(-1))  # (C, C)
    per_group = channels // groups
    view, step = pooled_abs_correlation(corr, per_group)
    within = across = ratio = None
    if groups >= 2 and per_group >= 2:
        bd = probes.block_diagonality(corr, groups)
        within, across, ratio = bd.within, bd.across, bd.ratio
    return Features(
        title=title, groups=groups, act=act.numpy().copy(),
        energy=probes.group_energy(act, groups).to(torch.float64).numpy(),
        top_channel=probes.top_channel_per_group(act, groups).numpy(),
        corr=view, corr_step=step, corr_positions=flat.shape[1], within=within, across=across, ratio=ratio)


def layer_features(model: ResNet, layer: str, x: torch.Tensor) -> Features:
    """Return the summary of `layer` ('layerX.Y.conv2') of the model for the input x (1, 3, H, W)."""
    info = next((i for i in probes.grouped_layers(model) if i.name == layer), None)
    if info is None:
        raise ValueError(f"Unknown layer {layer!r}: choose a block's 3x3 convolution such as 'layer1.0.conv2'.")
    return summarise(probes.capture_activation(model, layer, x), info.groups, layer)


# ---- the Block builder's block, fed with a real picture ------------------------------------

def feed_points(model: ResNet) -> dict[int, str]:
    """Return {channels: where} for every place in the model whose output can feed a block: stem, layer1..4."""
    points = {model.conv1.out_channels: "the stem"}  # conv1, batch norm, ReLU, max-pool
    for stage in range(1, 5):
        last = getattr(model, f"layer{stage}")[-1]
        points[last.conv3.out_channels] = f"layer{stage}"
    return points


def stage_output(model: ResNet, x: torch.Tensor, stage: int) -> torch.Tensor:
    """Return the output (1, C, H, W) of the stem (stage 0) or of stage 1-4, for the input x (1, 3, H, W)."""
    if stage == 0:
        with torch.no_grad():
            return probes.stem(model, x)
    last = len(getattr(model, f"layer{stage}")) - 1
    return probes.capture_activation(model, f"layer{stage}.{last}", x).unsqueeze(0)  # the block's output


@dataclass(frozen=True)
class BuilderFeed:
    """How a picture reached the Block builder's block."""

    source: str  # e.g. "layer1"
    source_hw: tuple[int, int]  # that output's height and width
    block_hw: tuple[int, int]  # the block's configured height and width (the map is resized to this)

    @property
    def resized(self) -> bool:
        return self.source_hw != self.block_hw


def builder_problem(model: ResNet, cfg: BlockConfig) -> str | None:
    """Return why the picture cannot be fed to the builder's block (a sentence with the values that work), or None."""
    points = feed_points(model)
    if cfg.inplanes not in points:
        where = ", ".join(f"{c} (after {p})" for c, p in points.items())
        return (f"The Block builder's block takes {cfg.inplanes} input channels, but no point of ResNeXt-50 produces "
                f"that many. Set its input channels to one of {where} to feed it this picture.")
    largest = max(cfg.inplanes, cfg.bottleneck_width, cfg.out_channels) * cfg.height * cfg.width
    if largest > BUILDER_MAX_ELEMENTS:
        return (f"For one picture this block's largest feature map would hold {largest:,} numbers, over the "
                f"{BUILDER_MAX_ELEMENTS:,} this page computes; lower its height and width (56×56 is ResNeXt-50's "
                f"stage 1) or its channels.")
    return None


def builder_features(model: ResNet, cfg: BlockConfig, x: torch.Tensor, seed: int = 0) -> tuple[Features, BuilderFeed]:
    """Return the summary of the block's grouped 3x3 output when ResNeXt-50 feeds it the picture x.

    The block is the builder's own (blocks.Bottleneck, seeded random weights); batch is 1
    whatever cfg.batch says. Raises ValueError with a learner-facing sentence when the
    block's input channels match no point of the model or its maps would be too large.
    """
    problem = builder_problem(model, cfg)
    if problem:
        raise ValueError(problem)
    points = feed_points(model)
    stage = list(points).index(cfg.inplanes)
    feed = stage_output(model, x, stage)  # (1, inplanes, h, w)
    source_hw = tuple(feed.shape[2:])
    if source_hw != (cfg.height, cfg.width):
        shrinking = cfg.height < source_hw[0] or cfg.width < source_hw[1]
        feed = F.interpolate(feed, size=(cfg.height, cfg.width), mode="bilinear", align_corners=False,
                             antialias=shrinking)
    block = build_block(cfg, seed=seed)  # this call's own block: nothing shared is touched
    with torch.no_grad():
        out = probes.run_steps(block, feed, "conv2")[0]  # conv1, bn1, ReLU, conv2: (C * d, H', W')
    title = (f"Block builder: {cfg.inplanes}→{cfg.bottleneck_width}→{cfg.out_channels}, "
             f"C = {cfg.cardinality}, d = {cfg.d}")
    return summarise(out, cfg.cardinality, title), BuilderFeed(points[cfg.inplanes], source_hw,
                                                                 (cfg.height, cfg.width))


# ---- predictions and gradients --------------------------------------------------------------

def predictions(model: ResNet, x: torch.Tensor, class_names, k: int = 5) -> tuple[list[tuple[str, float]], int]:
    """Return the top-k (class name, probability) and the index of the top-1 class for the input x."""
    from resnext_viz.inside.weights import top_k

    with torch.no_grad():
        logits = model(x)  # (1, classes); eval mode, nothing updated
    return top_k(logits, k, class_names), int(logits[0].argmax())


@dataclass(frozen=True)
class GradSummary:
    """probes.LayerGradients without the weight gradient itself: per-group norms and exact-zero counts."""

    layer: str
    kind: str  # 'class', 'group' or 'channel'
    index: int
    value: float  # the target's value
    weight_grad_norm: np.ndarray  # (G,) float64, L2 norm of dTarget/dW over each output group's filters
    input_grad_norm: np.ndarray  # (G,) float64, L2 norm of dTarget/dinput over each input group's channels
    target_group: int | None
    zero_weight_grads_outside: int | None  # exact zeros in dTarget/dW outside the target group's filters
    weights_outside: int | None
    zero_input_grads_outside: int | None
    inputs_outside: int | None


def gradient_summary(model: ResNet, layer: str, x: torch.Tensor, target: probes.GradTarget) -> GradSummary:
    """Return probes.layer_gradients(...) summarised (the full weight gradient is dropped)."""
    g = probes.layer_gradients(model, layer, x, target)
    return GradSummary(
        layer=layer, kind=target.kind, index=target.index, value=g.value,
        weight_grad_norm=g.weight_grad_norm.to(torch.float64).numpy(),
        input_grad_norm=g.input_grad_norm.to(torch.float64).numpy(),
        target_group=g.target_group, zero_weight_grads_outside=g.zero_weight_grads_outside,
        weights_outside=g.weights_outside, zero_input_grads_outside=g.zero_input_grads_outside,
        inputs_outside=g.inputs_outside)

