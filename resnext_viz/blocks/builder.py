"""The block builder: one configurable ResNeXt bottleneck, its layer table and its code.

A learner picks inplanes, planes, cardinality C and base width; the block is the
torchvision bottleneck (`blocks.Bottleneck`) with

    d = int(planes * base_width / 64)      # channels per group
    C * d                                  # channels of the grouped 3x3 (bottleneck width)
    4 * planes                             # output channels
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from resnext_viz.blocks.config import *  # noqa: F401,F403  (BlockConfig and its bounds, re-exported)
from resnext_viz.blocks.config import BlockConfig
from resnext_viz.blocks.resnet import Bottleneck, conv1x1

__all__ = [
    "BlockConfig",
    "LayerRow",
    "LayerTable",
    "MAX_ACTIVATION_ELEMENTS",
    "build_block",
    "output_shape",
    "layer_table",
    "flop_counter_macs",
    "block_code",
]

def build_block(cfg: BlockConfig, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                seed: int = 0) -> Bottleneck:
    """Return the configured bottleneck in eval mode, initialised from `seed` (meta device: no values)."""
    def make(dev) -> Bottleneck:
        downsample = None
        if cfg.has_downsample:
            downsample = nn.Sequential(conv1x1(cfg.inplanes, cfg.out_channels, cfg.stride, device=dev),
                                       nn.BatchNorm2d(cfg.out_channels, device=dev))
        return Bottleneck(cfg.inplanes, cfg.planes, cfg.stride, downsample, cfg.cardinality, cfg.base_width,
                          device=dev)

    block = make("meta")  # shapes only; values are filled in below from a private generator
    if torch.device(device).type != "meta":
        # A private generator, not the global RNG: the same seed gives the same weights even
        # while other threads (other browser sessions) draw random numbers.
        block = block.to_empty(device="cpu")
        g = torch.Generator().manual_seed(seed)
        for m in block.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=g)  # nn.Conv2d's own default
            elif isinstance(m, nn.BatchNorm2d):
                m.reset_parameters()  # weight 1, bias 0, running mean 0, running var 1
    return block.to(device=device, dtype=dtype).eval()


def output_shape(cfg: BlockConfig) -> tuple[int, int, int, int]:
    """Return the block's output shape (batch, 4 * planes, out_height, out_width)."""
    return (cfg.batch, cfg.out_channels, cfg.out_height, cfg.out_width)


@dataclass(frozen=True)
class LayerRow:
    """One layer with parameters: its shapes, parameter count and multiply-accumulates for the whole batch."""

    name: str  # the state_dict prefix, e.g. 'conv2' or 'downsample.0'
    kind: str  # '1×1 conv', 'grouped 3×3 conv', 'batch norm', ...
    in_channels: int
    out_channels: int
    kernel: tuple[int, int] | None  # None for batch norm
    stride: int | None
    groups: int | None
    weight_shape: tuple[int, ...]
    params: int
    macs: int  # multiply-accumulates for the configured batch (0 for batch norm: not a MAC layer)
    output_shape: tuple[int, ...]


@dataclass(frozen=True)
class LayerTable:
    """The layers of one block, with total parameters and MACs (for the configured batch)."""

    rows: tuple[LayerRow, ...]
    batch: int

    @property
    def params(self) -> int:
        """Return the total parameter count."""
        return sum(r.params for r in self.rows)

    @property
    def macs(self) -> int:
        """Return the total multiply-accumulates for the whole batch."""
        return sum(r.macs for r in self.rows)

    @property
    def macs_per_image(self) -> int:
        """Return the total multiply-accumulates for one image."""
        return self.macs // self.batch

    def records(self) -> list[dict]:
        """Return one dict per layer plus a 'total' row, ready for a dataframe (None where a field does not apply)."""
        def fmt(t):
            return None if t is None else " × ".join(str(v) for v in t)
        out = [{"layer": r.name, "kind": _short_kind(r.kind), "in → out": f"{r.in_channels} → {r.out_channels}",
                "kernel": fmt(r.kernel), "stride": r.stride, "groups": r.groups,
                "weight shape": fmt(r.weight_shape), "parameters": r.params,
                f"MACs (batch {self.batch})": None if r.kind == "batch norm" else r.macs,  # not counted (MAC_NOTE)
                "output": fmt(r.output_shape)} for r in self.rows]
        out.append({"layer": "total", "kind": None, "in → out": None, "kernel": None, "stride": None, "groups": None,
                    "weight shape": None, "parameters": self.params, f"MACs (batch {self.batch})": self.macs, "output": None})
        return out


