"""Gradients at a grouped layer, taken without touching the shared model; grouped versus a dense twin.

Gradients come from `torch.autograd.grad` with respect to a per-call copy of the probed
layer's weight and its input; the shared parameters are only read (see probes.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from resnext_viz.blocks.resnet import ResNet
from resnext_viz.inside.probes import (_STEPS, LayerInfo, _after_block, _as_batch, _bn, _info, _locate, _shortcut,
                                       _stage, _step, _to_block, by_group)

# ---- gradients ----------------------------------------------------------------------------

@dataclass(frozen=True)
class GradTarget:
    """What the gradient is of: a class logit, the energy of one output group, or one output channel."""

    kind: Literal["class", "group", "channel"]
    index: int  # the class, the group or the channel

    @classmethod
    def class_logit(cls, index: int) -> GradTarget:
        return cls("class", index)

    @classmethod
    def group_energy(cls, group: int) -> GradTarget:
        """Target: sum of squares of the layer's output group `group` over channels and positions."""
        return cls("group", group)

    @classmethod
    def channel(cls, channel: int) -> GradTarget:
        """Target: sum of the layer's output channel `channel` over positions."""
        return cls("channel", channel)


@dataclass(frozen=True)
class LayerGradients:
    """The gradient of one target with respect to a layer's weight and its input, summarised per group."""

    layer: LayerInfo
    target: GradTarget
    value: float  # the target's value (logit, energy or channel sum)
    weight_grad: torch.Tensor  # (C_out, C_in/G, kH, kW) dTarget/dW, a fresh tensor owned by the caller
    weight_grad_norm: torch.Tensor  # (G,) L2 norm of dTarget/dW over each output group's filters
    input_grad_norm: torch.Tensor  # (G,) L2 norm of dTarget/dinput over each input group's channels
    target_group: int | None  # the output group the target lives in; None for a class logit
    zero_weight_grads_outside: int | None  # exact zeros in dTarget/dW outside the target group's filters
    weights_outside: int | None  # how many weights lie outside the target group's filters
    zero_input_grads_outside: int | None  # exact zeros in dTarget/dinput outside the target group's input channels
    inputs_outside: int | None  # how many input values lie outside that group


def layer_gradients(model: ResNet, layer_name: str, x: torch.Tensor, target: GradTarget) -> LayerGradients:
    """Return the gradients of `target` w.r.t. the weight and the input of `layer_name` ('layerX.Y.conv2').

    A class target runs the rest of the network from the layer (block remainder, later
    blocks, pool, fc); a group or channel target needs only the layer's output. The shared
    model's parameters are read, never given gradients.
    """
    info, block, block_input, layer_input = _probe_input(model, layer_name, x)
    weight = block.conv2.weight.detach().clone().requires_grad_(True)  # this call's own copy
    layer_input.requires_grad_(True)
    with torch.enable_grad():
        out = _conv(info, layer_input, weight, info.groups)  # (1, C_out, H', W')
        value, target_group = _target_value(model, info, block, block_input, out, target)
        weight_grad, input_grad = torch.autograd.grad(value, [weight, layer_input])
    input_grad = input_grad[0]  # (C_in, H, W)
    outside = _outside_counts(info, weight_grad, input_grad, target_group)
    return LayerGradients(
        layer=info, target=target, value=float(value.detach()), weight_grad=weight_grad,
        weight_grad_norm=weight_grad.reshape(info.groups, -1).norm(dim=1),  # (G, C_out/G * C_in/G * k * k)
        input_grad_norm=by_group(input_grad, info.groups).reshape(info.groups, -1).norm(dim=1),  # (G,)
        target_group=target_group, **outside)


def _probe_input(model: ResNet, layer_name: str, x: torch.Tensor):
    """Return (LayerInfo, block, block input, layer input (1, C_in, H, W)) for a block's conv2, without grad."""
    stage, block_index, step = _locate(model, layer_name)
    if step != "conv2":
        raise ValueError(f"Gradients are probed at a block's 3x3 convolution, 'layerX.Y.conv2'; got {layer_name!r}.")
    info = _info(model, layer_name)
    block = _stage(model, stage)[block_index]
    with torch.no_grad():
        block_input = _to_block(model, _as_batch(model, x), stage, block_index)
        layer_input = torch.relu(_bn(block.bn1, block.conv1(block_input)))  # (1, C_in, H, W)
    return info, block, block_input, layer_input


def _conv(info: LayerInfo, x: torch.Tensor, weight: torch.Tensor, groups: int) -> torch.Tensor:
    return F.conv2d(x, weight, None, info.stride, info.padding, 1, groups)


