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

from resnext_viz.inside import gradients as gp
from resnext_viz.blocks.builder import BlockConfig, build_block
from resnext_viz.blocks.resnet import ResNet

__all__ = [
    "BUILDER_MAX_ELEMENTS",
    "CORR_CELLS_MAX",
    "CORR_WORK_MAX",
    "CorrBaselines",
    "correlation_baselines",
    "class_target_text",
    "correlation_text",
    "locality_text",
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
    "own_filter_counts",
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


# ---- what wiring alone gives: baselines for the inside/across ratio -----------------------------

@dataclass(frozen=True)
class CorrBaselines:
    """The inside/across |corr| ratio of one layer for one picture, and two baselines that learned nothing."""

    layer: str
    trained: float | None  # the probed model's own ratio (as Features.ratio)
    random_init: float | None  # same architecture, seeded random weights, same picture and layer
    shuffled: float | None  # the probed model's layer, its input channels permuted (seeded) before grouping
    seed: int
    dense_fake: float | None = None  # a dense 3x3 (seeded random, the layer's shape and weight std) cut into G groups


def _ratio(act: torch.Tensor, groups: int) -> float | None:
    """Return block_diagonality(...).ratio of a (C, H, W) activation, or None with fewer than 2 channels a group."""
    channels = act.shape[0]
    if groups < 2 or channels // groups < 2:
        return None
    flat = act.detach().to(torch.float32).reshape(channels, -1)
    if channels * channels * flat.shape[1] > CORR_WORK_MAX:  # the same subsample as summarise
        keep = max(2, CORR_WORK_MAX // (channels * channels))
        flat = flat[:, torch.linspace(0, flat.shape[1] - 1, keep).round().long().unique()]
    return probes.block_diagonality(probes.channel_correlation(flat.unsqueeze(-1)), groups).ratio


def correlation_baselines(model: ResNet, random_model: ResNet, layer: str, x: torch.Tensor,
                          seed: int = 0) -> CorrBaselines:
    """Return the ratio of `layer` in `model`, in the seeded random `random_model`, and with shuffled inputs.

    Dense: a dense 3x3 of the same shape with seeded random weights (the layer's weight std) on
    the same input, its outputs cut into G fake groups: what the ratio is without any wiring.
    Shuffled: the layer's own input (after conv1, batch norm, ReLU) has its channels permuted
    by a seeded permutation before the grouped 3x3, so each group reads channels from
    everywhere; the weights are unchanged. Neither model is modified.
    """
    info, block, _, layer_input = gp._probe_input(model, layer, x)
    generator = torch.Generator().manual_seed(seed)
    perm = torch.randperm(info.in_channels, generator=generator)
    with torch.no_grad():
        shuffled = gp._conv(info, layer_input[:, perm], block.conv2.weight, info.groups)[0]  # (C_out, H', W')
        own = gp._conv(info, layer_input, block.conv2.weight, info.groups)[0]
        weight = block.conv2.weight
        dense_w = torch.randn(info.out_channels, info.in_channels, *info.kernel_size, generator=generator,
                              dtype=weight.dtype).to(weight.device) * weight.std()  # (C_out, C_in, k, k)
        dense = gp._conv(info, layer_input, dense_w, 1)[0]  # every output reads every input: no wiring
    random_act = probes.capture_activation(random_model, layer, x)
    return CorrBaselines(layer=layer, trained=_ratio(own, info.groups), random_init=_ratio(random_act, info.groups),
                         shuffled=_ratio(shuffled, info.groups), seed=seed, dense_fake=_ratio(dense, info.groups))


def correlation_text(with_baselines: bool) -> str:
    """Return the Group features page's explanation of the correlation heatmap (REFERENCE.md, Deep Roots / Distill)."""
    return (
        "Each cell is how alike two channels' maps are over the picture's positions (|Pearson correlation|). "
        "Bright squares along the diagonal mean a group's channels resemble each other more than channels of other "
        "groups. Part of that is **wiring**, not learning: a group's channels all read the same input channels, so "
        "they are mixtures of the same few maps. Compare the inside ÷ across ratio with the three baselines under it"
        + ("" if with_baselines else " (shown for a ResNeXt-50 layer)") + ": only a ratio above "
        "them is more than wiring. This is one picture and one layer; Ioannou et al. (*Deep Roots*, CVPR 2017) found a "
        "block-diagonal pattern in a different place, the covariance between the filters of adjacent layers of "
        "networks trained with filter groups. Do groups specialise, like AlexNet's two branches (colour vs "
        "black-and-white)? Voss et al. (Distill, *Branch Specialization*, 2021) found that specialisation needs "
        "branches that run several layers apart. A ResNeXt group is one 3×3 between two dense 1×1s, and group g "
        "of one block has no relation to group g of the next.")


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
    """gp.LayerGradients without the weight gradient itself: per-group norms and exact-zero counts."""

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
    own_weights: int | None = None  # weights that can move the target: its group's filters, or one channel's filter
    zero_weight_grads_elsewhere: int | None = None  # exact zeros in dTarget/dW outside those own weights
    weights_elsewhere: int | None = None


def own_filter_counts(weight_grad: torch.Tensor, groups: int, target: gp.GradTarget) -> tuple[int, int, int] | None:
    """Return (own weights, exact zeros elsewhere, weights elsewhere) of dTarget/dW (C_out, C_in/G, k, k).

    Own weights: a channel target's one filter (C_in/G * k * k weights) or a group target's
    C_out/G filters; None for a class target (every filter can move a class score).
    """
    c_out = weight_grad.shape[0]
    rows = weight_grad.reshape(c_out, -1)  # (C_out, C_in/G * k * k)
    if target.kind == "channel":
        own = torch.zeros(c_out, dtype=torch.bool)
        own[target.index] = True
    elif target.kind == "group":
        own = torch.arange(c_out) // (c_out // groups) == target.index
    else:
        return None
    elsewhere = rows[~own]
    return int(rows[own].numel()), int((elsewhere == 0).sum()), int(elsewhere.numel())


def gradient_summary(model: ResNet, layer: str, x: torch.Tensor, target: gp.GradTarget) -> GradSummary:
    """Return gp.layer_gradients(...) summarised (the full weight gradient is dropped)."""
    g = gp.layer_gradients(model, layer, x, target)
    own = own_filter_counts(g.weight_grad, g.layer.groups, target) or (None, None, None)
    return GradSummary(
        layer=layer, kind=target.kind, index=target.index, value=g.value,
        weight_grad_norm=g.weight_grad_norm.to(torch.float64).numpy(),
        input_grad_norm=g.input_grad_norm.to(torch.float64).numpy(),
        target_group=g.target_group, zero_weight_grads_outside=g.zero_weight_grads_outside,
        weights_outside=g.weights_outside, zero_input_grads_outside=g.zero_input_grads_outside,
        inputs_outside=g.inputs_outside, own_weights=own[0], zero_weight_grads_elsewhere=own[1],
        weights_elsewhere=own[2])



def class_target_text(layer: str, groups: int) -> str:
    """Return why a class score reaches every group of `layer` (REFERENCE.md, gradient locality stated exactly)."""
    return (f"A class score reaches **every** group of {layer}: right after this grouped 3×3 the block's dense 1×1 "
            f"(conv3) mixes all {groups} groups, and so does everything after it. Group g's weight gradient is "
            "built from its own input slice and its own output gradient, but that output gradient already carries "
            "every group's influence from downstream. Locality holds for a target that depends on one group only: "
            "pick a group's energy or one channel.")


def locality_text(rep: gp.LocalityReport) -> str:
    """Return the grouped-vs-dense explanation with the measured counts of `rep` (no claim the numbers do not show)."""
    g, gs, ds = rep.group, rep.grouped, rep.dense
    gained = gs.zero_inputs_outside - ds.zero_inputs_outside
    dead = (f" Of its cross-group weights, {ds.zero_cross_weights:,} get exactly zero gradient; "
            f"{ds.cross_weights_on_dead:,} read one of the {ds.dead_channels_outside:,} input channels that are zero "
            "everywhere in this picture (a ReLU that never fired)." if ds.zero_cross_weights else "")
    return (f"The loss E is the energy of output group {g}. **In both layers** the filters of the other output "
            f"groups get exactly zero gradient ({gs.zero_other_filters:,} and {ds.zero_other_filters:,}): E never "
            "reads their outputs, so these zeros are not what grouping buys. What grouping buys is the zeros on the "
            f"other groups' **inputs**: the grouped layer's group-{g} filters read only input group {g}, so "
            f"{gs.zero_inputs_outside:,} of {gs.inputs_outside:,} input values outside it get exactly zero gradient, "
            f"against {ds.zero_inputs_outside:,} in the dense twin (measured the same way): {gained:,} zeros come "
            f"from grouping. Everything earlier in the network that reaches E only through those inputs gets "
            f"nothing either. In the dense twin group {g}'s filters read every input channel.{dead} Stacked grouped "
            "layers keep information inside groups; ShuffleNet (Zhang et al. 2017) shuffles channels between them to "
            "let it cross.")
