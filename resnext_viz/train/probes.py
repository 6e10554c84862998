"""What the lab measures inside a network: per-group gradient norms, linear CKA between groups, noise, interference."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from resnext_viz.train.models import SmallResNeXt, group_slices

FAKE_GROUPS = 8  # a dense layer is cut into this many equal "groups" so its numbers sit beside the grouped ones


def probe_groups(net: SmallResNeXt) -> int:
    """Return the groups probed on block1.conv2: its real groups, or FAKE_GROUPS equal cuts of a dense layer."""
    conv = net.block1.conv2
    return conv.groups if conv.groups > 1 else FAKE_GROUPS


def group_grad_norms(net: SmallResNeXt) -> list[float]:
    """Return the L2 norm of block1.conv2's weight gradient, group by group (output-channel slices)."""
    conv = net.block1.conv2
    if conv.weight.grad is None:
        return [0.0] * probe_groups(net)
    grad = conv.weight.grad  # (C·d, d_in, 3, 3): group g owns output rows g·d … (g+1)·d
    return [float(grad[s].norm()) for s in group_slices(conv, probe_groups(net))]


def _centred_gram(x: torch.Tensor) -> torch.Tensor:
    """Return H K H for K = x xᵀ (x: (n, features)), the centred Gram matrix of linear CKA."""
    x = x - x.mean(dim=0, keepdim=True)
    return x @ x.T  # (n, n)


def _cka_of_grams(kx: torch.Tensor, ky: torch.Tensor) -> float:
    denom = kx.norm() * ky.norm()
    return float((kx * ky).sum() / denom) if denom > 0 else 0.0


def linear_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """Return linear CKA (Kornblith et al. 2019) between two (n, features) activation matrices, in [0, 1]."""
    return _cka_of_grams(_centred_gram(x.double()), _centred_gram(y.double()))


@torch.no_grad()
def group_similarity(net: SmallResNeXt, x: torch.Tensor) -> float:
    """Return the mean linear CKA over all pairs of block1.conv2's groups on images x (eval mode, no BN update)."""
    acts: list[torch.Tensor] = []
    handle = net.block1.conv2.register_forward_hook(lambda m, i, out: acts.append(out))
    was_training = net.training
    try:
        net.eval()
        net(x)
    finally:
        handle.remove()
        net.train(was_training)
    out = acts[0]  # (n, C·d, H, W)
    grams = [_centred_gram(out[:, s].flatten(1).double())  # each group (n, d·H·W) -> (n, n)
             for s in group_slices(net.block1.conv2, probe_groups(net))]
    pairs = [_cka_of_grams(grams[i], grams[j]) for i in range(len(grams)) for j in range(i + 1, len(grams))]
    return sum(pairs) / len(pairs)


@torch.no_grad()
def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Return (mean cross-entropy loss, accuracy) of net on x, y in eval mode."""
    was_training = net.training
    net.eval()
    logits = net(x)
    net.train(was_training)
    return float(F.cross_entropy(logits, y)), float((logits.argmax(1) == y).float().mean())


NOISE_LEVELS = (0.0, 0.1, 0.2, 0.3, 0.5)  # standard deviation of Gaussian noise added to pixels in [0, 1]


@torch.no_grad()
def noise_accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int) -> list[float]:
    """Return test accuracy at each NOISE_LEVELS σ (noise drawn from a generator seeded with `seed`)."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(x.shape, generator=g)
    return [accuracy(net, x + s * noise, y)[1] for s in NOISE_LEVELS]


@dataclass(frozen=True)
class Interference:
    """One optimisation step on one group's filters: how much each group's output and each logit moved."""

    group: int
    group_change: list[float]  # max |Δ| of each group's block1.conv2 output
    logit_change: list[float]  # max |Δ| over the batch of each logit
    weight_change_outside: float  # max |Δ| of the other groups' filters (exactly 0 by construction)

    @property
    def others_exactly_zero(self) -> bool:
        """Return True when every other group's output is bit-for-bit unchanged."""
        return all(c == 0.0 for i, c in enumerate(self.group_change) if i != self.group)

    @property
    def every_logit_moved(self) -> bool:
        """Return True when every logit changed."""
        return all(c > 0.0 for c in self.logit_change)


def interference_check(net: SmallResNeXt, x: torch.Tensor, y: torch.Tensor, group: int, lr: float = 0.1) -> Interference:
    """Take one SGD step on group `group`'s filters of block1.conv2 only; return what moved (net is changed)."""
    conv = net.block1.conv2
    if conv.groups < 2:
        raise ValueError("the interference check needs a grouped layer (C ≥ 2).")
    if not 0 <= group < conv.groups:
        raise ValueError(f"group must be 0–{conv.groups - 1}, got {group}.")
    slices = group_slices(conv)
    net.eval()  # BN uses running statistics: the batch cannot couple the groups
    acts: list[torch.Tensor] = []
    handle = conv.register_forward_hook(lambda m, i, out: acts.append(out.detach().clone()))
    try:
        before_logits = net(x)
        loss = F.cross_entropy(before_logits, y)
        grad = torch.autograd.grad(loss, conv.weight)[0]
        before_w = conv.weight.detach().clone()
        with torch.no_grad():
            conv.weight[slices[group]] -= lr * grad[slices[group]]  # only this group's filters move
            after_logits = net(x)
    finally:
        handle.remove()
    before, after = acts
    group_change = [float((after[:, s] - before[:, s]).abs().max()) for s in slices]
    logit_change = (after_logits - before_logits.detach()).abs().amax(dim=0).tolist()
    outside = torch.ones(conv.out_channels, dtype=torch.bool)
    outside[slices[group]] = False
    weight_change = float((conv.weight.detach() - before_w)[outside].abs().max())
    return Interference(group, group_change, logit_change, weight_change)
