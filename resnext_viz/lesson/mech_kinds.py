"""Exercise kinds of the mechanics pages: one output value's products, the depthwise-separable pair, reachability.

Like every kind (resnext_viz.lesson.exercises), each draws its numbers from the seeded
random.Random it is given and is solved by the function that draws its page:
conv.stepthrough.step (Inside one grouped convolution), conv.separable.designs
(Depthwise-separable) and conv.stacks.reachability (Stacked layers and channel shuffle).
"""

from __future__ import annotations

import random

from resnext_viz.conv import arithmetic as cm
from resnext_viz.conv import separable as sep
from resnext_viz.conv import stacks
from resnext_viz.conv import stepthrough as sv
from resnext_viz.lesson.kind import Kind
from resnext_viz.lesson.reading import read_int, read_yes_no

n = cm.fmt_int


def runs(channels) -> str:
    """Return channels as runs: [0, 1, 2, 3, 8, 9, 10, 11] -> '0–3, 8–11', [0, 4, 8] -> '0, 4, 8'."""
    xs, out = sorted(int(x) for x in channels), []
    while xs:
        k = 0
        while k + 1 < len(xs) and xs[k + 1] == xs[k] + 1:
            k += 1
        out.append(str(xs[0]) if k == 0 else f"{xs[0]}, {xs[1]}" if k == 1 else f"{xs[0]}–{xs[k]}")
        xs = xs[k + 1:]
    return ", ".join(out)


# ---------------------------------------------------------------- products in one output value


def _gen_dot(rng: random.Random) -> dict:
    while True:  # draw until the step-through can show it (its own bounds)
        c_in, c_out = rng.choice((2, 4, 6, 8, 12, 16)), rng.choice((2, 4, 6, 8, 12, 16))
        s = sv.StepSpec(c_in=c_in, c_out=c_out, groups=rng.choice(cm.valid_groups(c_in, c_out)),
                        h=rng.randint(4, 10), w=rng.randint(4, 10), k=rng.choice((1, 3, 3, 5)),
                        stride=rng.randint(1, 2), padding=rng.randint(0, 2), seed=rng.randrange(10_000))
        try:
            sv.validate(s)
        except ValueError:
            continue
        ho, wo = s.out_hw
        return dict(c_in=s.c_in, c_out=s.c_out, groups=s.groups, h=s.h, w=s.w, k=s.k, stride=s.stride,
                    padding=s.padding, seed=s.seed, o=rng.randrange(s.c_out), i=rng.randrange(ho), j=rng.randrange(wo))


def _dot_spec(p: dict) -> sv.StepSpec:
    return sv.StepSpec(**{f: p[f] for f in ("c_in", "c_out", "groups", "h", "w", "k", "stride", "padding", "seed")})


def _solve_dot(p: dict) -> int:
    s = _dot_spec(p)
    return int(sv.step(s, sv.tensors(s), p["o"], p["i"], p["j"]).products.size)  # the terms the page writes out


def _worked_dot(p: dict, ans: int) -> str:
    s = _dot_spec(p)
    chans = sv.in_channels(s, p["o"])
    return (f"output {p['o']} is in group {p['o']} // (C_out/G) = {p['o']} // {s.per_out} = {sv.group_of(s, p['o'])}, "
            f"which reads input channel{'s' if len(chans) > 1 else ''} {runs(chans)}; its filter w[{p['o']}] has "
            f"shape (C_in/G, k, k) = ({s.per_in}, {s.k}, {s.k}), one product per weight: "
            f"{s.per_in} × {s.k} × {s.k} = {n(ans)}, wherever the window is")


# ---------------------------------------------------------------- the depthwise-separable pair


def _sep_spec(p: dict) -> cm.ConvSpec:
    return cm.ConvSpec(c_in=p["c_in"], c_out=p["c_out"], kh=p["k"], kw=p["k"], groups=1)


def _gen_sep(rng: random.Random) -> dict:
    return dict(c_in=rng.choice((16, 32, 48, 64, 96, 128, 256)), c_out=rng.choice((32, 64, 128, 256, 512)),
                k=rng.choice((3, 3, 5, 7)))


def _worked_sep(p: dict, ans: int) -> str:
    d = sep.designs(_sep_spec(p))
    k, c_in, c_out = p["k"], p["c_in"], p["c_out"]
    return (f"depthwise k·k·C_in = {k}·{k}·{c_in} = {n(d.depthwise.params)}, pointwise C_in·C_out = {c_in}·{c_out} = "
            f"{n(d.pointwise.params)}, together {n(ans)}; the standard layer holds {n(d.standard.params)}, so the "
            f"pair has 1/C_out + 1/k² = 1/{c_out} + 1/{k * k} = {d.ratio.numerator}/{d.ratio.denominator} ≈ "
            f"{float(d.ratio):.4f} of its weights")


