"""Cardinality at preserved complexity (Xie et al. 2017, Table 2) and at a fixed width.

The block template (conv2 stage of ResNet-50: 256 -> 1x1 -> C*d -> grouped 3x3 -> 1x1 -> 256)
has C * (c_in*d + 9*d*d + d*c_out) weights (the paper's eq. 4). Raising C while picking d
to keep that number near ResNet-50's 69,632 gives Table 2; fixing C*d instead shows that
more groups simply mean fewer weights in the 3x3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "TABLE4_NOTE",
    "preserved_claim",
    "RESNET50_TEMPLATE_PARAMS",
    "TABLE2_PAPER",
    "TABLE3_SOURCE",
    "TABLE3_TOP1_ERROR",
    "CardinalityRow",
    "FixedWidthRow",
    "CitedResult",
    "template_params",
    "template_macs",
    "solve_preserved_complexity",
    "fixed_width_rows",
]

RESNET50_TEMPLATE_PARAMS = 69_632  # C = 1, d = 64: 256*64 + 9*64*64 + 64*256
TABLE2_PAPER: tuple[tuple[int, int, int], ...] = (  # (C, d, C*d) as printed in the paper's Table 2
    (1, 64, 64), (2, 40, 80), (4, 24, 96), (8, 14, 112), (32, 4, 128))

TABLE3_SOURCE = ("Xie, Girshick, Dollár, Tu, He. Aggregated Residual Transformations for Deep Neural "
                 "Networks. CVPR 2017 (arXiv:1611.05431), Table 3: ImageNet-1K top-1 error, 224x224 single crop.")


@dataclass(frozen=True)
class CitedResult:
    """One published ImageNet result (cited, not measured here)."""

    model: str
    C: int
    d: int
    top1_error: float  # percent


TABLE3_TOP1_ERROR: tuple[CitedResult, ...] = (
    CitedResult("ResNet-50", 1, 64, 23.9),
    CitedResult("ResNeXt-50", 2, 40, 23.0),
    CitedResult("ResNeXt-50", 4, 24, 22.6),
    CitedResult("ResNeXt-50", 8, 14, 22.3),
    CitedResult("ResNeXt-50", 32, 4, 22.2),
    CitedResult("ResNet-101", 1, 64, 22.0),
    CitedResult("ResNeXt-101", 2, 40, 21.7),
    CitedResult("ResNeXt-101", 4, 24, 21.4),
    CitedResult("ResNeXt-101", 8, 14, 21.3),
    CitedResult("ResNeXt-101", 32, 4, 21.2),
)


# (lo, hi) of every input: the solver, the page's widgets and its URL fields all read these.
BOUNDS = {"budget": (1_000, 10_000_000), "channels": (1, 4096), "hw": (1, 512), "width": (1, 4096),
          "cardinality": (1, 1024)}


def _check_int(name: str, value: int, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}.")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo:,} and {hi:,}, got {value:,}.")


def template_params(C: int, d: int, c_in: int = 256, c_out: int = 256) -> int:
    """Return the weights of the block template: C * (c_in*d + 9*d*d + d*c_out) (eq. 4; no BN, no bias)."""
    return C * (c_in * d + 9 * d * d + d * c_out)


def template_macs(C: int, d: int, c_in: int = 256, c_out: int = 256, hw: int = 56) -> int:
    """Return multiply-accumulates for one image at hw x hw (stride 1: every weight is used hw*hw times)."""
    return template_params(C, d, c_in, c_out) * hw * hw


@dataclass(frozen=True)
class CardinalityRow:
    """One cardinality C with the d whose template parameters come closest to the budget."""

    C: int
    d: int
    width: int  # C * d, the channels of the grouped 3x3
    params: int
    macs: int  # per image at hw x hw
    rel_diff: float  # (params - budget) / budget
    in_table2: bool  # the paper's Table 2 lists this (C, d)


def _closest_d(C: int, budget: int, c_in: int, c_out: int) -> int:
    # Solve 9C d^2 + C(c_in + c_out) d = budget for real d, then check the whole numbers around it.
    a, b = 9 * C, C * (c_in + c_out)
    root = (-b + math.sqrt(b * b + 4 * a * budget)) / (2 * a)
    candidates = {max(1, math.floor(root) + k) for k in (-1, 0, 1, 2)}
    return min(candidates, key=lambda d: (abs(template_params(C, d, c_in, c_out) - budget), d))


def cardinalities_that_fit(budget: int, cardinalities: tuple[int, ...], c_in: int = 256,
                           c_out: int = 256) -> tuple[tuple[int, ...], list[str]]:
    """Return (the cardinalities whose thinnest path, d = 1, fits the budget; one sentence per one that does not)."""
    _check_int("budget", budget, 1, 10**9)
    fits, reasons = [], []
    for C in cardinalities:
        _check_int("each cardinality", C, 1, 1024)
        smallest = template_params(C, 1, c_in, c_out)
        if smallest > budget:
            reasons.append(f"Cardinality {C} does not fit: even d = 1 needs {C} × ({c_in} + 9 + {c_out}) = "
                           f"{smallest:,} weights, over the budget of {budget:,}. It is left out; raise the budget "
                           f"to {smallest:,} or more to include it.")
        else:
            fits.append(C)
    return tuple(fits), reasons


def solve_preserved_complexity(budget: int = RESNET50_TEMPLATE_PARAMS,
                               cardinalities: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64),
                               c_in: int = 256, c_out: int = 256, hw: int = 56) -> list[CardinalityRow]:
    """Return, per cardinality, the d that keeps the template's parameters closest to `budget`."""
    _check_int("budget", budget, *BOUNDS["budget"])
    _check_int("c_in", c_in, *BOUNDS["channels"])
    _check_int("c_out", c_out, *BOUNDS["channels"])
    _check_int("hw", hw, *BOUNDS["hw"])
    cards = tuple(cardinalities)
    if not cards:
        raise ValueError("give at least one cardinality, e.g. 1, 2, 4, 8, 32.")
    for C in cards:
        _check_int("each cardinality", C, *BOUNDS["cardinality"])
    if len(set(cards)) != len(cards):
        raise ValueError(f"each cardinality should appear once, got {list(cards)}.")
    paper = {(C, d) for C, d, _ in TABLE2_PAPER}
    rows = []
    for C in cards:
        smallest = template_params(C, 1, c_in, c_out)
        if smallest > budget:
            raise ValueError(f"with {C} groups even d = 1 needs {smallest:,} weights, over the budget of "
                             f"{budget:,}; raise the budget or drop cardinality {C}.")
        d = _closest_d(C, budget, c_in, c_out)
        p = template_params(C, d, c_in, c_out)
        rows.append(CardinalityRow(C, d, C * d, p, template_macs(C, d, c_in, c_out, hw), (p - budget) / budget,
                                   (C, d) in paper and (c_in, c_out) == (256, 256)))
    return rows


