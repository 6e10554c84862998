"""Exercise kind of the training lab: the matched-parameter d its solver picks for a grouped bottleneck.

The lab's small network (resnext_viz.train.models) has bottlenecks 32 → C·d → 32 and matches
a grouped variant to the dense one (C = 1) the ResNeXt paper's way (Table 2): it solves the
block template C·(32d + 9d² + d·32) for the dense block's weights and checks the whole numbers
around the root. This kind asks for that d, solved by blocks.cardinality's own Table 2 solver
with the lab's channels (pure; models.matched_d then checks the same neighbours on the whole
network, and tests/unit/test_lesson.py checks that both pick the same d).
"""

from __future__ import annotations

import random

from resnext_viz.blocks import cardinality as card
from resnext_viz.lesson.kind import Kind
from resnext_viz.lesson.reading import read_int

LAB_CHANNELS = 32  # the lab's bottleneck input and output channels (train.models.STEM)


def _gen(rng: random.Random) -> dict:
    d0 = rng.choice((12, 16, 24, 32))
    return dict(d0=d0, C=rng.choice((2, 4, 8, 16)), budget=card.template_params(1, d0, LAB_CHANNELS, LAB_CHANNELS))


def _solve(p: dict) -> int:
    return card.solve_preserved_complexity(p["budget"], (p["C"],), LAB_CHANNELS, LAB_CHANNELS)[0].d


def _tp(C: int, d: int) -> int:
    return card.template_params(C, d, LAB_CHANNELS, LAB_CHANNELS)


def _worked(p: dict, d: int) -> str:
    c, got = LAB_CHANNELS, _tp(p["C"], d)
    below = f"{_tp(p['C'], d - 1):,}" if d > 1 else "nothing (d ≥ 1)"
    return (f"the dense block holds 1 × ({c}·{p['d0']} + 9·{p['d0']}² + {p['d0']}·{c}) = {p['budget']:,} weights; "
            f"d = {d} gives {p['C']} × ({c}·{d} + 9·{d}² + {d}·{c}) = {got:,}, "
            f"{(got - p['budget']) / p['budget']:+.1%} (d = {d - 1} gives {below}, d = {d + 1} gives "
            f"{_tp(p['C'], d + 1):,}), so d = {d}, width C·d = {p['C'] * d}")


KINDS: dict[str, Kind] = {
    "train_matched_d": Kind(
        _gen, _solve,
        lambda p: (f"A bottleneck maps {LAB_CHANNELS} → C·d → {LAB_CHANNELS} channels with 1×1, grouped 3×3 (C groups "
                   f"of d channels) and 1×1 convolutions. Its dense form has C = 1, d = {p['d0']}. With C = {p['C']} "
                   "groups, which whole d keeps the block's weights (convolutions only) closest to the dense "
                   "block's?"),
        _worked,
        "The block template holds C·(32d + 9d² + d·32) weights (the ResNeXt paper's Table 2 way): compute the dense "
        "block's, then try the whole d around the root of the quadratic. **The networks** table on Train it "
        "yourself shows the d the lab's solver picks for C = 8.",
        "a whole number", read_int),
}
