"""Pure arithmetic of a grouped 2-D convolution (PyTorch `nn.Conv2d` semantics), no torch.

A convolution with C_in input channels, C_out output channels, a kH x kW kernel and G
groups splits into G independent convolutions, each reading C_in/G channels and writing
C_out/G channels. Its weight tensor has shape (C_out, C_in/G, kH, kW), so

    weights = C_in * C_out * kH * kW / G        bias = C_out (whatever G is)

and every output position costs (C_in/G) * kH * kW multiply-accumulates (MACs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

# Bounds keep every page responsive and every number meaningful. Each is a teaching
# range, not a PyTorch limit: the page says so when a value reaches one.
MAX_CHANNELS = 8192   # ResNeXt's widest layer is 2048; 4x that still draws as bands
MAX_KERNEL = 15       # large enough for 7x7 stems and "large kernel" experiments
MAX_SPATIAL = 2048    # input height / width
MAX_STRIDE = 8
MAX_PADDING = 16
DTYPE_BYTES = 4       # activation memory is reported for float32


class SpecError(ValueError):
    """A configuration that is not a valid convolution; the message says what would be valid."""


@dataclass(frozen=True)
class ConvSpec:
    """One 2-D convolution as the learner configured it (batch of one image)."""

    c_in: int = 64        # the classic example: Conv2d(64, 128, kernel_size=3, groups=32)
    c_out: int = 128
    kh: int = 3
    kw: int = 3
    groups: int = 32
    bias: bool = False    # off by default so the headline numbers are the pure weight counts
    h: int = 56           # 56x56 is ResNet's first-stage resolution for a 224x224 image
    w: int = 56
    stride: int = 1
    padding: int = 0      # PyTorch's default; 1 keeps 56x56 for a 3x3 kernel

    def with_(self, **changes) -> "ConvSpec":
        """Return a copy with some fields changed."""
        return replace(self, **changes)


# (lower, upper) bound of every integer field, used by validation, widgets and URL parsing.
BOUNDS: dict[str, tuple[int, int]] = {
    "c_in": (1, MAX_CHANNELS),
    "c_out": (1, MAX_CHANNELS),
    "kh": (1, MAX_KERNEL),
    "kw": (1, MAX_KERNEL),
    "groups": (1, MAX_CHANNELS),
    "h": (1, MAX_SPATIAL),
    "w": (1, MAX_SPATIAL),
    "stride": (1, MAX_STRIDE),
    "padding": (0, MAX_PADDING),
}

LABELS = {
    "c_in": "input channels",
    "c_out": "output channels",
    "kh": "kernel height",
    "kw": "kernel width",
    "groups": "groups",
    "h": "input height",
    "w": "input width",
    "stride": "stride",
    "padding": "padding",
}


def divisors(n: int) -> list[int]:
    """Return the positive divisors of n in increasing order."""
    small, large = [], []
    for i in range(1, math.isqrt(n) + 1):
        if n % i == 0:
            small.append(i)
            if i != n // i:
                large.append(n // i)
    return small + large[::-1]


def valid_groups(c_in: int, c_out: int) -> list[int]:
    """Return every valid group count: the common divisors of C_in and C_out."""
    return divisors(math.gcd(c_in, c_out))


def nearest_valid_groups(c_in: int, c_out: int, groups: int) -> int:
    """Return the valid group count closest to `groups` (the smaller one on a tie)."""
    return min(valid_groups(c_in, c_out), key=lambda g: (abs(g - groups), g))


def group_problem(c_in: int, c_out: int, groups: int) -> str | None:
    """Return a plain explanation of why `groups` is invalid for these channels, or None."""
    bad = [f"{LABELS[n]} ({c})" for n, c in (("c_in", c_in), ("c_out", c_out)) if c % groups]
    if not bad:
        return None
    valid = ", ".join(str(g) for g in valid_groups(c_in, c_out))
    what = " and ".join(bad)
    return (
        f"{groups} groups cannot split the {what} evenly: every group must get the same "
        f"whole number of input channels and of output channels, so the group count has to "
        f"divide both {c_in} and {c_out}. Valid group counts here: {valid}."
    )


def validate(spec: ConvSpec) -> None:
    """Raise SpecError with a sentence a learner can act on if `spec` is not a valid convolution."""
    for name, (lo, hi) in BOUNDS.items():
        value = getattr(spec, name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise SpecError(f"The {LABELS[name]} must be a whole number, not {value!r}.")
        if not lo <= value <= hi:
            raise SpecError(f"The {LABELS[name]} must be between {lo} and {hi}; got {value}.")
    problem = group_problem(spec.c_in, spec.c_out, spec.groups)
    if problem:
        raise SpecError(problem)
    for side, size, k in (("height", spec.h, spec.kh), ("width", spec.w, spec.kw)):
        if size + 2 * spec.padding < k:
            raise SpecError(
                f"The padded input {side} ({size} + 2 x {spec.padding} = {size + 2 * spec.padding}) "
                f"is smaller than the kernel {side} ({k}): the kernel does not fit even once. "
                f"Use a larger input, more padding or a smaller kernel."
            )


def weight_shape(spec: ConvSpec) -> tuple[int, int, int, int]:
    """Return the weight tensor shape (C_out, C_in/G, kH, kW)."""
    return (spec.c_out, spec.c_in // spec.groups, spec.kh, spec.kw)


def dense_weight_count(spec: ConvSpec) -> int:
    """Return the weights of the same convolution with one group: C_in * C_out * kH * kW."""
    return spec.c_in * spec.c_out * spec.kh * spec.kw


def weight_count(spec: ConvSpec) -> int:
    """Return the weights of the grouped convolution: C_in * C_out * kH * kW / G."""
    return dense_weight_count(spec) // spec.groups


def bias_count(spec: ConvSpec) -> int:
    """Return the bias parameters: C_out when bias is on, else 0 (independent of G)."""
    return spec.c_out if spec.bias else 0


def param_count(spec: ConvSpec) -> int:
    """Return all parameters: weights plus bias."""
    return weight_count(spec) + bias_count(spec)


def dense_param_count(spec: ConvSpec) -> int:
    """Return all parameters of the dense (G = 1) version, bias included when on."""
    return dense_weight_count(spec) + bias_count(spec)


def output_hw(spec: ConvSpec) -> tuple[int, int]:
    """Return the output (H_out, W_out): floor((size + 2*padding - k) / stride) + 1."""
    h = (spec.h + 2 * spec.padding - spec.kh) // spec.stride + 1
    w = (spec.w + 2 * spec.padding - spec.kw) // spec.stride + 1
    return h, w


def output_shape(spec: ConvSpec) -> tuple[int, int, int, int]:
    """Return the output tensor shape (1, C_out, H_out, W_out) for a batch of one."""
    return (1, spec.c_out, *output_hw(spec))


def macs(spec: ConvSpec) -> int:
    """Return multiply-accumulates for one image: C_out * H_out * W_out * (C_in/G) * kH * kW."""
    h, w = output_hw(spec)
    return spec.c_out * h * w * (spec.c_in // spec.groups) * spec.kh * spec.kw


def flops(spec: ConvSpec) -> int:
    """Return floating-point operations, counted as 2 per MAC (PyTorch's FlopCounterMode convention)."""
    return 2 * macs(spec)


def output_bytes(spec: ConvSpec, dtype_bytes: int = DTYPE_BYTES) -> int:
    """Return the output activation memory in bytes for one image (float32 by default)."""
    return math.prod(output_shape(spec)) * dtype_bytes


def reduction(grouped: int, dense: int) -> float:
    """Return the fraction saved, 1 - grouped / dense (0.96875 for 2,304 vs 73,728)."""
    return 1.0 - grouped / dense


@dataclass(frozen=True)
class ConvReport:
    """Every number the parameter page shows for one valid ConvSpec."""

    spec: ConvSpec
    weight_shape: tuple[int, int, int, int]
    dense_weights: int
    weights: int
    bias: int
    params: int
    dense_params: int
    in_per_group: int
    out_per_group: int
    weights_per_group: int
    weight_reduction: float      # without bias: 1 - 1/G
    param_reduction: float       # with bias counted on both sides
    output_shape: tuple[int, int, int, int]
    macs: int
    dense_macs: int
    flops: int
    output_bytes: int

    @property
    def factor(self) -> float:
        """Return how many times fewer weights than dense (G, exactly)."""
        return self.dense_weights / self.weights


def report(spec: ConvSpec) -> ConvReport:
    """Validate `spec` and return every derived number (raises SpecError if invalid)."""
    validate(spec)
    dense_spec = spec.with_(groups=1)
    return ConvReport(
        spec=spec,
        weight_shape=weight_shape(spec),
        dense_weights=dense_weight_count(spec),
        weights=weight_count(spec),
        bias=bias_count(spec),
        params=param_count(spec),
        dense_params=dense_param_count(spec),
        in_per_group=spec.c_in // spec.groups,
        out_per_group=spec.c_out // spec.groups,
        weights_per_group=weight_count(spec) // spec.groups,
        weight_reduction=reduction(weight_count(spec), dense_weight_count(spec)),
        param_reduction=reduction(param_count(spec), dense_param_count(spec)),
        output_shape=output_shape(spec),
        macs=macs(spec),
        dense_macs=macs(dense_spec),
        flops=flops(spec),
        output_bytes=output_bytes(spec),
    )


@dataclass(frozen=True)
class GroupSweepRow:
    """Parameters and MACs at one valid group count."""

    groups: int
    params: int
    macs: int
    in_per_group: int
    out_per_group: int


def sweep_groups(spec: ConvSpec) -> list[GroupSweepRow]:
    """Return one row per valid group count for the channels of `spec` (other fields kept)."""
    rows = []
    for g in valid_groups(spec.c_in, spec.c_out):
        s = spec.with_(groups=g)
        rows.append(GroupSweepRow(g, param_count(s), macs(s), s.c_in // g, s.c_out // g))
    return rows


def fmt_int(n: int) -> str:
    """Return n with thousands separators: 73728 -> '73,728'."""
    return f"{n:,}"


def fmt_bytes(n: float) -> str:
    """Return a byte count in binary units: 802816 -> '784.0 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def fmt_count(n: float) -> str:
    """Return a large count in engineering form: 6718464 -> '6.72 M'."""
    for div, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.3g} {unit}"
    return f"{n:g}"


def fmt_pct(x: float) -> str:
    """Return a fraction as a percentage with one decimal (more if needed to stay below 100%): 0.96875 -> '96.9%'."""
    for places in range(1, 5):
        text = f"{100 * x:.{places}f}"
        if x >= 1 or float(text) < 100:
            break
    return f"{text}%"
