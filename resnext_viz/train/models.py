"""The lab's small ResNeXt-style network, built from the app's own bottleneck (blocks.resnet.Bottleneck).

    stem    3×3 conv (in → 32) · BN · ReLU
    block1  1×1 (32 → C·d) · grouped 3×3 (C groups of d) · 1×1 (C·d → 32), identity shortcut
    block2  the same with stride 2 and a 1×1 projection shortcut
    head    global average pool · linear (32 → classes)

Three variants, as the ResNeXt paper compares them (Table 2) and as the seed article does:
- dense:           C = 1, d = 16 (a ResNet bottleneck)
- grouped:         C = 8 at *matched parameters*: the solver picks the d whose whole network has
                   the parameter count closest to the dense one's (d = 4: the block spends the
                   weights grouping saves on width, 32 channels in 8 groups)
- grouped, thin:   C = 8 at *matched width* (C·d = 16, d = 2): fewer weights, the seed's "96.9 % fewer" view
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from resnext_viz.blocks.cardinality import template_params
from resnext_viz.blocks.resnet import Bottleneck, conv1x1

STEM = 32  # channels between the blocks
PLANES = 8  # Bottleneck planes: its output is 4 * 8 = 32 = STEM channels
DENSE_D = 16  # the dense bottleneck's width (C = 1)
GROUPED_C = 8


@dataclass(frozen=True)
class Variant:
    """One network of the comparison: its name, cardinality C and channels per group d."""

    name: str
    C: int
    d: int
    label: str

    @property
    def width(self) -> int:
        """Return C·d, the channels of the grouped 3×3."""
        return self.C * self.d

    @property
    def base_width(self) -> int:
        """Return the Bottleneck's base_width giving d = int(planes * base_width / 64) (torchvision's formula)."""
        return self.d * 64 // PLANES


class SmallResNeXt(nn.Module):
    """Stem, two bottlenecks from blocks.resnet, pooling, linear; `features` keeps block1.conv2's output if asked."""

    def __init__(self, v: Variant, in_channels: int, classes: int, device=None):
        super().__init__()
        self.variant = v
        self.stem = nn.Sequential(nn.Conv2d(in_channels, STEM, 3, padding=1, bias=False, device=device),
                                  nn.BatchNorm2d(STEM, device=device), nn.ReLU(inplace=True))
        self.block1 = Bottleneck(STEM, PLANES, 1, None, v.C, v.base_width, device=device)
        down = nn.Sequential(conv1x1(STEM, STEM, 2, device=device), nn.BatchNorm2d(STEM, device=device))
        self.block2 = Bottleneck(STEM, PLANES, 2, down, v.C, v.base_width, device=device)
        self.fc = nn.Linear(STEM, classes, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block2(self.block1(self.stem(x)))  # (B, 32, H/2, W/2)
        return self.fc(x.mean(dim=(2, 3)))  # (B, classes)


def param_count(v: Variant, in_channels: int = 1, classes: int = 10) -> int:
    """Return sum(p.numel()) of the variant's network, counted on the meta device."""
    return sum(p.numel() for p in SmallResNeXt(v, in_channels, classes, device="meta").parameters())


def matched_d(C: int, target: int, in_channels: int = 1, classes: int = 10) -> int:
    """Return the d whose network with cardinality C has the parameter count closest to `target`.

    Table 2's way: solve the block template C·(32d + 9d² + 32d) for the dense block's weights,
    then check the whole numbers around the root on the real network (BN and head included).
    """
    dense_block = template_params(1, DENSE_D, STEM, STEM)
    a, b = 9 * C, C * 2 * STEM
    root = (-b + math.sqrt(b * b + 4 * a * dense_block)) / (2 * a)
    candidates = [d for d in range(max(1, math.floor(root) - 1), math.floor(root) + 3) if (d * 64) % PLANES == 0]
    return min(candidates, key=lambda d: (abs(param_count(Variant("x", C, d, ""), in_channels, classes) - target), d))


def variants(in_channels: int = 1, classes: int = 10) -> tuple[Variant, ...]:
    """Return (dense, grouped at matched parameters, grouped at matched width) for this input and class count."""
    dense = Variant("dense", 1, DENSE_D, f"dense (C = 1, d = {DENSE_D})")
    d = matched_d(GROUPED_C, param_count(dense, in_channels, classes), in_channels, classes)
    grouped = Variant("grouped", GROUPED_C, d, f"grouped (C = {GROUPED_C}, d = {d}), matched parameters")
    thin = Variant("grouped_thin", GROUPED_C, DENSE_D // GROUPED_C,
                   f"grouped (C = {GROUPED_C}, d = {DENSE_D // GROUPED_C}), matched width")
    return dense, grouped, thin


def build(v: Variant, in_channels: int, classes: int, seed: int) -> SmallResNeXt:
    """Return the variant's network with weights drawn from a private generator seeded with `seed` (train mode)."""
    net = SmallResNeXt(v, in_channels, classes, device="meta").to_empty(device="cpu")
    g = torch.Generator().manual_seed(seed)  # not the global RNG: other sessions' threads draw from that
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=g)  # nn.Conv2d's own default
        elif isinstance(m, nn.Linear):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=g)
            bound = 1 / math.sqrt(m.in_features)
            nn.init.uniform_(m.bias, -bound, bound, generator=g)
        elif isinstance(m, nn.BatchNorm2d):
            m.reset_parameters()
    return net.train()


def group_slices(conv: nn.Conv2d, fake_groups: int | None = None) -> list[slice]:
    """Return the output-channel slice of each group of `conv` (or of `fake_groups` equal cuts of a dense one)."""
    n = fake_groups or conv.groups
    per = conv.out_channels // n
    return [slice(g * per, (g + 1) * per) for g in range(n)]