def _target_value(model: ResNet, info: LayerInfo, block: nn.Module, block_input: torch.Tensor,
                  out: torch.Tensor, target: GradTarget) -> tuple[torch.Tensor, int | None]:
    """Return the scalar to differentiate and the output group the target lives in (None for a class)."""
    if target.kind == "group":
        _check_index(target.index, info.groups, "group")
        per_group = out[0].reshape(info.groups, info.out_per_group, *out.shape[2:])  # (G, C_out/G, H', W')
        return per_group[target.index].pow(2).sum(), target.index
    if target.kind == "channel":
        _check_index(target.index, info.out_channels, "channel")
        return out[0, target.index].sum(), target.index // info.out_per_group
    if target.kind == "class":
        steps = _STEPS[type(block)]
        h = out
        for step in steps[steps.index("conv2") + 1:]:
            h = _step(block, step, h)
        logits = _after_block(model, _shortcut(block, block_input, h), info.stage, info.block)  # (1, classes)
        _check_index(target.index, logits.shape[1], "class")
        return logits[0, target.index], None
    raise ValueError(f"Unknown target kind {target.kind!r}: use 'class', 'group' or 'channel'.")


def _check_index(index: int, size: int, what: str) -> None:
    if not 0 <= index < size:
        raise ValueError(f"{what.capitalize()} {index} does not exist: choose 0 to {size - 1}.")


def _outside_counts(info: LayerInfo, weight_grad: torch.Tensor, input_grad: torch.Tensor,
                    group: int | None) -> dict[str, int | None]:
    if group is None:
        return dict(zero_weight_grads_outside=None, weights_outside=None, zero_input_grads_outside=None,
                    inputs_outside=None)
    other_filters = _other_groups(weight_grad.reshape(info.groups, -1), group)  # (G-1, C_out/G * C_in/G * k*k)
    other_inputs = _other_groups(by_group(input_grad, info.groups), group)  # (G-1, C_in/G, H, W)
    return dict(zero_weight_grads_outside=int((other_filters == 0).sum()), weights_outside=other_filters.numel(),
                zero_input_grads_outside=int((other_inputs == 0).sum()), inputs_outside=other_inputs.numel())


def _other_groups(per_group: torch.Tensor, group: int) -> torch.Tensor:
    return torch.cat([per_group[:group], per_group[group + 1:]])


# ---- grouped versus dense: where a gradient can reach ------------------------------------------

@dataclass(frozen=True)
class LocalityStats:
    """Where the gradient of 'energy of output group g' lands, for one convolution (grouped or dense)."""

    block_norms: torch.Tensor  # (G, G) float64, [o, i] = L2 norm of dE/dW over output group o x input group i
    connected: torch.Tensor  # (G, G) bool, whether weights exist between output group o and input group i
    input_grad_norm: torch.Tensor  # (G,) float64, L2 norm of dE/dinput over each input group
    zero_other_filters: int  # exact zeros in dE/dW for the filters of output groups other than g
    other_filter_weights: int  # how many such weights exist
    zero_cross_weights: int  # exact zeros in dE/dW for group g's weights that read other input groups
    cross_weights: int  # how many such weights exist (0 in a grouped convolution: there are none)
    zero_inputs_outside: int  # exact zeros in dE/dinput outside input group g
    inputs_outside: int  # how many input values lie outside input group g
    dead_channels_outside: int = 0  # input channels outside group g that are exactly 0 everywhere (ReLU never fired)
    cross_weights_on_dead: int = 0  # group g's cross-group weights that read such a dead channel


@dataclass(frozen=True)
class LocalityReport:
    """The same loss through the grouped layer and through a dense twin of the same shape.

    Loss E = sum of squares of output group g. In both layers, filters of other output groups
    get exactly zero gradient (E ignores their outputs). The difference is row g: the grouped
    layer's group-g filters only read input group g, so dE/dW has one non-zero block and dE/dinput
    is exactly zero outside input group g. The dense twin's group-g filters read every input
    channel: dE/dW is non-zero across the whole row whatever the weights are (it depends only on
    the input and dE/doutput), and dE/dinput reaches every input channel because the twin's
    off-diagonal weights are non-zero. In the dense case a zero happens only by accident, e.g.
    an input channel that is zero everywhere (a ReLU that never fired).
    """

    layer: LayerInfo
    group: int
    grouped: LocalityStats
    dense: LocalityStats
    off_diagonal_scale: float  # the dense twin's cross-group weights: N(0, (scale * std of grouped W)^2)
    seed: int


