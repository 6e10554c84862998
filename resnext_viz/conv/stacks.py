"""Stacked layers of constant width c: which input channels can reach which output channels (pure NumPy).

A layer is written as a short code:
- "g{G}": a grouped convolution with G groups (e.g. "g4"); "g1" is a dense convolution (or a 1x1);
- "shuffle{G}": ShuffleNet's channel shuffle (Zhang et al., CVPR 2018): reshape the c channels
  to (G, c/G), transpose to (c/G, G), flatten. Output channel j*G + g is input channel g*(c/G) + j.

Each layer is a (c, c) boolean matrix M indexed [output, input]; a stack's reachability is
the boolean product of its layers' matrices, last layer on the left. Entry [o, i] is True
exactly when some chain of weights links input channel i to output channel o: with random
weights (no ReLU, no BN) that is exactly where the Jacobian d out / d in is nonzero.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from resnext_viz.conv.connectivity import dense_mask

MAX_LAYERS = 8      # heatmaps drawn layer by layer; 8 fit in two rows
MAX_CHANNELS = 256  # a 256 x 256 heatmap still shows single channels
_CODE = re.compile(r"^(g|shuffle)([0-9]+)$")


@dataclass(frozen=True)
class Layer:
    """One parsed layer code."""

    kind: str    # "grouped" or "shuffle"
    groups: int
    code: str    # the canonical code, e.g. "g4"

    @property
    def label(self) -> str:
        """Return a short name for figure titles: 'dense', 'grouped G=4' or 'shuffle G=4'."""
        if self.kind == "shuffle":
            return f"shuffle G={self.groups}"
        return "dense" if self.groups == 1 else f"grouped G={self.groups}"


def _check_width(c: int) -> None:
    if not isinstance(c, (int, np.integer)) or isinstance(c, bool) or not 1 <= c <= MAX_CHANNELS:
        raise ValueError(f"The width c must be a whole number from 1 to {MAX_CHANNELS}; got {c!r}.")


def parse_layer(c: int, code: str) -> Layer:
    """Return the Layer of one code ('g4', 'shuffle4'); ValueError with a sentence a learner can act on."""
    _check_width(c)
    text = str(code).strip().lower()
    m = _CODE.match(text)
    if not m:
        raise ValueError(f"'{code}' is not a layer code. Write g followed by a group count for a grouped "
                         "convolution (g1 is dense, g4 has 4 groups) or shuffle followed by a group count for a "
                         "channel shuffle (shuffle4).")
    kind, groups = ("grouped" if m.group(1) == "g" else "shuffle"), int(m.group(2))
    if groups < 1:
        raise ValueError(f"'{code}' has no groups; a layer needs at least 1 group (g1 is a dense convolution).")
    if c % groups:
        valid = ", ".join(str(d) for d in range(1, c + 1) if c % d == 0)
        raise ValueError(f"'{code}' needs {groups} groups, which cannot split c = {c} channels evenly. "
                         f"The group count must divide {c}: use one of {valid}.")
    return Layer(kind, groups, f"{m.group(1)}{groups}")


def parse_layers(c: int, layers: Sequence[str] | str) -> list[Layer]:
    """Return the Layers of a sequence of codes, or of one comma-separated string ('g4, shuffle4, g4')."""
    codes = [x for x in layers.split(",") if x.strip()] if isinstance(layers, str) else list(layers)
    if not 1 <= len(codes) <= MAX_LAYERS:
        raise ValueError(f"A stack here has 1 to {MAX_LAYERS} layers; got {len(codes)}. "
                         + ("Add a layer, e.g. g4." if not codes else f"Remove {len(codes) - MAX_LAYERS}."))
    return [parse_layer(c, x) for x in codes]


def shuffle_permutation(c: int, groups: int) -> np.ndarray:
    """Return perm of length c: output channel k of the shuffle is input channel perm[k]."""
    parse_layer(c, f"shuffle{groups}")
    x = np.arange(c).reshape(groups, c // groups)   # (G, c/G): row g is group g's block
    return x.T.reshape(-1)                          # (c/G, G) flattened: one channel from each group in turn


def layer_matrix(c: int, layer: Layer | str) -> np.ndarray:
    """Return one layer's (c, c) bool matrix [output, input]: True where output depends on input."""
    lay = layer if isinstance(layer, Layer) else parse_layer(c, layer)
    if lay.kind == "grouped":
        return dense_mask(c, c, lay.groups)
    m = np.zeros((c, c), dtype=bool)
    m[np.arange(c), shuffle_permutation(c, lay.groups)] = True
    return m