# ---------------------------------------------------------------- reachability through a stack


def _gen_reach(rng: random.Random) -> dict:
    c = rng.choice((8, 12, 16, 24, 32))
    gs = [g for g in cm.divisors(c) if 1 < g < c]
    a, b = rng.choice(gs), rng.choice(gs)
    layers = rng.choice(((f"g{a}", f"g{b}"), (f"g{a}", f"shuffle{a}", f"g{a}"), (f"g{a}", f"shuffle{b}", f"g{a}"),
                         (f"g{a}", f"g{a}", f"g{b}")))
    o = rng.randrange(c)
    row = stacks.reachability(c, layers)[o]
    want = rng.random() < 0.5                        # about half yes, half no, where both exist
    pool = [i for i in range(c) if bool(row[i]) == want] or list(range(c))
    return dict(c=c, layers=layers, o=o, i=rng.choice(pool))


def _solve_reach(p: dict) -> str:
    return "yes" if stacks.reachability(p["c"], p["layers"])[p["o"], p["i"]] else "no"


def walk_back(c: int, layers, o: int) -> list[tuple[str, list[int]]]:
    """Return, last layer first, each layer's code and the channels of its input that can reach output o."""
    reach, out = [o], []
    for code in reversed(list(layers)):
        m = stacks.layer_matrix(c, code)              # [output, input]
        reach = sorted({int(i) for r in reach for i in m[r].nonzero()[0]})
        out.append((code, reach))
    return out


def _worked_reach(p: dict, ans: str) -> str:
    steps = walk_back(p["c"], p["layers"], p["o"])
    last = len(p["layers"])
    parts = [f"{runs(ch)} before layer {last - k} ({code})" for k, (code, ch) in enumerate(steps)]
    return (f"walking back from output {p['o']}, the channels it depends on are: {'; '.join(parts)}, the stack's "
            f"input. "
            f"Input {p['i']} is {'among' if ans == 'yes' else 'not among'} those last ones, so {ans}")


KINDS: dict[str, Kind] = {
    "dot_terms": Kind(
        _gen_dot, _solve_dot,
        lambda p: (f"A convolution {p['c_in']} → {p['c_out']} channels with G = {p['groups']}, a {p['k']}×{p['k']} "
                   f"kernel, stride {p['stride']} and padding {p['padding']} runs on an input of height {p['h']} and width "
                   f"{p['w']}. How "
                   f"many products x·w are summed, before the bias is added, to give the one output value "
                   f"y[{p['o']}, {p['i']}, {p['j']}]? Count every term, those with padding zeros too."),
        _worked_dot,
        "y[o, i, j] adds one product per weight of output o's filter: the k × k window of each of the C_in/G input "
        "channels of its group. **One output value** on Inside one grouped convolution writes every product out.",
        "a whole number", read_int),
    "separable_weights": Kind(
        _gen_sep, lambda p: sep.designs(_sep_spec(p)).separable_params,
        lambda p: (f"MobileNet replaces nn.Conv2d({p['c_in']}, {p['c_out']}, kernel_size={p['k']}) by a depthwise "
                   f"{p['k']}×{p['k']} convolution (groups={p['c_in']}) followed by a pointwise 1×1 convolution "
                   f"{p['c_in']} → {p['c_out']}. How many weights (bias not counted) do the two layers hold together?"),
        _worked_sep,
        "The depthwise layer has one k × k filter per input channel (k·k·C_in weights), the pointwise 1×1 one weight "
        "per input and output pair (C_in·C_out). The table on Depthwise-separable counts both.",
        "a whole number", read_int),
    "reachability": Kind(
        _gen_reach, _solve_reach,
        lambda p: (f"A stack of width c = {p['c']} applies {' → '.join(p['layers'])}, first to last (gG is a grouped "
                   "convolution with G groups, shuffleG a channel shuffle with G groups). Can input channel "
                   f"{p['i']} influence output channel {p['o']}? Answer yes or no."),
        _worked_reach,
        "Follow the output back one layer at a time: a grouped layer gG reads the c/G channels of its output's group, "
        "and shuffleG's output channel j·G + g is its input channel g·(c/G) + j. The **Reachability** matrices on "
        "Stacked layers draw every layer.", "yes or no", read_yes_no),
}
