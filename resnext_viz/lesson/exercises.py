"""Predict, then check: seeded exercise generators and their checkers, one kind per idea.

A kind draws its numbers from a random.Random seeded by (lesson seed, step id), so the same
seed gives every learner the same questions, and solves them with the very functions that
draw the pages' figures (conv.arithmetic, conv.connectivity, blocks.cardinality,
blocks.config). The checker solves again from the question's numbers; it never trusts a
stored answer. The "will G = 32 be faster than G = 1 here?" kind has no answer until it is
answered: its checker times both on the spot with the performance lab's sweep (torch is
loaded then, not at import).

Adding a kind: write `_gen_x(rng) -> params`, `_solve_x(params)`, a question, a worked answer
and a hint, and register them as a Kind (resnext_viz.lesson.kind) in KINDS; a Step names the
kind. The mechanics pages' kinds (one output value's products, the depthwise-separable pair,
reachability through a stack) live in resnext_viz.lesson.mech_kinds, the training lab's (the matched-parameter
d) in resnext_viz.lesson.train_kinds; both are merged in here.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from resnext_viz.blocks import cardinality as card
from resnext_viz.blocks.config import BlockConfig
from resnext_viz.conv import arithmetic as cm
from resnext_viz.conv import connectivity as cx
from resnext_viz.lesson import mech_kinds, train_kinds
from resnext_viz.lesson.kind import Kind
from resnext_viz.lesson.reading import read_channels, read_int, read_ints, read_yes_no, span

CHANNELS = (16, 24, 32, 48, 64, 96, 128, 192, 256)
KERNELS = (1, 3, 5, 7)
SIZES = (14, 28, 32, 56, 64, 112, 224)
SPEED_BUDGET_S = 4.0  # seconds the on-the-spot measurement may take (the lab's sweep stops there)
n = cm.fmt_int


@dataclass(frozen=True)
class Question:
    """One question: its numbers, the sentence asked, what to type, and how to get there."""

    kind: str
    step: str
    params: dict
    prompt: str
    form: str                # what to type, e.g. "a whole number"
    hint: str                # points at the formula or the figure
    expected: Any            # the checker's answer (None for a measured kind: known only when answered)
    worked: str              # the worked answer ('' for a measured kind until measured)


@dataclass(frozen=True)
class Verdict:
    """The checker's reply: 'right', 'wrong' or 'unreadable' (not counted as an attempt), and why."""

    status: str
    message: str
    worked: str = ""         # the worked answer (with the measurement, for a measured kind)

    @property
    def right(self) -> bool:
        return self.status == "right"


@dataclass(frozen=True)
class SpeedMeasurement:
    """G = 1 and G = 32 timed here: medians and quartiles in seconds, and where."""

    dense_s: float
    dense_q1_s: float
    dense_q3_s: float
    grouped_s: float
    grouped_q1_s: float
    grouped_q3_s: float
    where: str

    @property
    def within_noise(self) -> bool:
        """True when the two timings' middle halves overlap, so neither answer can be ruled out."""
        return self.grouped_q1_s <= self.dense_q3_s and self.dense_q1_s <= self.grouped_q3_s

    def accepted(self) -> set[str]:
        """Return the answers the measurement supports: {'yes'}, {'no'} or both when within noise."""
        if self.within_noise:
            return {"yes", "no"}
        return {"yes"} if self.grouped_s < self.dense_s else {"no"}


# ---------------------------------------------------------------- the kinds


def _spec(p: dict) -> cm.ConvSpec:
    return cm.ConvSpec(c_in=p["c_in"], c_out=p["c_out"], kh=p["k"], kw=p["k"], groups=p["groups"],
                       h=p.get("h", 56), w=p.get("w", 56), stride=p.get("stride", 1), padding=p.get("padding", 0))


def _grouped(rng: random.Random, c_in: int, c_out: int) -> int:
    return rng.choice([g for g in cm.valid_groups(c_in, c_out) if g > 1] or [1])


def _gen_weights(rng: random.Random, dense: bool = False) -> dict:
    c_in, c_out = rng.choice(CHANNELS), rng.choice(CHANNELS)
    return dict(c_in=c_in, c_out=c_out, k=rng.choice(KERNELS), groups=1 if dense else _grouped(rng, c_in, c_out))


def _ask_weights(p: dict) -> str:
    return (f"How many weights (bias not counted) does nn.Conv2d({p['c_in']}, {p['c_out']}, kernel_size={p['k']}, "
            f"groups={p['groups']}) hold?")


