"""The seed article's claims and a verdict for each; pure (no torch): measurements with intervals in, words out.

A measured verdict compares two variants' 95 % confidence intervals over seeds (Student's t):
intervals that overlap mean the run cannot tell them apart ("not supported here"); separated
intervals mean the claim holds or is contradicted, by the direction. A cited verdict names its source.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

HOLDS, CAVEAT, NOT_SUPPORTED, CONTRADICTED = "holds", "holds with a caveat", "not supported here", "contradicted"
# Two-sided 95 % Student's t quantiles by degrees of freedom (n seeds - 1).
NOISE_SIGMA = 0.3  # the noise level the robustness verdict reads (train.probes.NOISE_LEVELS holds it)
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}

RESNEXT_51 = "ResNeXt (Xie et al., CVPR 2017), sec. 5.1 / Fig. 5"
RESNEXT_T3 = "ResNeXt (Xie et al., CVPR 2017), Tables 3 and 4"
DEEP_ROOTS = "Deep Roots (Ioannou et al., CVPR 2017)"
SHUFFLE_G2 = "ShuffleNet V2 (Ma et al., 2018), guideline G2"
TIMM = "timm's published throughput tables"


@dataclass(frozen=True)
class Interval:
    """A mean over seeds with its 95 % confidence interval (lo = hi = mean for a single seed)."""

    mean: float
    lo: float
    hi: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.3f} (95 % CI {self.lo:.3f}–{self.hi:.3f}, {self.n} seeds)"


def interval(values: list[float], bounds: tuple[float, float] = (0.0, 1.0)) -> Interval:
    """Return the mean of `values` and its 95 % t-interval, clipped to `bounds` (accuracies, CKA: 0–1).

    ValueError for no values.
    """
    if not values:
        raise ValueError("an interval needs at least one value.")
    m = statistics.fmean(values)
    if len(values) < 2:
        return Interval(m, m, m, 1)
    half = T95.get(len(values) - 1, 1.96) * statistics.stdev(values) / math.sqrt(len(values))
    return Interval(m, max(bounds[0], m - half), min(bounds[1], m + half), len(values))


def separated(a: Interval, b: Interval) -> int:
    """Return +1 if a's interval lies wholly above b's, -1 if wholly below, 0 if they overlap (or n < 2)."""
    if a.n < 2 or b.n < 2:
        return 0
    return 1 if a.lo > b.hi else -1 if a.hi < b.lo else 0


def compare(claimed: Interval, other: Interval, what: str, claim_says_higher: bool = True) -> tuple[str, str]:
    """Return (verdict, evidence) for "claimed is higher than other" (or lower, if claim_says_higher is False)."""
    side = separated(claimed, other) * (1 if claim_says_higher else -1)
    evidence = f"{what}: grouped {claimed}, dense {other}."
    if side > 0:
        return HOLDS, evidence + " The intervals do not overlap."
    if side < 0:
        return CONTRADICTED, evidence + " The intervals do not overlap, in the other direction."
    if min(claimed.n, other.n) < 2:
        return NOT_SUPPORTED, evidence + " With one seed there is no interval, so no verdict: run 2 seeds or more."
    return NOT_SUPPORTED, evidence + " The intervals overlap: at this size the run cannot tell them apart."


@dataclass(frozen=True)
class Claim:
    """One claim of the seed article and where the app puts it to the test."""

    key: str
    words: str  # the article's claim, in its words
    kind: str  # 'measured' (from a run here), 'checked' (an exact check here) or 'cited'
    experiment: str  # the lab preset that measures it ('' if none)
    page: str  # the page's URL path
    view: str  # the query string of the exact view
    shows: str = ""  # the view in words, for the link


CLAIMS: tuple[Claim, ...] = (
    Claim("diversity", "Higher cardinality brings feature diversity", "measured", "default", "train",
          "?preset=default&probe=similarity", "Train it yourself · group similarity"),
    Claim("regularisation", "Grouping has an implicit regularisation effect", "measured", "memorise", "train",
          "?preset=memorise", "Train it yourself · memorisation"),
    Claim("efficiency", "Grouped convolutions are computationally efficient", "cited", "", "performance_lab", "",
          "Performance lab · time vs FLOPs"),
    Claim("scalability", "Cardinality scales better than depth or width", "cited", "", "cardinality",
          "?mode=preserved", "Cardinality · Table 2 solved"),
    Claim("localized", "Gradient updates are localized to each group", "checked", "", "gradients", "?target=group",
          "Gradients · one group's energy"),
    Claim("interference", "Groups reduce interference between features", "checked", "", "claims", ""),
    Claim("stable", "Grouped networks train more stably", "measured", "lr_sweep", "train",
          "?preset=lr_sweep&probe=lr", "Train it yourself · LR sweep"),
    Claim("overfitting", "Grouping reduces overfitting", "measured", "default", "train", "?preset=default",
          "Train it yourself · the gap"),
    Claim("generalisation", "Grouping gives better generalisation", "measured", "default", "train", "?preset=default",
          "Train it yourself · test accuracy"),
    Claim("robust", "Groups learn more robust representations", "measured", "default", "train",
          "?preset=default&probe=noise", "Train it yourself · input noise"),
    Claim("fewer_params", "96.9% fewer parameters while maintaining similar or higher accuracy", "measured",
          "default", "parameters", "?c_in=64&c_out=128&kh=3&kw=3&groups=32&bias=0",
          "Parameter math · 64→128, G = 32"),
    Claim("only_groups", "The only difference between ResNet and ResNeXt is the groups argument of conv2", "checked",
          "", "resnet_vs_resnext", "?pair=50", "ResNet vs ResNeXt · the 50-layer pair"),
)


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict, the evidence in one or two sentences, and the source when it is cited."""

    claim: Claim
    verdict: str
    evidence: str
    source: str = ""  # the literature it is cited from ('' when measured or checked here)
    pending: bool = False  # True: no measurement yet; the evidence says which experiment to run


