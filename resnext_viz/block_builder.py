"""The block builder: one configurable ResNeXt bottleneck, its layer table and its code.

A learner picks inplanes, planes, cardinality C and base width; the block is the
torchvision bottleneck (`blocks.Bottleneck`) with

    d = int(planes * base_width / 64)      # channels per group
    C * d                                  # channels of the grouped 3x3 (bottleneck width)
    4 * planes                             # output channels
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .blocks import Bottleneck, conv1x1

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

MAX_CHANNELS = 4096  # every channel count; ResNeXt-101 64x4d peaks at 2048, so twice that is plenty
MAX_CARDINALITY = 512  # past this the grouped 3x3 is close to depthwise for any width allowed
MAX_SPATIAL = 512  # height and width; ImageNet stage 1 is 56, a 1024-pixel image gives 256
MAX_BATCH = 256
MAX_ACTIVATION_ELEMENTS = 2**28  # one feature map of 1 GiB in float32; a forward+backward keeps several
DOWNSAMPLE_CHOICES = ("auto", "on", "off")


@dataclass(frozen=True)
class BlockConfig:
    """One bottleneck block and the input it sees; raises ValueError when it cannot be built."""

    inplanes: int = 256  # ResNeXt-50 stage 1 input: every block after the first sees 4 * 64 channels
    planes: int = 64  # stage 1; the block outputs 4 * planes channels
    cardinality: int = 32  # C, the number of groups in the 3x3 (ResNeXt-50 32x4d)
    base_width: int = 4  # d at planes = 64 (the '4d' in 32x4d); d scales with planes
    stride: int = 1  # 2 on the first block of stages 2-4, halving height and width
    downsample: str = "auto"  # 'auto': a 1x1 projection only when the shortcut's shape must change
    batch: int = 8  # small enough to time on a laptop CPU in about a second
    height: int = 56  # stage-1 resolution for a 224 x 224 image
    width: int = 56

    def __post_init__(self) -> None:
        self.validate()

    # --- derived sizes (the paper's names) ---
    @property
    def d(self) -> int:
        """Return d, the channels per group of the grouped 3x3 (torchvision: int(planes * base_width / 64))."""
        return int(self.planes * (self.base_width / 64.0))

    @property
    def bottleneck_width(self) -> int:
        """Return C * d, the channels of the grouped 3x3 (not the spatial `width`)."""
        return self.cardinality * self.d

    @property
    def out_channels(self) -> int:
        """Return the block's output channels, 4 * planes."""
        return self.planes * Bottleneck.expansion

    @property
    def out_height(self) -> int:
        """Return the output height in pixels (3x3, padding 1, this stride)."""
        return (self.height - 1) // self.stride + 1

    @property
    def out_width(self) -> int:
        """Return the output width in pixels (3x3, padding 1, this stride)."""
        return (self.width - 1) // self.stride + 1

    @property
    def needs_downsample(self) -> bool:
        """Return True when the shortcut must change shape (stride 2, or inplanes != 4 * planes)."""
        return self.stride != 1 or self.inplanes != self.out_channels

    @property
    def has_downsample(self) -> bool:
        """Return True when the built block has a 1x1 projection on its shortcut."""
        return self.downsample == "on" or (self.downsample == "auto" and self.needs_downsample)

    def validate(self) -> None:
        """Raise ValueError with a sentence a learner can act on if this block cannot be built."""
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "downsample":
                if value not in DOWNSAMPLE_CHOICES:
                    raise ValueError(f"downsample must be one of {', '.join(DOWNSAMPLE_CHOICES)}, got {value!r}.")
            elif isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{f.name} must be a whole number, got {value!r}.")
        _check_range("inplanes", self.inplanes, 1, MAX_CHANNELS, " channels")
        _check_range("planes", self.planes, 1, MAX_CHANNELS // 4, f" (the block outputs 4 x planes channels, "
                                                                    f"at most {MAX_CHANNELS})")
        _check_range("cardinality", self.cardinality, 1, MAX_CARDINALITY, " groups")
        _check_range("base_width", self.base_width, 1, MAX_CHANNELS, " channels")
        _check_range("batch", self.batch, 1, MAX_BATCH, " images")
        _check_range("height", self.height, 1, MAX_SPATIAL, " pixels")
        _check_range("width", self.width, 1, MAX_SPATIAL, " pixels")
        if self.stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2 (2 halves height and width), got {self.stride}.")
        if self.d < 1:
            min_planes = -(-64 // self.base_width)
            min_base = -(-64 // self.planes)
            raise ValueError(f"planes {self.planes} with base width {self.base_width} gives 0 channels per group "
                             f"(d = int({self.planes} * {self.base_width} / 64) = 0); use planes >= {min_planes} "
                             f"or a base width >= {min_base}.")
        if self.bottleneck_width > MAX_CHANNELS:
            raise ValueError(f"cardinality {self.cardinality} x d {self.d} = {self.bottleneck_width} channels in the "
                             f"grouped 3x3, over the {MAX_CHANNELS} limit; lower the cardinality, planes or base width.")
        if self.downsample == "off" and self.needs_downsample:
            why = "stride 2 halves the output" if self.stride != 1 else \
                f"inplanes {self.inplanes} differs from the output's 4 x {self.planes} = {self.out_channels} channels"
            raise ValueError(f"{why}, so the shortcut cannot be a plain identity: set downsample to 'auto' or 'on'.")
        largest = self.batch * max(self.inplanes, self.bottleneck_width, self.out_channels) * self.height * self.width
        if largest > MAX_ACTIVATION_ELEMENTS:
            raise ValueError(f"the largest feature map would hold {largest:,} numbers (batch x channels x height x "
                             f"width), over the {MAX_ACTIVATION_ELEMENTS:,} limit; lower the batch, the channels or "
                             f"the input size.")


def _check_range(name: str, value: int, lo: int, hi: int, unit: str) -> None:
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi}{unit}, got {value}.")


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
        out = [{"layer": r.name, "kind": r.kind, "in → out": f"{r.in_channels} → {r.out_channels}",
                "kernel": fmt(r.kernel), "stride": r.stride, "groups": r.groups,
                "weight shape": fmt(r.weight_shape), "parameters": r.params,
                f"MACs (batch {self.batch})": None if r.kind == "batch norm" else r.macs,  # not counted (MAC_NOTE)
                "output": fmt(r.output_shape)} for r in self.rows]
        out.append({"layer": "total", "kind": None, "in → out": None, "kernel": None, "stride": None, "groups": None,
                    "weight shape": None, "parameters": self.params, f"MACs (batch {self.batch})": self.macs, "output": None})
        return out


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