def _worked_weights(p: dict, ans: int) -> str:
    return (f"C_in × C_out × kH × kW / G = {p['c_in']} × {p['c_out']} × {p['k']} × {p['k']} / {p['groups']} "
            f"= {n(ans)}")


def _gen_valid(rng: random.Random) -> dict:
    pool = (24, 32, 36, 48, 60, 64, 72, 96, 120, 128, 144, 192)
    c_in = rng.choice(pool)
    return dict(c_in=c_in, c_out=rng.choice([c for c in pool if c != c_in]))


def _gen_feeds(rng: random.Random) -> dict:
    c_in, c_out = rng.choice((16, 32, 48, 64, 96, 128)), rng.choice((16, 32, 48, 64, 96, 128))
    g = _grouped(rng, c_in, c_out)
    return dict(c_in=c_in, c_out=c_out, groups=g, o=rng.randrange(c_out))


def _solve_feeds(p: dict) -> set[int]:
    # the row of the connection mask the Connectivity page draws
    return set(np.flatnonzero(cx.dense_mask(p["c_in"], p["c_out"], p["groups"])[p["o"]]).tolist())


def _worked_feeds(p: dict, ans: set[int]) -> str:
    per_out, per_in = p["c_out"] // p["groups"], p["c_in"] // p["groups"]
    g = p["o"] // per_out
    return (f"Output {p['o']} is in group g = {p['o']} // (C_out/G) = {p['o']} // {per_out} = {g}, which reads inputs "
            f"[g·C_in/G, (g+1)·C_in/G) = [{g * per_in}, {(g + 1) * per_in}): channels {span(sorted(ans))}")