CITED = {
    "efficiency": (CAVEAT, "Fewer FLOPs and weights at a fixed width (counted exactly on the Parameter math page), but "
                   "FLOPs are not time: at similar FLOPs (4.23 vs 4.09 GMACs, counted on the ResNet vs ResNeXt page) "
                   "timm lists resnext50_32x4d at 0.75–0.84× resnet50's GPU throughput, and "
                   "excessive group convolution raises memory access cost at fixed FLOPs (G2).",
                   f"{TIMM}; {SHUFFLE_G2}"),
    "scalability": (CAVEAT, "At about 2× ResNet-101's complexity, ResNeXt-101 64×4d reaches 20.4 % top-1 error vs "
                    "21.3 % for a wider ResNet-101 and 21.7 % for ResNet-200; but 8×14d (22.3 %) vs 32×4d "
                    "(22.2 %) shows saturation, and these are single runs without error bars.", RESNEXT_T3),
    "only_groups": (CONTRADICTED, "ResNeXt-50 changes two settings: groups = 32 and width_per_group = 4. Counted here: "
                    "ResNeXt-50 has 25,028,904 parameters; groups = 32 alone (width_per_group 64) gives 667,000,104. "
                    "torchvision's BasicBlock refuses groups ≠ 1.",
                    "ResNeXt (Xie et al., CVPR 2017), Table 1: stage 1's bottleneck is 128 wide, not 64"),
}


@dataclass(frozen=True)
class Measurements:
    """Per-variant, per-seed numbers from finished runs (lists over seeds); any part may be missing."""

    test_acc: dict[str, list[float]] | None = None  # default preset, last epoch
    gap: dict[str, list[float]] | None = None  # train - test accuracy, last epoch
    cka: dict[str, list[float]] | None = None  # mean between-group linear CKA, last epoch
    cka_init: dict[str, list[float]] | None = None  # the same before training (random init)
    noise_acc: dict[str, list[float]] | None = None  # test accuracy at noise σ = NOISE_SIGMA
    memorise_acc: dict[str, list[float]] | None = None  # train accuracy on random labels, last epoch
    lr_final: dict[tuple[str, float], list[float]] | None = None  # (variant, lr) -> final test accuracy
    interference: tuple[bool, bool] | None = None  # (other groups exactly unchanged, every logit moved)


PRESET_NAMES = {"default": "Dense vs grouped", "memorise": "Memorise shuffled labels", "lr_sweep": "Learning-rate sweep"}


def _pending(c: Claim) -> Verdict:
    return Verdict(c, NOT_SUPPORTED, f"Not measured yet: run the **{PRESET_NAMES[c.experiment]}** experiment on "
                   "Train it yourself (on digits, its default epochs and seeds), or press the button here.",
                   pending=True)