@dataclass(frozen=True)
class FixedWidthRow:
    """One way to split a fixed grouped-3x3 width C*d into C groups of d channels."""

    C: int
    d: int
    params: int  # whole template
    grouped_params: int  # the 3x3 alone: 9 * d * d * C = 9 * width**2 / C
    macs: int  # per image at hw x hw


def fixed_width_rows(width: int = 128, c_in: int = 256, c_out: int = 256, hw: int = 56) -> list[FixedWidthRow]:
    """Return one row per C dividing `width`: the 1x1s keep their size, the 3x3 shrinks as 1/C."""
    _check_int("width", width, *BOUNDS["width"])
    _check_int("c_in", c_in, *BOUNDS["channels"])
    _check_int("c_out", c_out, *BOUNDS["channels"])
    _check_int("hw", hw, *BOUNDS["hw"])
    return [FixedWidthRow(C, width // C, template_params(C, width // C, c_in, c_out), 9 * (width // C) ** 2 * C,
                          template_macs(C, width // C, c_in, c_out, hw))
            for C in range(1, width + 1) if width % C == 0]


# Table 4 (about 2x ResNet-101's complexity), top-1 / top-5 error %: the "more paths beat wider or deeper" result.
TABLE4_NOTE = ("Table 4 of the paper (about twice ResNet-101's complexity, top-1 / top-5 error %) is the comparison "
               "with wider or deeper: ResNet-200 21.7 / 5.8, ResNet-101 wider (1×100d) 21.3 / 5.7, ResNeXt-101 "
               "2×64d 20.7 / 5.5, ResNeXt-101 64×4d 20.4 / 5.3.")


def preserved_claim(rows: list[CardinalityRow]) -> str:
    """Return the preserved-complexity info sentence, its width range computed from the rows shown."""
    if not rows:
        return "No cardinality chosen: pick at least one C."
    lo, hi = min(rows, key=lambda r: r.C), max(rows, key=lambda r: r.C)
    trend = ("grows" if hi.width > lo.width else "shrinks" if hi.width < lo.width else "stays")
    span = (f"C·d {trend} from {lo.width} at C = {lo.C} to {hi.width} at C = {hi.C}" if hi.C != lo.C
            else f"C·d is {lo.width} at C = {lo.C}")
    return (f"**Which claim is this?** Here the number of weights is held fixed, and the split changes the width "
            f"({span}). Table 3 of the paper compares cardinality with bottleneck width at this equal complexity: "
            f"ResNeXt-50's top-1 error falls from 23.9 (1×64d) to 22.2 (32×4d), but saturates (8×14d 22.3 vs "
            f"32×4d 22.2; the paper keeps d ≥ 4). {TABLE4_NOTE} All are single runs without error bars.")
