"""Which input channel feeds which output channel in a grouped convolution (pure NumPy).

Group g owns the contiguous output block [g*C_out/G, (g+1)*C_out/G) and reads the
contiguous input block [g*C_in/G, (g+1)*C_in/G) -- blocks, not interleaved channels.
Every output channel therefore connects to exactly C_in/G inputs, and the layer has
C_in * C_out / G connections (one kH x kW filter slice each).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from resnext_viz.conv.arithmetic import group_problem

# Above this many edges a diagram draws one band per group instead of every edge:
# 64 -> 128 dense (8,192 edges) still draws edge by edge, 2048 -> 2048 at G=32 does not.
EDGE_LIMIT = 8192
# A dense mask larger than this many cells per side is shown block-averaged.
MASK_MAX_SIDE = 128


def _check(c_in: int, c_out: int, groups: int) -> None:
    problem = group_problem(c_in, c_out, groups)
    if problem:
        raise ValueError(problem)


def group_of_input(c_in: int, groups: int, channel: np.ndarray | int) -> np.ndarray | int:
    """Return the group that reads input `channel` (channel // (C_in/G))."""
    return channel // (c_in // groups)


def group_of_output(c_out: int, groups: int, channel: np.ndarray | int) -> np.ndarray | int:
    """Return the group that writes output `channel` (channel // (C_out/G))."""
    return channel // (c_out // groups)


def input_range(c_in: int, groups: int, g: int) -> tuple[int, int]:
    """Return the half-open input-channel block [start, stop) read by group g."""
    n = c_in // groups
    return g * n, (g + 1) * n


def output_range(c_out: int, groups: int, g: int) -> tuple[int, int]:
    """Return the half-open output-channel block [start, stop) written by group g."""
    n = c_out // groups
    return g * n, (g + 1) * n


def edge_count(c_in: int, c_out: int, groups: int) -> int:
    """Return the number of input->output connections, C_in * C_out / G."""
    return c_in * c_out // groups


def edges(c_in: int, c_out: int, groups: int) -> np.ndarray:
    """Return all connections as an (E, 3) int array of (input, output, group), E = C_in*C_out/G."""
    _check(c_in, c_out, groups)
    n_in, n_out = c_in // groups, c_out // groups
    g = np.arange(groups)[:, None, None]                      # (G, 1, 1)
    i = g * n_in + np.arange(n_in)[None, :, None]             # (G, n_in, 1)
    o = g * n_out + np.arange(n_out)[None, None, :]           # (G, 1, n_out)
    shape = (groups, n_in, n_out)
    cols = [np.broadcast_to(a, shape).reshape(-1) for a in (i, o, g)]  # each (E,)
    return np.stack(cols, axis=1)                             # (E, 3)


def dense_mask(c_in: int, c_out: int, groups: int) -> np.ndarray:
    """Return the (C_out, C_in) bool mask of connections: block-diagonal for G > 1."""
    _check(c_in, c_out, groups)
    rows = group_of_output(c_out, groups, np.arange(c_out))   # (C_out,)
    cols = group_of_input(c_in, groups, np.arange(c_in))      # (C_in,)
    return rows[:, None] == cols[None, :]                     # (C_out, C_in)


def pooled_mask(c_in: int, c_out: int, groups: int, max_side: int = MASK_MAX_SIDE) -> tuple[np.ndarray, int, int]:
    """Return (fraction, row_step, col_step): the dense mask averaged over row_step x col_step blocks.

    Cell (r, c) is the fraction of connected (output, input) pairs among output channels
    [r*row_step, ...) and input channels [c*col_step, ...). Steps are 1 when the mask
    already fits in max_side, and the result is then exactly the 0/1 dense mask. Built
    from per-block group counts, never from the full C_out x C_in mask.
    """
    _check(c_in, c_out, groups)
    row_step, col_step = -(-c_out // max_side), -(-c_in // max_side)

    def block_counts(c: int, step: int) -> np.ndarray:
        ch = np.arange(c)
        counts = np.zeros((-(-c // step), groups), dtype=np.float64)       # (blocks, G)
        np.add.at(counts, (ch // step, ch // (c // groups)), 1.0)
        return counts

    rows, cols = block_counts(c_out, row_step), block_counts(c_in, col_step)
    connected = rows @ cols.T                                               # (row blocks, col blocks)
    sizes = rows.sum(axis=1)[:, None] * cols.sum(axis=1)[None, :]           # pairs per block
    return (connected / sizes).astype(np.float32), row_step, col_step


@dataclass(frozen=True)
class GroupBand:
    """One group as a band from its input block to its output block (half-open ranges)."""

    group: int
    in_start: int
    in_stop: int
    out_start: int
    out_stop: int

    @property
    def edges(self) -> int:
        """Return the connections inside this band: (C_in/G) * (C_out/G)."""
        return (self.in_stop - self.in_start) * (self.out_stop - self.out_start)


def bands(c_in: int, c_out: int, groups: int) -> list[GroupBand]:
    """Return one band per group: which input block feeds which output block."""
    _check(c_in, c_out, groups)
    return [GroupBand(g, *input_range(c_in, groups, g), *output_range(c_out, groups, g))
            for g in range(groups)]


def draws_bands(c_in: int, c_out: int, groups: int, limit: int = EDGE_LIMIT) -> bool:
    """Return True when the layer has too many edges to draw one by one (above `limit`)."""
    return edge_count(c_in, c_out, groups) > limit