def _measured(c: Claim, m: Measurements) -> Verdict:
    iv = {k: interval(v) for k, v in (m.test_acc or {}).items()}
    if c.key == "diversity" and m.cka:
        g, d = interval(m.cka["grouped"]), interval(m.cka["dense"])
        verdict, ev = compare(g, d, "Mean linear CKA between groups after training (lower = more diverse)",
                              claim_says_higher=False)
        init = interval(m.cka_init["grouped"]) if m.cka_init else None
        ev += f" Random-init grouped network: {init}." if init else ""
        return Verdict(c, CAVEAT if verdict == HOLDS else verdict,
                       ev + " The dense number is its layer cut into fake groups, which hold fewer channels than the "
                       "grouped network's, so the two are not directly comparable; part of any difference is wiring, "
                       "not learning (Deep Roots reports block structure between layers).", DEEP_ROOTS)
    if c.key == "regularisation" and m.memorise_acc:
        verdict, ev = compare(interval(m.memorise_acc["grouped"]), interval(m.memorise_acc["dense"]),
                              "Train accuracy on shuffled labels (memorisation; lower = memorises less)", False)
        ev += (" Memorising less is consistent with regularisation but does not show it: lower capacity to fit noise "
               "gives the same sign." if verdict == HOLDS else "")
        return Verdict(c, CAVEAT if verdict == HOLDS else verdict, ev + " ResNeXt's authors read their gain as \"not "
                       "from regularization\": ResNeXt-50 has lower training error than ResNet-50.", RESNEXT_51)
    if c.key == "overfitting" and m.gap:
        return Verdict(c, *compare(interval(m.gap["grouped"], (-1, 1)), interval(m.gap["dense"], (-1, 1)),
                                   "Generalisation gap, train − test accuracy", claim_says_higher=False))
    if c.key == "generalisation" and iv:
        verdict, ev = compare(iv["grouped"], iv["dense"], "Test accuracy at matched parameters")
        return Verdict(c, verdict, ev + " On ImageNet, ResNeXt-50 32×4d: 22.2 % vs ResNet-50's 23.9 % top-1 error "
                       "(single runs).", RESNEXT_T3)
    if c.key == "robust" and m.noise_acc:
        return Verdict(c, *compare(interval(m.noise_acc["grouped"]), interval(m.noise_acc["dense"]),
                                   f"Test accuracy with Gaussian noise σ = {NOISE_SIGMA} added to the pixels"))
    if c.key == "fewer_params" and iv and "grouped_thin" in iv:
        side = separated(iv["grouped_thin"], iv["dense"])
        ev = (f"96.875 % is one 64→128 3×3 layer with 32 groups at a fixed width (counted). Here, at matched width, "
              f"test accuracy: grouped (fewer weights) {iv['grouped_thin']}, dense {iv['dense']}.")
        if side < 0:
            return Verdict(c, CONTRADICTED, ev + " The thinner grouped network is less accurate; the intervals do "
                           "not overlap.")
        if min(iv["grouped_thin"].n, iv["dense"].n) < 2:
            return Verdict(c, NOT_SUPPORTED, ev + " With one seed there is no interval, so no verdict: run 2 seeds "
                           "or more.")
        why = ("The thinner grouped network is more accurate here; the intervals do not overlap" if side > 0 else
               "The intervals overlap, so this run shows no reliable loss of accuracy at this size; overlap does not "
               "prove equality either")
        return Verdict(c, CAVEAT, ev + f" {why}, and a whole block saves far less than one layer.")
    if c.key == "stable" and m.lr_final:
        rows, worse, better = [], 0, 0
        for (v, lr) in sorted(k for k in m.lr_final if k[0] == "grouped"):
            if ("dense", lr) not in m.lr_final:
                continue
            g, d = interval(m.lr_final[("grouped", lr)]), interval(m.lr_final[("dense", lr)])
            s = separated(g, d)
            better, worse = better + (s > 0), worse + (s < 0)
            rows.append(f"lr {lr:g}: grouped {g.mean:.3f} ({g.lo:.3f}–{g.hi:.3f}), dense {d.mean:.3f} "
                        f"({d.lo:.3f}–{d.hi:.3f})")
        verdict = CONTRADICTED if worse and not better else HOLDS if better and not worse else NOT_SUPPORTED
        return Verdict(c, verdict, "Final test accuracy across seeds at each learning rate (mean and 95 % CI, "
                       "clipped to 0–1): "
                       + "; ".join(rows) + ".")
    return _pending(c)


def verdicts(m: Measurements) -> list[Verdict]:
    """Return one Verdict per claim, in CLAIMS order, from what has been measured (the rest pending or cited)."""
    out = []
    for c in CLAIMS:
        if c.key in CITED:
            out.append(Verdict(c, *CITED[c.key]))
        elif c.key in ("localized", "interference"):
            out.append(_checked(c, m.interference))
        else:
            out.append(_measured(c, m))
    return out


def _checked(c: Claim, result: tuple[bool, bool] | None) -> Verdict:
    if result is None:
        return Verdict(c, NOT_SUPPORTED, "Not checked yet: run the interference check on this page.", pending=True)
    zero, moved = result
    if not zero:
        return Verdict(c, CONTRADICTED, "One step on one group's filters changed another group's output at that layer.")
    if c.key == "localized":
        return Verdict(c, CAVEAT, "Within one grouped layer, exactly: a step on group g's filters left every other "
                       "group's output bit-for-bit unchanged. But a class score's gradient reaches every group, "
                       "since the next 1×1 mixes them (see Gradients).")
    tail = " while every logit changed: downstream, the 1×1 convolutions mix the groups again." if moved else "."
    return Verdict(c, CAVEAT, "At the grouped layer only: other groups' outputs changed by exactly 0" + tail)
