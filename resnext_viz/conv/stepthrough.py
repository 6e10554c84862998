"""One grouped convolution computed by hand, small enough to read every number (pure NumPy).

Output channel o belongs to group g = o // (C_out/G) and reads only input channels
[g*C_in/G, (g+1)*C_in/G). Its value at output position (i, j) is

    y[o, i, j] = b[o] + sum over c' < C_in/G, u < k, v < k of
                 w[o, c', u, v] * x_pad[g*C_in/G + c', i*stride + u, j*stride + v]

with x_pad the input with `padding` zeros on every side (PyTorch's conv2d, cross-correlation).
Inputs, weights and bias are small seeded integers, so every sum is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

BOUNDS: dict[str, tuple[int, int]] = {
    "c_in": (1, 16), "c_out": (1, 16), "groups": (1, 16), "h": (1, 10), "w": (1, 10),
    "k": (1, 5), "stride": (1, 3), "padding": (0, 2), "seed": (0, 9999),
}
LABELS = {"c_in": "input channels", "c_out": "output channels", "groups": "groups", "h": "input height",
          "w": "input width", "k": "kernel size", "stride": "stride", "padding": "padding", "seed": "seed"}
MAX_CELLS = 1200   # numbers drawn: padded input planes + output planes + filter weights
MAX_POSITIONS = 100  # animation frames: one per output position


@dataclass(frozen=True)
class StepSpec:
    """The step-through's convolution: teaching-size defaults, every field bounded by BOUNDS."""

    c_in: int = 8      # two channels per group at G = 4: a filter small enough to write out
    c_out: int = 8
    groups: int = 4
    h: int = 6         # 6x6 with a 3x3 kernel: a 4x4 output, 16 positions to step through
    w: int = 6
    k: int = 3
    stride: int = 1
    padding: int = 0
    seed: int = 0

    def with_(self, **changes) -> "StepSpec":
        """Return a copy with some fields changed."""
        return replace(self, **changes)

    @property
    def per_in(self) -> int:
        """Return C_in / G, the input channels each filter reads."""
        return self.c_in // self.groups

    @property
    def per_out(self) -> int:
        """Return C_out / G, the output channels of one group."""
        return self.c_out // self.groups

    @property
    def out_hw(self) -> tuple[int, int]:
        """Return (H_out, W_out) = floor((size + 2*padding - k) / stride) + 1."""
        return ((self.h + 2 * self.padding - self.k) // self.stride + 1,
                (self.w + 2 * self.padding - self.k) // self.stride + 1)

    def cells(self) -> int:
        """Return how many numbers the overview draws: padded input, output planes and all filter weights."""
        ho, wo = self.out_hw
        return (self.c_in * (self.h + 2 * self.padding) * (self.w + 2 * self.padding) + self.c_out * ho * wo
                + self.c_out * self.per_in * self.k * self.k)


def validate(s: StepSpec) -> None:
    """Raise ValueError with a sentence a learner can act on if `s` cannot be stepped through here."""
    for name, (lo, hi) in BOUNDS.items():
        v = getattr(s, name)
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or not lo <= v <= hi:
            raise ValueError(f"The {LABELS[name]} must be a whole number from {lo} to {hi} here; got {v!r}.")
    if s.c_in % s.groups or s.c_out % s.groups:
        valid = ", ".join(str(g) for g in range(1, min(s.c_in, s.c_out) + 1) if s.c_in % g == 0 and s.c_out % g == 0)
        raise ValueError(f"{s.groups} groups cannot split {s.c_in} input and {s.c_out} output channels evenly: "
                         f"G must divide both. Valid here: {valid}.")
    for side, size in (("height", s.h), ("width", s.w)):
        if size + 2 * s.padding < s.k:
            raise ValueError(f"The padded input {side} ({size} + 2 × {s.padding}) is smaller than the {s.k}×{s.k} "
                             "kernel: use a larger input, more padding or a smaller kernel.")
    ho, wo = s.out_hw
    if ho * wo > MAX_POSITIONS:
        raise ValueError(f"This output has {ho} × {wo} = {ho * wo} positions; the step-through plays at most "
                         f"{MAX_POSITIONS}. Use a smaller input or a larger stride.")
    if s.cells() > MAX_CELLS:
        raise ValueError(f"This configuration would draw {s.cells():,} numbers; the step-through draws at most "
                         f"{MAX_CELLS:,} so that each stays readable. Use fewer channels or a smaller input "
                         f"(e.g. 8 channels at 6×6 draws {StepSpec().cells():,}).")


@dataclass(frozen=True)
class Tensors:
    """The seeded integer tensors of one step-through (as float64 so torch can use them unchanged)."""

    x: np.ndarray   # (C_in, H, W), values 0..4
    w: np.ndarray   # (C_out, C_in/G, k, k), values -1..1
    b: np.ndarray   # (C_out,), values -2..2


def tensors(s: StepSpec) -> Tensors:
    """Return seeded integer x, w, b; the input depends on the seed and shape only, not on G."""
    validate(s)
    x = np.random.default_rng([s.seed, 0]).integers(0, 5, size=(s.c_in, s.h, s.w))
    rng = np.random.default_rng([s.seed, 1, s.groups])
    w = rng.integers(-1, 2, size=(s.c_out, s.per_in, s.k, s.k))
    b = rng.integers(-2, 3, size=s.c_out)
    return Tensors(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64))


