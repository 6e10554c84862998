"""Performance lab, pure part: the sweep's configuration and bounds, FLOPs and compulsory bytes of each case.

A grouped 3x3 convolution with G groups does 1/G of the dense convolution's arithmetic,
but it still reads the whole input and writes the whole output. So as G grows, the bytes
moved per FLOP rise (the arithmetic intensity falls). No torch here: the page's controls,
the reference and the figures import this without loading PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from resnext_viz.blocks.cardinality import TABLE2_PAPER, solve_preserved_complexity, template_params
from resnext_viz.conv.arithmetic import divisors

# ---------------------------------------------------------------- the sweep and its bounds

LAB_DTYPES = ("float32", "bfloat16", "float16")
ELEMENT_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
TEMPLATE_CHANNELS = 256  # the paper's template block: 256 -> 1x1 -> C*d -> grouped 3x3 -> 1x1 -> 256
TABLE2_CARDINALITIES = tuple(C for C, _, _ in TABLE2_PAPER)  # 1, 2, 4, 8, 32

MAX_CHANNELS = 1024  # ResNeXt-50's widest grouped 3x3 has 1024 channels (stage 4, 32 x 32d)
MAX_SIZE = 224  # feature-map height = width; ImageNet images are 224 x 224
MAX_BATCH = 64  # the H100 reference used batch 64
MIN_BUDGET_S, MAX_BUDGET_S = 1, 120  # seconds of one run (it holds the run lock: other sessions wait)
# (lo, hi) of every numeric field: the validator, the widgets and the URL fields all read these.
BOUNDS = {"channels": (1, MAX_CHANNELS), "size": (1, MAX_SIZE), "batch": (1, MAX_BATCH),
          "budget_s": (MIN_BUDGET_S, MAX_BUDGET_S)}
MAX_ELEMENTS = 2**25  # one feature map of at most 32 M numbers (128 MB in float32)
MAX_ELEMENTS_GPU = 2**28  # a GPU holds far more: 1 GiB of float32 per feature map (batch 64 at 56x56 fits)
CPU_MAX_CALL_GFLOP = 20.0  # on the CPU, one call of the largest configuration (~1 s on a laptop core)

MIN_SAMPLE_S = 1e-3  # a call shorter than this is timed k at a time, so a sync or timer tick is < 1% of a sample
MAX_CALLS_PER_SAMPLE = 100
MAX_REPEATS = 50  # samples per configuration and pass; cheap configurations stop here and leave budget to the rest
ROUNDS = 2  # passes over the configurations; a burst of load from other programs then hits several alike


# The stopwatch for the budget, looked up at call time so a test can replace it.


@dataclass(frozen=True)
class LabConfig:
    """One lab run: the convolution size, where and how to run it, and the time budget."""

    channels: int = 128  # C_in = C_out; ResNeXt-50's stage-1 grouped 3x3 is 128 -> 128 (32 groups of 4)
    size: int = 56  # feature-map height = width: stage 1 for a 224 x 224 image
    batch: int = 1  # one image, as a CPU usually serves them; REFERENCE's CPU claim is at batch 1
    device: str = "cpu"
    dtype: str = "float32"
    channels_last: bool = False  # PyTorch's default layout (NCHW); the H100 reference used channels_last
    threads: int | None = 1  # CPU only: one thread gives the steadiest numbers on a shared machine
    budget_s: float = 10.0  # the whole run, building and warm-up included
    loop: bool = True  # also time one convolution per group in a Python loop
    bottleneck: bool = True  # also time the Table 2 bottlenecks (256 channels in and out)
    cudnn_benchmark: bool = False  # CUDA only: let cuDNN time kernels; False (PyTorch's default) as in the H100 run

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError with a sentence a learner can act on if this run cannot be done."""
        for name in ("channels", "size", "batch"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be a whole number, got {value!r}.")
        _check("channels", self.channels, 1, MAX_CHANNELS, " (input = output channels)")
        _check("size", self.size, 1, MAX_SIZE, " pixels (height = width)")
        _check("batch", self.batch, 1, MAX_BATCH, " images")
        if not isinstance(self.cudnn_benchmark, bool):
            raise ValueError(f"cudnn_benchmark must be True or False, got {self.cudnn_benchmark!r}.")
        if self.dtype not in LAB_DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(LAB_DTYPES)}, got {self.dtype!r}.")
        if self.threads is not None and (isinstance(self.threads, bool) or not isinstance(self.threads, int)
                                         or self.threads < 1):
            raise ValueError(f"threads must be a whole number of at least 1 (or None to keep the current "
                             f"setting), got {self.threads!r}.")
        if not MIN_BUDGET_S <= self.budget_s <= MAX_BUDGET_S:
            raise ValueError(f"the time budget must be between {MIN_BUDGET_S:g} and {MAX_BUDGET_S:g} seconds, "
                             f"got {self.budget_s:g}.")
        widest = max(self.channels, TEMPLATE_CHANNELS if self.bottleneck else 0)
        elements = self.batch * widest * self.size * self.size
        limit = MAX_ELEMENTS if self.device == "cpu" else MAX_ELEMENTS_GPU
        if elements > limit:
            raise ValueError(f"a feature map of {self.batch} × {widest} × {self.size} × {self.size} = {elements:,} "
                             f"numbers is over the lab's {limit:,} limit on this device; lower the batch, the "
                             "channels or the size.")
        if self.device == "cpu":
            worst = max(conv_flops(self.channels, 1, self.size, self.batch),
                        max(bottleneck_flops(C, d, self.size, self.batch) for C, d, _ in TABLE2_PAPER)
                        if self.bottleneck else 0)
            if worst / 1e9 > CPU_MAX_CALL_GFLOP:
                raise ValueError(f"the largest configuration needs {worst / 1e9:.1f} GFLOP per call, over the "
                                 f"CPU limit of {CPU_MAX_CALL_GFLOP:g} GFLOP (about a second per call on a "
                                 "laptop core, too slow to time several of them); lower the batch, the channels "
                                 "or the size.")

    @property
    def groups(self) -> list[int]:
        """Return every valid group count of the channels (its divisors), increasing."""
        return divisors(self.channels)

    def with_(self, **changes) -> "LabConfig":
        """Return a copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def describe(self) -> str:
        """Return a one-line description, e.g. '128 → 128 channels, 56×56, batch 1, cpu float32, 1 thread'."""
        fmt = "channels_last" if self.channels_last else "NCHW"
        where = f"{self.device} {self.dtype}, {fmt}"
        if self.device == "cpu" and self.threads:
            where += f", {self.threads} thread{'s' if self.threads > 1 else ''}"
        if self.device.startswith("cuda") and self.cudnn_benchmark:
            where += ", cudnn.benchmark on"
        return (f"{self.channels} → {self.channels} channels, {self.size}×{self.size}, batch {self.batch}, "
                f"{where}, budget {self.budget_s:g} s")


def _check(name: str, value: int, lo: int, hi: int, unit: str) -> None:
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi}{unit}, got {value}.")


# ---------------------------------------------------------------- FLOPs and bytes (2 FLOPs per MAC)


def conv_flops(channels: int, groups: int, size: int, batch: int) -> int:
    """Return the FLOPs of one 3x3 convolution C -> C, padding 1: 2 * B * C * H * W * (C / G) * 9."""
    return 2 * batch * channels * size * size * (channels // groups) * 9


def conv_bytes(channels: int, groups: int, size: int, batch: int, element_bytes: int, loop: bool = False) -> int:
    """Return the bytes a 3x3 convolution must move at least: read input and weights once, write output once.

    The per-group loop also concatenates its G outputs, reading and writing every output
    value once more.
    """
    act = batch * channels * size * size  # (B, C, H, W), input and output alike
    weights = channels * (channels // groups) * 9  # (C, C/G, 3, 3)
    return element_bytes * (2 * act + weights + (2 * act if loop else 0))


def bottleneck_flops(C: int, d: int, size: int, batch: int, channels: int = TEMPLATE_CHANNELS) -> int:
    """Return the FLOPs of the template block's three convolutions (stride 1): 2 * B * H * W * eq. 4's weights."""
    return 2 * batch * size * size * template_params(C, d, channels, channels)


def bottleneck_bytes(C: int, d: int, size: int, batch: int, element_bytes: int,
                     channels: int = TEMPLATE_CHANNELS) -> int:
    """Return the bytes the block's three convolutions must move at least (each input, weight, output once)."""
    hw, w = size * size, C * d
    outer, inner = batch * channels * hw, batch * w * hw  # (B, 256, H, W) and (B, C*d, H, W)
    conv1 = outer + channels * w + inner
    conv2 = inner + w * d * 9 + inner
    conv3 = inner + w * channels + outer
    return element_bytes * (conv1 + conv2 + conv3)


