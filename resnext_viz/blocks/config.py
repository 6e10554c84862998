"""The block builder's configuration: one ResNeXt bottleneck and its input, validated; pure (no torch).

    d = int(planes * base_width / 64)      # channels per group
    C * d                                  # channels of the grouped 3x3 (bottleneck width)
    4 * planes                             # output channels
"""

from __future__ import annotations

from dataclasses import dataclass, fields

EXPANSION = 4  # a bottleneck outputs 4 x planes channels (blocks.resnet.Bottleneck.expansion)
MAX_CHANNELS = 4096  # every channel count; ResNeXt-101 64x4d peaks at 2048, so twice that is plenty
MAX_CARDINALITY = 512  # past this the grouped 3x3 is close to depthwise for any width allowed
MAX_SPATIAL = 512  # height and width; ImageNet stage 1 is 56, a 1024-pixel image gives 256
MAX_BATCH = 256
MAX_ACTIVATION_ELEMENTS = 2**28  # one feature map of 1 GiB in float32; a forward+backward keeps several
# (lo, hi) of every whole-number field: the validator, the widgets and the URL fields all read these.
BOUNDS = {"inplanes": (1, MAX_CHANNELS), "planes": (1, MAX_CHANNELS // 4), "cardinality": (1, MAX_CARDINALITY),
          "base_width": (1, MAX_CHANNELS), "stride": (1, 2), "batch": (1, MAX_BATCH),
          "height": (1, MAX_SPATIAL), "width": (1, MAX_SPATIAL)}
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
        return self.planes * EXPANSION

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
        units = {"inplanes": " channels", "planes": f" (the block outputs 4 x planes channels, at most {MAX_CHANNELS})",
                 "cardinality": " groups", "base_width": " channels", "batch": " images", "height": " pixels",
                 "width": " pixels"}
        for name, unit in units.items():
            _check_range(name, getattr(self, name), *BOUNDS[name], unit)
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
