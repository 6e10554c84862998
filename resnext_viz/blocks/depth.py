"""Why ResNeXt groups the bottleneck (depth 3) and not the basic block (depth 2), with numbers.

Depth 2: C branches, each 3x3 (c_in -> d) then 3x3 (d -> c_out), summed. Stacking the
branches' first layers gives one dense 3x3 (c_in -> C*d), since every branch reads all
input channels; summing their second layers gives one dense 3x3 (C*d -> c_out). Nothing
is grouped: the aggregate is "trivially a wide, dense module" (Xie et al. 2017, Fig. 4 and sec. 3.3).

Depth 3: the first 1x1s stack and the last 1x1s sum the same way, but each branch's middle
3x3 reads only its own d channels, so the middle layer is a grouped convolution with C
times fewer weights than a dense one of the same width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["DepthComparison", "depth_comparison", "depth2_max_abs_diff"]


@dataclass(frozen=True)
class DepthComparison:
    """Weight counts of C aggregated branches vs one dense module of width C*d, at depth 2 and 3."""

    c_in: int
    C: int
    d: int
    c_out: int
    depth2_branches: int  # C * (9*c_in*d + 9*d*c_out)
    depth2_dense: int  # 9*c_in*(C*d) + 9*(C*d)*c_out: always equal to depth2_branches
    depth3_branches: int  # C * (c_in*d + 9*d*d + d*c_out): the grouped bottleneck
    depth3_dense: int  # c_in*(C*d) + 9*(C*d)**2 + (C*d)*c_out: the same width with a dense 3x3

    @property
    def depth3_saving(self) -> int:
        """Return the weights grouping saves at depth 3: 9 * (C*d)**2 * (1 - 1/C)."""
        return self.depth3_dense - self.depth3_branches


def depth_comparison(c_in: int = 256, C: int = 32, d: int = 4, c_out: int = 256) -> DepthComparison:
    """Return weight counts showing depth-2 branches equal a dense module and depth-3 ones do not."""
    for name, v in (("c_in", c_in), ("C", C), ("d", d), ("c_out", c_out)):
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 4096:
            raise ValueError(f"{name} must be a whole number from 1 to 4096, got {v!r}.")
    w = C * d
    return DepthComparison(c_in, C, d, c_out,
                           depth2_branches=C * (9 * c_in * d + 9 * d * c_out),
                           depth2_dense=9 * c_in * w + 9 * w * c_out,
                           depth3_branches=C * (c_in * d + 9 * d * d + d * c_out),
                           depth3_dense=c_in * w + 9 * w * w + w * c_out)


def depth2_max_abs_diff(c_in: int = 16, C: int = 4, d: int = 3, c_out: int = 16, height: int = 9, width: int = 11,
                        batch: int = 2, seed: int = 0) -> float:
    """Return max |sum of C depth-2 branches - one wide dense module| in float64, with shared weights."""
    depth_comparison(c_in, C, d, c_out)  # validates the sizes
    g = torch.Generator().manual_seed(seed)
    w1 = torch.randn(C, d, c_in, 3, 3, generator=g, dtype=torch.float64)  # branch i: 3x3, c_in -> d
    w2 = torch.randn(C, c_out, d, 3, 3, generator=g, dtype=torch.float64)  # branch i: 3x3, d -> c_out
    x = torch.randn(batch, c_in, height, width, generator=g, dtype=torch.float64)

    branches = sum(F.conv2d(F.relu(F.conv2d(x, w1[i], padding=1)), w2[i], padding=1) for i in range(C))
    dense1 = w1.reshape(C * d, c_in, 3, 3)  # (C*d, c_in, 3, 3): the branches' filters stacked
    dense2 = w2.permute(1, 0, 2, 3, 4).reshape(c_out, C * d, 3, 3)  # (c_out, C*d, 3, 3): side by side
    wide = F.conv2d(F.relu(F.conv2d(x, dense1, padding=1)), dense2, padding=1)
    return (branches - wide).abs().max().item()