# ---------------------------------------------------------------- configurations


@dataclass(frozen=True)
class Case:
    """One configuration to time: what it is, its size, FLOPs and compulsory bytes."""

    part: str  # 'conv3x3' or 'bottleneck'
    method: str  # 'grouped kernel', 'per-group loop' or 'bottleneck'
    groups: int  # G of the 3x3 (the bottleneck's cardinality C)
    d: int  # channels per group
    width: int  # channels of the (grouped) 3x3
    params: int  # weights of the convolutions (no bias, no batch norm)
    flops: int
    bytes: int

    @property
    def label(self) -> str:
        """Return e.g. 'grouped kernel, G = 32' or 'bottleneck 32×4d'."""
        if self.part == "bottleneck":
            return f"bottleneck {self.groups}×{self.d}d"
        return f"{self.method}, G = {self.groups}"

    @property
    def intensity(self) -> float:
        """Return the arithmetic intensity, FLOPs per byte moved (higher: more work per byte)."""
        return self.flops / self.bytes


def cases(cfg: LabConfig) -> list[Case]:
    """Return the run's configurations in timing order: each G (grouped, then loop), then Table 2's C."""
    e = ELEMENT_BYTES[cfg.dtype]
    out = []
    for G in cfg.groups:
        params = cfg.channels * (cfg.channels // G) * 9
        flops = conv_flops(cfg.channels, G, cfg.size, cfg.batch)
        out.append(Case("conv3x3", "grouped kernel", G, cfg.channels // G, cfg.channels, params, flops,
                        conv_bytes(cfg.channels, G, cfg.size, cfg.batch, e)))
        if cfg.loop:
            out.append(Case("conv3x3", "per-group loop", G, cfg.channels // G, cfg.channels, params, flops,
                            conv_bytes(cfg.channels, G, cfg.size, cfg.batch, e, loop=True)))
    if cfg.bottleneck:
        for row in solve_preserved_complexity(cardinalities=TABLE2_CARDINALITIES, hw=cfg.size):
            out.append(Case("bottleneck", "bottleneck", row.C, row.d, row.width, row.params,
                            bottleneck_flops(row.C, row.d, cfg.size, cfg.batch),
                            bottleneck_bytes(row.C, row.d, cfg.size, cfg.batch, e)))
    return out