def _gen_shape(rng: random.Random, depthwise: bool = False) -> dict:
    c_in = rng.choice(CHANNELS)
    c_out = c_in if depthwise else rng.choice(CHANNELS)
    k = rng.choice(KERNELS[1:] if depthwise else KERNELS)
    return dict(c_in=c_in, c_out=c_out, k=k, groups=c_in if depthwise else _grouped(rng, c_in, c_out),
                h=rng.choice(SIZES), w=rng.choice(SIZES), stride=rng.choice((1, 2)), padding=rng.randint(0, k // 2))


def _conv_call(p: dict) -> str:
    return (f"nn.Conv2d({p['c_in']}, {p['c_out']}, kernel_size={p['k']}, stride={p['stride']}, "
            f"padding={p['padding']}, groups={p['groups']}) on one {p['c_in']}-channel image of height "
            f"{p['h']} and width {p['w']}")


def _worked_hw(p: dict) -> str:
    h, w = cm.output_hw(_spec(p))
    return (f"H_out = ⌊({p['h']} + 2·{p['padding']} − {p['k']}) / {p['stride']}⌋ + 1 = {h}, "
            f"W_out = ⌊({p['w']} + 2·{p['padding']} − {p['k']}) / {p['stride']}⌋ + 1 = {w}")


def _worked_macs(p: dict, ans: int) -> str:
    h, w = cm.output_hw(_spec(p))
    return (f"{_worked_hw(p)}; MACs = C_out × H_out × W_out × (C_in/G) × kH × kW = {p['c_out']} × {h} × {w} × "
            f"{p['c_in'] // p['groups']} × {p['k']} × {p['k']} = {n(ans)}")


def _gen_template(rng: random.Random) -> dict:
    return dict(C=rng.choice((1, 2, 4, 8, 16, 32, 64)), d=rng.choice((4, 8, 14, 24, 40, 64)))


def _gen_table2(rng: random.Random) -> dict:
    return dict(C=rng.choice((2, 4, 8, 16, 32, 64)), budget=card.RESNET50_TEMPLATE_PARAMS)


def _solve_table2(p: dict) -> int:
    return card.solve_preserved_complexity(p["budget"], (p["C"],))[0].d


def _worked_table2(p: dict, d: int) -> str:
    got = card.template_params(p["C"], d)
    return (f"d = {d}: {p['C']} × (256·{d} + 9·{d}² + {d}·256) = {n(got)} weights, "
            f"{(got - p['budget']) / p['budget']:+.1%} from {n(p['budget'])} (d = {d - 1} gives "
            f"{n(card.template_params(p['C'], d - 1)) if d > 1 else 'nothing'}, d = {d + 1} gives "
            f"{n(card.template_params(p['C'], d + 1))}); width C·d = {p['C'] * d}")


def _gen_fixed(rng: random.Random) -> dict:
    width = rng.choice((64, 128, 256, 512))
    return dict(width=width, C=rng.choice([c for c in cm.divisors(width) if c > 1]))


def _solve_fixed(p: dict) -> int:
    return next(r.grouped_params for r in card.fixed_width_rows(p["width"]) if r.C == p["C"])


_NETS = ((32, 4, "ResNeXt-50 32×4d"), (32, 8, "ResNeXt-101 32×8d"), (64, 4, "ResNeXt-101 64×4d"))


def _gen_bwidth(rng: random.Random) -> dict:
    groups, wpg, name = rng.choice(_NETS)
    stage = rng.randint(1, 4)
    return dict(groups=groups, width_per_group=wpg, net=name, stage=stage, planes=64 * 2 ** (stage - 1))


def _solve_bwidth(p: dict) -> int:
    return BlockConfig(planes=p["planes"], cardinality=p["groups"], base_width=p["width_per_group"]).bottleneck_width


def _gen_filter(rng: random.Random) -> dict:
    c_in = rng.choice(CHANNELS)
    c_out = rng.choice(CHANNELS)
    k = rng.choice((1, 3, 5))
    return dict(c_in=c_in, c_out=c_out, k=k, groups=_grouped(rng, c_in, c_out))


def _solve_filter(p: dict) -> int:
    return math.prod(cm.weight_shape(_spec(p))[1:])  # one row of (C_out, C_in/G, kH, kW)


def _gen_speed(rng: random.Random) -> dict:
    return dict(channels=rng.choice((64, 128)), size=rng.choice((28, 56)))


KINDS: dict[str, Kind] = {
    "dense_weights": Kind(
        lambda r: _gen_weights(r, dense=True), lambda p: cm.weight_count(_spec(p)), _ask_weights, _worked_weights,
        "Every output channel has one kH × kW filter for every input channel: weights = C_in × C_out × kH × kW "
        "(**The formula** on Parameter math).", "a whole number", read_int),
    "weights": Kind(
        _gen_weights, lambda p: cm.weight_count(_spec(p)), _ask_weights, _worked_weights,
        "Weights = C_in × C_out × kH × kW / G, bias not counted: see **The formula** and **Per group** on "
        "Parameter math.", "a whole number", read_int),
    "valid_groups": Kind(
        _gen_valid, lambda p: set(cm.valid_groups(p["c_in"], p["c_out"])),
        lambda p: f"Which group counts G are valid for a convolution from {p['c_in']} to {p['c_out']} channels? "
                  "List them all.",
        lambda p, a: (f"G must divide both: the divisors of gcd({p['c_in']}, {p['c_out']}) = "
                      f"{math.gcd(p['c_in'], p['c_out'])}, i.e. {', '.join(map(str, sorted(a)))}"),
        "Every group needs the same whole number of input and of output channels, so G divides C_in and C_out: "
        "list the divisors of gcd(C_in, C_out). The chart **Every valid group count** on Parameter math draws them.",
        "whole numbers separated by commas", lambda t: set(read_ints(t))),
    "feeds": Kind(
        _gen_feeds, _solve_feeds,
        lambda p: (f"In a convolution {p['c_in']} → {p['c_out']} channels with G = {p['groups']}, which input "
                   f"channels feed output channel {p['o']}? (Channels are numbered from 0.)"),
        _worked_feeds,
        "Output channel o belongs to group g = o // (C_out/G), and group g reads the input block "
        "[g·C_in/G, (g+1)·C_in/G). Highlight that group on Connectivity and read its row of the **Connection mask**.",
        "a range like 4–7, or a list", read_channels),
    "output_shape": Kind(
        _gen_shape, lambda p: cm.output_shape(_spec(p)),
        lambda p: f"What is the output shape (N, C_out, H_out, W_out) of {_conv_call(p)}?",
        lambda p, a: f"{_worked_hw(p)}; with N = 1 and C_out = {p['c_out']} the shape is {a}",
        "H_out = ⌊(H + 2·padding − kH) / stride⌋ + 1, and W_out likewise; G does not change the shape. See "
        "**Shapes and cost for one image** on Parameter math.",
        "four whole numbers, e.g. 1, 128, 28, 28", lambda t: tuple(read_ints(t))),
    "depthwise_macs": Kind(
        lambda r: _gen_shape(r, depthwise=True), lambda p: cm.macs(_spec(p)),
        lambda p: f"How many multiply-accumulates (MACs) does the depthwise {_conv_call(p)} take?",
        _worked_macs,
        "MACs = C_out × H_out × W_out × (C_in/G) × kH × kW, and depthwise means C_in/G = 1: find H_out and W_out "
        "first (**Shapes and cost for one image** on Parameter math).", "a whole number", read_int),
    "template_weights": Kind(
        _gen_template, lambda p: card.template_params(p["C"], p["d"]),
        lambda p: (f"How many weights does the ResNeXt block template 256 → 1×1 → C·d → grouped 3×3 (C groups) → "
                   f"1×1 → 256 hold for C = {p['C']}, d = {p['d']} (no batch norm, no bias)?"),
        lambda p, a: (f"eq. 4: C × (256·d + 9·d² + d·256) = {p['C']} × (256·{p['d']} + 9·{p['d']}² + "
                      f"{p['d']}·256) = {n(a)}"),
        "Each of the C paths is 1×1 (256 → d), 3×3 (d → d), 1×1 (d → 256): C × (256·d + 9·d² + d·256), the "
        "paper's eq. 4, written out on the Cardinality page.", "a whole number", read_int),
    "table2_d": Kind(
        _gen_table2, _solve_table2,
        lambda p: (f"At ResNet-50's budget of {n(p['budget'])} weights for the block template (256 in and out), "
                   f"which whole width d per path brings C = {p['C']} paths closest to the budget?"),
        _worked_table2,
        "Solve C × (256·d + 9·d² + 256·d) ≈ budget for d and try the whole numbers around it; the Cardinality "
        "page's **Same weights, more paths** table does it for any C.", "a whole number", read_int),
    "fixed_width": Kind(
        _gen_fixed, _solve_fixed,
        lambda p: (f"The grouped 3×3 of a ResNeXt block has width C·d = {p['width']}. How many weights does that "
                   f"3×3 alone hold with C = {p['C']} groups?"),
        lambda p, a: (f"9 × width × (width / C) = 9 × {p['width']} × {p['width'] // p['C']} = {n(a)}"),
        "A grouped 3×3 of width w with C groups has 9 × w × w / C weights; see the **Same width, more groups** "
        "table on Cardinality (column *of which the 3×3*).", "a whole number", read_int),
    "bottleneck_width": Kind(
        _gen_bwidth, _solve_bwidth,
        lambda p: (f"In {p['net']} (groups={p['groups']}, width_per_group={p['width_per_group']}), how many channels "
                   f"does the grouped 3×3 of a stage-{p['stage']} bottleneck have (planes = {p['planes']})?"),
        lambda p, a: (f"torchvision: int(planes × width_per_group / 64) × groups = int({p['planes']} × "
                      f"{p['width_per_group']} / 64) × {p['groups']} = {n(a)}"),
        "torchvision's width formula is int(planes × width_per_group / 64) × groups; ResNet vs ResNeXt quotes it "
        "above its stage table.", "a whole number", read_int),
    "filter_weights": Kind(
        _gen_filter, _solve_filter,
        lambda p: (f"A target depends on one output channel of nn.Conv2d({p['c_in']}, {p['c_out']}, "
                   f"kernel_size={p['k']}, groups={p['groups']}). How many of the layer's weights can receive a "
                   "non-zero gradient?"),
        lambda p, a: (f"only that channel's filter, one row of the weight tensor (C_out, C_in/G, kH, kW): "
                      f"C_in/G × kH × kW = {p['c_in'] // p['groups']} × {p['k']} × {p['k']} = {n(a)}"),
        "The gradient reaches only the weights the target reads: one output channel's filter, of shape "
        "(C_in/G, kH, kW). The Gradients page counts them for one channel.", "a whole number", read_int),
    **mech_kinds.KINDS,
    **train_kinds.KINDS,
    "speed": Kind(
        _gen_speed, None,
        lambda p: (f"On the machine running this app (one CPU thread, float32, NCHW), will a 3×3 convolution "
                   f"{p['channels']} → {p['channels']} on a {p['size']} × {p['size']} image with G = 32 run faster "
                   "than the same convolution with G = 1? It does 1/32 of the FLOPs. Answer yes or no; it is "
                   "measured when you answer."),
        lambda p, m: _worked_speed(m),
        "Think of bytes, not only FLOPs: G = 32 still reads the whole input and writes the whole output. The "
        "Performance lab's **FLOP/byte** column and its GFLOP/s vs FLOPs-per-byte chart show how much work each "
        "byte gets.", "yes or no", read_yes_no),
}


def _worked_speed(m: SpeedMeasurement) -> str:
    ratio = m.grouped_s / m.dense_s
    verdict = ("the middle halves of the two timings overlap, so the difference is within noise and both answers "
               "count" if m.within_noise else
               ("G = 32 was faster" if m.grouped_s < m.dense_s else "G = 32 was not faster"))
    return (f"measured just now on {m.where}: G = 1 {m.dense_s * 1e3:.3g} ms, G = 32 {m.grouped_s * 1e3:.3g} ms "
            f"(median of repeated calls; {ratio:.2f}× the dense time for 1/32 of its FLOPs): {verdict}")


# ---------------------------------------------------------------- questions and checking


def question(seed: int, step_id: str, kind: str) -> Question:
    """Return the question of one step for a lesson seed (the same seed and step, the same question)."""
    k = KINDS[kind]
    rng = random.Random(f"resnext-viz lesson {seed}:{step_id}:{kind}")
    p = k.generate(rng)
    expected = None if k.solve is None else k.solve(p)
    worked = "" if expected is None else k.worked(p, expected)
    return Question(kind, step_id, p, k.ask(p), k.form, k.hint, expected, worked)


def questions(seed: int, steps=None) -> list[tuple[int, Question]]:
    """Return (1-based step number, question) for every step of the lesson that has an exercise."""
    from resnext_viz.lesson.steps import STEPS

    return [(i, question(seed, s.id, s.exercise)) for i, s in enumerate(steps or STEPS, 1) if s.exercise]


def measure_speed(p: dict, on_wait: Callable[[], None] | None = None,
                  budget_s: float = SPEED_BUDGET_S, rounds: int = 2) -> SpeedMeasurement | None:
    """Time G = 1 and G = 32 of the question's convolution with the lab's own cases and timer; None if cut short.

    The two are timed in alternating rounds under the lab's run lock, on one CPU thread,
    within `budget_s`, and each one's samples pooled (as run_sweep does for every G).
    """
    from resnext_viz.lab.cost import LabConfig, cases
    from resnext_viz.lab.sweep import build_callable, time_callable
    from resnext_viz.timing import Timing, cpu_threads, exclusive, resolve_device

    cfg = LabConfig(channels=p["channels"], size=p["size"], batch=1, device="cpu", dtype="float32", threads=1,
                    budget_s=budget_s, loop=False, bottleneck=False)
    pair = [c for c in cases(cfg) if c.method == "grouped kernel" and c.groups in (1, 32)]
    samples: dict[int, list[float]] = {1: [], 32: []}
    dev = resolve_device("cpu")
    with exclusive(on_wait), cpu_threads(1):
        fns = {c.groups: build_callable(c, cfg, dev) for c in pair}
        share = budget_s / (rounds * len(pair))
        for _ in range(rounds):
            for g, fn in fns.items():
                t, _k = time_callable(fn, dev, share)
                samples[g].extend(t.samples_s)
    if not samples[1] or not samples[32]:
        return None
    d, g = (Timing.from_samples(samples[x], dev, 2) for x in (1, 32))
    import torch

    return SpeedMeasurement(d.median_s, d.q1_s, d.q3_s, g.median_s, g.q1_s, g.q3_s,
                            f"this server's CPU (1 thread, PyTorch {torch.__version__})")


def check(q: Question, text: str, measure: Callable[[dict], SpeedMeasurement | None] | None = None) -> Verdict:
    """Check an answer by solving the question again (or measuring, for 'speed'); never raises on bad input."""
    k = KINDS[q.kind]
    try:
        given = k.read(text)
    except ValueError as why:
        return Verdict("unreadable", f"Could not read that: {why}.")
    if k.solve is None:
        m = (measure or measure_speed)(q.params)
        if m is None:
            return Verdict("unreadable", "The measurement did not reach both G = 1 and G = 32 within its "
                                         f"{SPEED_BUDGET_S:g} s; the machine is busy. Check again.")
        worked = k.worked(q.params, m)
        ok = given in m.accepted()
        return Verdict("right" if ok else "wrong", ("Right: " if ok else "Not here: ") + worked + ".", worked)
    expected = k.solve(q.params)
    worked = k.worked(q.params, expected)
    if given == expected:
        return Verdict("right", f"Right: {worked}.", worked)
    return Verdict("wrong", "Not quite.", worked)


def answer_text(q: Question) -> str:
    """Return the expected answer as a learner would type it ('' for a measured kind)."""
    e = q.expected
    if e is None:
        return ""
    if isinstance(e, set):
        return span(sorted(e)) if q.kind == "feeds" else ", ".join(map(str, sorted(e)))
    if isinstance(e, tuple):
        return ", ".join(map(str, e))
    if isinstance(e, str):
        return e
    return n(e)