def reachability_steps(c: int, layers: Sequence[str] | str) -> list[np.ndarray]:
    """Return the (c, c) reachability after each layer: [after layer 1, after layers 1-2, ...]."""
    out, reach = [], np.eye(c, dtype=bool)
    for lay in parse_layers(c, layers):
        reach = (layer_matrix(c, lay).astype(np.int64) @ reach.astype(np.int64)) > 0   # (c, c) [output, input]
        out.append(reach)
    return out


def reachability(c: int, layers: Sequence[str]) -> np.ndarray:
    """Return the (c, c) bool matrix [output channel, input channel] of the whole stack."""
    return reachability_steps(c, layers)[-1]


@dataclass(frozen=True)
class ZeroCounts:
    """Exactly-zero gradients of a target that reads some output channels, predicted from the wiring."""

    input_zeros: int                # entries of d target / d x that are exactly zero (x has c channels, 1x1)
    weight_zeros: tuple[int, ...]   # per grouped layer, weights whose gradient is exactly zero (1x1 kernels)
    weight_counts: tuple[int, ...]  # per grouped layer, all its weights (c * c / G)


def target_channels(c: int, groups: int, g: int) -> np.ndarray:
    """Return the output channels of block g when the c outputs are cut into `groups` blocks."""
    parse_layer(c, f"g{groups}")
    if not 0 <= g < groups:
        raise ValueError(f"Output group {g} does not exist: with {groups} groups they are numbered 0 to {groups - 1}.")
    n = c // groups
    return np.arange(g * n, (g + 1) * n)


def zero_gradients(c: int, layers: Sequence[str], target: Sequence[int]) -> ZeroCounts:
    """Return the exact zeros of d(sum of the target outputs)/d(input and weights), from reachability alone.

    A weight W[o, i] of a grouped layer gets gradient (d target / d y_o) * x_i. Its input x_i is
    nonzero for random data, so the gradient is zero exactly when output o of that layer
    cannot reach any target channel through the layers after it.
    """
    lays = parse_layers(c, layers)
    tgt = np.zeros(c, dtype=bool)
    tgt[np.asarray(target, dtype=np.int64)] = True
    # downstream[k]: which outputs of layer k can reach a target channel (walk backwards)
    reaches = tgt.copy()
    downstream: list[np.ndarray] = [np.zeros(0, bool)] * len(lays)
    for k in range(len(lays) - 1, -1, -1):
        downstream[k] = reaches
        reaches = (layer_matrix(c, lays[k]).T.astype(np.int64) @ reaches.astype(np.int64)) > 0  # (c,) inputs of k
    zeros, counts = [], []
    for k, lay in enumerate(lays):
        if lay.kind == "grouped":
            per_in = c // lay.groups
            zeros.append(int((~downstream[k]).sum()) * per_in)
            counts.append(c * per_in)
    return ZeroCounts(int((~reaches).sum()), tuple(zeros), tuple(counts))


PRESETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "two_grouped": ("Two grouped layers: g4, g4", ("g4", "g4")),
    "shuffle": ("Grouped + shuffle + grouped (ShuffleNet)", ("g4", "shuffle4", "g4")),
    "bottleneck": ("ResNeXt bottleneck: 1×1, grouped 3×3, 1×1", ("g1", "g4", "g1")),
}