def _short_kind(kind: str) -> str:
    """Return the kind as the table shows it: '1×1 conv (shortcut projection)' is too wide for its column."""
    return f"shortcut {kind.removesuffix(' (shortcut projection)')}" if kind.endswith("(shortcut projection)") else kind


MAC_NOTE = ("Batch-norm rows leave MACs blank: not counted. Their per-element scale and shift are not "
            "multiply-accumulates of a convolution, and FlopCounterMode (the total) does not count them either.")


def _conv_kind(name: str, conv: nn.Conv2d) -> str:
    k = f"{conv.kernel_size[0]}×{conv.kernel_size[1]}"
    if name.startswith("downsample"):
        return f"{k} conv (shortcut projection)"
    return f"grouped {k} conv" if conv.groups > 1 else f"{k} conv"


def layer_table(cfg: BlockConfig) -> LayerTable:
    """Return every conv and batch-norm layer of the block with shapes, parameters and MACs (meta device)."""
    block = build_block(cfg, device="meta")
    out_shapes: dict[str, tuple[int, ...]] = {}
    layers = [(n, m) for n, m in block.named_modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
    handles = [m.register_forward_hook(lambda mod, inp, out, n=n: out_shapes.__setitem__(n, tuple(out.shape)))
               for n, m in layers]
    try:
        with torch.no_grad():
            block(torch.empty(cfg.batch, cfg.inplanes, cfg.height, cfg.width, device="meta"))
    finally:
        for h in handles:
            h.remove()

    rows = []
    for name, m in layers:
        params = sum(p.numel() for p in m.parameters())
        shape = out_shapes[name]
        if isinstance(m, nn.Conv2d):
            kh, kw = m.kernel_size
            macs = _numel(shape) * (m.in_channels // m.groups) * kh * kw  # each output value: in/G * kh * kw MACs
            rows.append(LayerRow(name, _conv_kind(name, m), m.in_channels, m.out_channels, (kh, kw), m.stride[0],
                                 m.groups, tuple(m.weight.shape), params, macs, shape))
        else:
            rows.append(LayerRow(name, "batch norm", m.num_features, m.num_features, None, None, None,
                                 tuple(m.weight.shape), params, 0, shape))
    return LayerTable(tuple(rows), cfg.batch)


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def flop_counter_macs(module: nn.Module, *inputs: torch.Tensor) -> int:
    """Return PyTorch's FlopCounterMode count for module(*inputs), halved to multiply-accumulates."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(*inputs)
    return counter.get_total_flops() // 2


_CODE_TEMPLATE = '''\
import torch
from torch import nn


class Bottleneck(nn.Module):
    """ResNeXt bottleneck: 1x1 reduce -> grouped 3x3 (C groups of d channels) -> 1x1 expand, plus shortcut."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, cardinality=1, base_width=64, downsample=False):
        super().__init__()
        d = int(planes * (base_width / 64.0))  # channels per group
        width = cardinality * d  # C * d channels in the grouped 3x3
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, width, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, kernel_size=3, stride=stride, padding=1,
                               groups=cardinality, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if downsample:  # a 1x1 projection so the shortcut matches the output's shape
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, out, kernel_size=1, stride=stride, bias=False),
                                            nn.BatchNorm2d(out))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


block = Bottleneck(inplanes={inplanes}, planes={planes}, stride={stride}, cardinality={cardinality},
                   base_width={base_width}, downsample={downsample}).eval()
x = torch.randn({batch}, {inplanes}, {height}, {width})  # (batch, channels, height, width)
with torch.no_grad():
    y = block(x)
print("output shape:", tuple(y.shape))  # expect {expected}
print("parameters:", sum(p.numel() for p in block.parameters()))
'''


def block_code(cfg: BlockConfig) -> str:
    """Return a self-contained PyTorch script that rebuilds this block, runs it once and prints its size."""
    return _CODE_TEMPLATE.format(inplanes=cfg.inplanes, planes=cfg.planes, stride=cfg.stride,
                                 cardinality=cfg.cardinality, base_width=cfg.base_width,
                                 downsample=cfg.has_downsample, batch=cfg.batch, height=cfg.height,
                                 width=cfg.width, expected=output_shape(cfg))