def gradient_locality(model: ResNet, layer_name: str, x: torch.Tensor, group: int, *,
                      off_diagonal_scale: float = 0.1, seed: int = 0) -> LocalityReport:
    """Return where dE/dW and dE/dinput land for E = energy of output group `group`, grouped vs dense.

    The dense twin (groups=1, C_in -> C_out) starts where the grouped layer is: its diagonal
    blocks are the grouped filters; its off-diagonal blocks are small seeded normal values
    (std = off_diagonal_scale x the grouped weight's std; 0.1 keeps its output close to the
    grouped one while every connection exists).
    """
    info, block, _, layer_input = _probe_input(model, layer_name, x)
    if info.groups < 2:
        raise ValueError(f"{layer_name} is a dense convolution (groups=1): pick a grouped layer to compare.")
    _check_index(group, info.groups, "group")
    grouped_weight = block.conv2.weight.detach()  # (C_out, C_in/G, k, k), only read
    dense_weight = _dense_twin(grouped_weight, info.groups, off_diagonal_scale, seed)  # (C_out, C_in, k, k)
    grouped = _locality(info, layer_input, grouped_weight, info.groups, group)
    dense = _locality(info, layer_input, dense_weight, 1, group)
    return LocalityReport(layer=info, group=group, grouped=grouped, dense=dense,
                          off_diagonal_scale=off_diagonal_scale, seed=seed)


def _dense_twin(weight: torch.Tensor, groups: int, scale: float, seed: int) -> torch.Tensor:
    """Return a (C_out, C_in, k, k) weight: the grouped filters block-diagonally, small noise elsewhere."""
    c_out, c_in_g, kh, kw = weight.shape
    c_out_g = c_out // groups
    generator = torch.Generator().manual_seed(seed)
    dense = torch.randn(c_out, c_in_g * groups, kh, kw, generator=generator, dtype=weight.dtype)
    dense = dense.to(weight.device) * (scale * weight.std())
    blocks = dense.view(groups, c_out_g, groups, c_in_g, kh, kw)  # (G_out, C_out/G, G_in, C_in/G, k, k)
    diagonal = torch.arange(groups, device=weight.device)
    blocks[diagonal, :, diagonal] = weight.view(groups, c_out_g, c_in_g, kh, kw)  # (G, C_out/G, C_in/G, k, k)
    return dense


def _locality(info: LayerInfo, layer_input: torch.Tensor, weight: torch.Tensor, groups: int,
              group: int) -> LocalityStats:
    """Return LocalityStats for E = energy of output group `group` through F.conv2d(input, weight, groups)."""
    G = info.groups  # the grouping the lesson is about, even when the convolution itself is dense
    weight = weight.clone().requires_grad_(True)
    x = layer_input.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        out = _conv(info, x, weight, groups)[0]  # (C_out, H', W')
        energy = by_group(out, G)[group].pow(2).sum()
        weight_grad, input_grad = torch.autograd.grad(energy, [weight, x])
    c_out_g, c_in_g = info.out_per_group, info.in_per_group
    kh, kw = info.kernel_size
    if groups == 1:
        blocks = weight_grad.reshape(G, c_out_g, G, c_in_g, kh, kw)  # (G_out, C_out/G, G_in, C_in/G, k, k)
        block_norms = blocks.to(torch.float64).pow(2).sum(dim=(1, 3, 4, 5)).sqrt()  # (G_out, G_in)
        connected = torch.ones(G, G, dtype=torch.bool)
        row = blocks[group]  # (C_out/G, G_in, C_in/G, k, k)
        cross = torch.cat([row[:, :group], row[:, group + 1:]], dim=1)  # other input groups
    else:
        blocks = weight_grad.reshape(G, c_out_g, c_in_g, kh, kw)  # (G, C_out/G, C_in/G, k, k)
        block_norms = torch.diag(blocks.to(torch.float64).pow(2).sum(dim=(1, 2, 3, 4)).sqrt())  # (G, G)
        connected = torch.eye(G, dtype=torch.bool)
        cross = weight_grad.new_empty(0)  # group g's filters have no weights on other input groups
    other_filters = _other_groups(blocks, group)
    inputs_outside = _other_groups(by_group(input_grad[0], G), group)  # (G-1, C_in/G, H, W)
    dead = _other_groups(by_group(layer_input[0], G), group).flatten(0, 1).flatten(1).eq(0).all(dim=1)  # per channel
    on_dead = int(dead.sum()) * c_out_g * kh * kw if groups == 1 else 0
    return LocalityStats(
        block_norms=block_norms, connected=connected,
        input_grad_norm=by_group(input_grad[0], G).to(torch.float64).pow(2).sum(dim=(1, 2, 3)).sqrt(),
        zero_other_filters=int((other_filters == 0).sum()), other_filter_weights=other_filters.numel(),
        zero_cross_weights=int((cross == 0).sum()), cross_weights=cross.numel(),
        zero_inputs_outside=int((inputs_outside == 0).sum()), inputs_outside=inputs_outside.numel(),
        dead_channels_outside=int(dead.sum()), cross_weights_on_dead=on_dead)
