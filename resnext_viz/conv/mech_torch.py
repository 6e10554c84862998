"""'PyTorch says' for the mechanics lessons: conv2d on the step-through's tensors, a stack's Jacobian, counts.

Everything here is the oracle side: the pure modules (stepthrough, stacks, separable) compute the
same numbers without torch, and the pages show both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from resnext_viz.conv import stacks
from resnext_viz.conv.stepthrough import StepSpec, Tensors


def conv2d(s: StepSpec, t: Tensors) -> np.ndarray:
    """Return F.conv2d on the step-through's tensors (float64): (C_out, H_out, W_out)."""
    y = F.conv2d(torch.from_numpy(t.x)[None], torch.from_numpy(t.w), torch.from_numpy(t.b),
                 stride=s.stride, padding=s.padding, groups=s.groups)   # (1, C_out, H_out, W_out)
    return y[0].numpy()


class _Shuffle(torch.nn.Module):
    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        x = x.reshape(b, self.groups, c // self.groups, h, w)   # (B, G, c/G, H, W)
        return x.transpose(1, 2).reshape(b, c, h, w)            # (B, c/G, G, H, W) flattened


def build_stack(c: int, layers: Sequence[str], seed: int = 0) -> torch.nn.Sequential:
    """Return a float64 stack of 1x1 grouped convs (random normal weights, no bias) and channel shuffles."""
    gen = torch.Generator().manual_seed(seed)
    mods: list[torch.nn.Module] = []
    for lay in stacks.parse_layers(c, layers):
        if lay.kind == "shuffle":
            mods.append(_Shuffle(lay.groups))
            continue
        conv = torch.nn.Conv2d(c, c, 1, groups=lay.groups, bias=False, dtype=torch.float64)
        with torch.no_grad():
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen, dtype=torch.float64))
        mods.append(conv)
    return torch.nn.Sequential(*mods)


def jacobian_pattern(c: int, layers: Sequence[str], seed: int = 0) -> np.ndarray:
    """Return the (c, c) bool pattern [output, input] of the nonzero entries of d stack(x) / d x, by autograd."""
    net = build_stack(c, layers, seed)
    x = torch.randn(1, c, 1, 1, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda v: net(v.view(1, c, 1, 1)).view(c), x.view(c))  # (c, c)
    return (jac != 0).numpy()


@dataclass(frozen=True)
class MeasuredZeros:
    """Exactly-zero entries of autograd's gradients of a target (sum of some output channels)."""

    input_zeros: int
    weight_zeros: tuple[int, ...]   # per grouped layer, in order
    weight_counts: tuple[int, ...]


def zero_gradients(c: int, layers: Sequence[str], target: Sequence[int], seed: int = 0) -> MeasuredZeros:
    """Return autograd's exact zeros of d(sum of y[target]) / d(x, each grouped layer's weight)."""
    net = build_stack(c, layers, seed)
    x = torch.randn(1, c, 1, 1, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64,
                    requires_grad=True)
    net(x)[0, list(target)].sum().backward()
    convs = [m for m in net if isinstance(m, torch.nn.Conv2d)]
    return MeasuredZeros(int((x.grad == 0).sum()), tuple(int((m.weight.grad == 0).sum()) for m in convs),
                         tuple(m.weight.numel() for m in convs))


def meta_params(c_in: int, c_out: int, k: int | tuple[int, int], groups: int, h: int = 56, w: int = 56,
                stride: int = 1, padding: int = 0) -> tuple[int, int]:
    """Return (sum(p.numel()), FlopCounterMode FLOPs / 2) of nn.Conv2d(..., bias=False) on the meta device."""
    from torch.utils.flop_counter import FlopCounterMode

    conv = torch.nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, groups=groups, bias=False, device="meta")
    with FlopCounterMode(display=False) as counter:
        conv(torch.empty(1, c_in, h, w, device="meta"))   # (B, C_in, H, W)
    return sum(p.numel() for p in conv.parameters()), counter.get_total_flops() // 2


def time_conv(c_in: int, c_out: int, k: int | tuple[int, int], groups: int, h: int, w: int, stride: int, padding: int,
              budget_s: float = 0.25):
    """Return timing.measure of one nn.Conv2d forward on the CPU (float32, batch 1, one thread), short budget."""
    from resnext_viz import timing

    conv = torch.nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, groups=groups, bias=False)
    x = torch.randn(1, c_in, h, w)   # (B, C_in, H, W)
    with timing.steady_timing("cpu"), torch.inference_mode():
        return timing.measure(lambda: conv(x), "cpu", warmup=2, min_repeats=3, max_repeats=30, budget_s=budget_s)