def padded(s: StepSpec, x: np.ndarray) -> np.ndarray:
    """Return x with `padding` zeros on every side: (C_in, H + 2p, W + 2p)."""
    p = s.padding
    return np.pad(x, ((0, 0), (p, p), (p, p)))


def group_of(s: StepSpec, o: int) -> int:
    """Return the group of output channel o."""
    return o // s.per_out


def in_channels(s: StepSpec, o: int) -> range:
    """Return the input channels output channel o reads."""
    g = group_of(s, o)
    return range(g * s.per_in, (g + 1) * s.per_in)


@dataclass(frozen=True)
class Step:
    """One output value written out: the windows it reads, the kernel, the products and the sum."""

    o: int
    i: int
    j: int
    group: int
    channels: tuple[int, ...]   # input channels read
    windows: np.ndarray         # (C_in/G, k, k) from the padded input
    kernel: np.ndarray          # (C_in/G, k, k) = w[o]
    products: np.ndarray        # windows * kernel
    channel_sums: np.ndarray    # (C_in/G,)
    bias: float
    value: float                # sum of products + bias


def step(s: StepSpec, t: Tensors, o: int, i: int, j: int) -> Step:
    """Return y[o, i, j] computed term by term."""
    ho, wo = s.out_hw
    if not (0 <= o < s.c_out and 0 <= i < ho and 0 <= j < wo):
        raise ValueError(f"Position ({o}, {i}, {j}) is outside the output ({s.c_out}, {ho}, {wo}).")
    chans = in_channels(s, o)
    r, c = i * s.stride, j * s.stride
    win = padded(s, t.x)[chans.start:chans.stop, r:r + s.k, c:c + s.k]   # (C_in/G, k, k)
    prod = win * t.w[o]
    sums = prod.sum(axis=(1, 2))
    return Step(o, i, j, group_of(s, o), tuple(chans), win, t.w[o], prod, sums, float(t.b[o]),
                float(sums.sum() + t.b[o]))


def plane(s: StepSpec, t: Tensors, o: int) -> np.ndarray:
    """Return output channel o's plane (H_out, W_out), one step() per position."""
    ho, wo = s.out_hw
    return np.array([[step(s, t, o, i, j).value for j in range(wo)] for i in range(ho)])


def output(s: StepSpec, t: Tensors) -> np.ndarray:
    """Return the whole output (C_out, H_out, W_out)."""
    return np.stack([plane(s, t, o) for o in range(s.c_out)])


def _n(v: float) -> str:
    """Return an integer-valued float as text, negatives in parentheses: 2.0 -> '2', -1.0 -> '(−1)'."""
    text = f"{v + 0.0:g}".replace("-", "−")   # + 0.0: no "−0"
    return f"({text})" if v < 0 else text


def written_out(st: Step) -> list[str]:
    """Return one line per input channel, 'x·w + ... = sum', and the total line with the bias."""
    lines = []
    for c, win, ker, total in zip(st.channels, st.windows, st.kernel, st.channel_sums):
        terms = " + ".join(f"{_n(a)}·{_n(b)}" for a, b in zip(win.ravel(), ker.ravel()))
        lines.append(f"channel {c}: {terms} = {_n(total)}")
    sums = " + ".join(_n(v) for v in st.channel_sums)
    lines.append(f"y[{st.o}, {st.i}, {st.j}] = {sums} + bias {_n(st.bias)} = {_n(st.value)}")
    return lines


def matrices_text(st: Step) -> str:
    """Return, per input channel read, its window, the kernel and their products side by side as text."""
    cell = lambda v: f"{v + 0.0:g}".replace("-", "−").rjust(3)          # noqa: E731
    width = 3 * st.windows.shape[2]
    blocks = []
    for c, win, ker, prod in zip(st.channels, st.windows, st.kernel, st.products):
        head = f"channel {c}:".ljust(13) + "  ".join(t.ljust(width) for t in ("window", "kernel", "products"))
        rows = ["".ljust(12) + "  ".join("".join(cell(v) for v in m[r]).ljust(width) for m in (win, ker, prod))
                for r in range(win.shape[0])]
        blocks.append("\n".join([head.rstrip(), *rows]))
    return "\n\n".join(blocks)


PRESETS: dict[str, tuple[str, str, dict]] = {   # name: (button label, help, fields changed)
    "default": ("Default: 8 → 8, G = 4", "The teaching default: 8 → 8 channels, G = 4, 6×6 input, 3×3 kernel.", {}),
    "seed_groups": ("Seed's: 4 → 8, G = 2", "Conv2d(64, 128, 3, groups=32) has groups of 2 inputs → 4 outputs; "
                    "this is two such groups: 4 → 8, G = 2.", dict(c_in=4, c_out=8, groups=2)),
    "dense": ("Dense: G = 1", "The same layer with one group: every filter reads every input.", dict(groups=1)),
    "depthwise": ("Depthwise: G = 8", "G = C_in = C_out = 8: each filter reads one input channel.", dict(groups=8)),
    "strided": ("Stride 2, padding 1", "A 7×7 input, padding 1, stride 2: a 4×4 output.",
                dict(h=7, w=7, stride=2, padding=1)),
}
