"""Verdict logic on constructed measurements: overlapping intervals are not support; separated ones decide."""

from __future__ import annotations

import statistics

import pytest

from resnext_viz.train import claims as C


def test_interval_is_the_t_interval():
    iv = C.interval([0.90, 0.92, 0.94])
    half = 4.303 * statistics.stdev([0.90, 0.92, 0.94]) / 3 ** 0.5
    assert iv.mean == pytest.approx(0.92) and iv.hi - iv.mean == pytest.approx(half) and iv.n == 3
    assert C.interval([0.5]) == C.Interval(0.5, 0.5, 0.5, 1)
    with pytest.raises(ValueError):
        C.interval([])


def test_separation_overlap_and_single_seeds():
    hi, lo = C.interval([0.95, 0.96, 0.97]), C.interval([0.80, 0.81, 0.82])
    assert C.separated(hi, lo) == 1 and C.separated(lo, hi) == -1
    assert C.separated(C.interval([0.90, 0.95, 0.99]), C.interval([0.93, 0.94, 0.96])) == 0
    assert C.separated(C.interval([0.99]), C.interval([0.1])) == 0  # one seed: no interval, no verdict


def _m(**kw) -> C.Measurements:
    return C.Measurements(**kw)


def _by_key(m: C.Measurements) -> dict[str, C.Verdict]:
    return {v.claim.key: v for v in C.verdicts(m)}


def test_every_claim_has_a_row_and_pending_rows_name_the_experiment():
    rows = C.verdicts(_m())
    assert len(rows) == 12 and len({r.claim.key for r in rows}) == 12
    pending = [r for r in rows if r.pending]
    assert {r.claim.key for r in pending} == {"diversity", "regularisation", "stable", "overfitting",
                                              "generalisation", "robust", "fewer_params", "localized", "interference"}
    assert all(C.PRESET_NAMES[r.claim.experiment] in r.evidence for r in pending if r.claim.kind == "measured")
    cited = {r.claim.key: r for r in rows if r.source}
    assert cited["only_groups"].verdict == C.CONTRADICTED and "667,000,104" in cited["only_groups"].evidence
    assert "G2" in cited["efficiency"].source and "timm" in cited["efficiency"].source
    assert "0.75–0.84" in cited["efficiency"].evidence


SAME = {"dense": [0.95, 0.97, 0.96], "grouped": [0.96, 0.95, 0.97], "grouped_thin": [0.95, 0.96, 0.97]}


def test_overlapping_intervals_are_not_supported():
    v = _by_key(_m(test_acc=SAME, gap={"dense": [0.02, 0.03, 0.04], "grouped": [0.03, 0.02, 0.04]},
                   noise_acc=SAME, memorise_acc=SAME))
    for key in ("generalisation", "overfitting", "robust", "regularisation"):
        assert v[key].verdict == C.NOT_SUPPORTED and "overlap" in v[key].evidence, key
    assert v["regularisation"].source == C.RESNEXT_51 and "not from regularization" in v["regularisation"].evidence
    assert v["fewer_params"].verdict == C.CAVEAT  # similar accuracy not ruled out; the caveat says why


def test_separated_intervals_hold_or_contradict_by_direction():
    better = {"dense": [0.90, 0.91, 0.92], "grouped": [0.97, 0.98, 0.99], "grouped_thin": [0.80, 0.81, 0.82]}
    v = _by_key(_m(test_acc=better, gap={"dense": [0.10, 0.11, 0.12], "grouped": [0.01, 0.02, 0.03]},
                   memorise_acc={"dense": [0.3, 0.31, 0.32], "grouped": [0.6, 0.61, 0.62]}))
    assert v["generalisation"].verdict == C.HOLDS and "do not overlap" in v["generalisation"].evidence
    assert v["overfitting"].verdict == C.HOLDS  # a smaller gap is what the claim says
    assert v["regularisation"].verdict == C.CONTRADICTED  # grouped memorises random labels faster
    assert v["fewer_params"].verdict == C.CONTRADICTED  # the thinner net is clearly less accurate
    worse = _by_key(_m(test_acc={k: list(reversed(sorted(x))) for k, x in
                                 {"dense": better["grouped"], "grouped": better["dense"]}.items()}))
    assert worse["generalisation"].verdict == C.CONTRADICTED


def test_a_single_seed_gives_no_verdict_and_says_why():
    v = _by_key(_m(test_acc={"dense": [0.5], "grouped": [0.99], "grouped_thin": [0.98]}))
    assert v["generalisation"].verdict == C.NOT_SUPPORTED and "one seed there is no interval" in \
        v["generalisation"].evidence


def test_diversity_holds_only_with_a_caveat_and_cites_its_baseline():
    v = _by_key(_m(cka={"dense": [0.8, 0.81, 0.82], "grouped": [0.5, 0.52, 0.51]},
                   cka_init={"dense": [0.9, 0.9, 0.9], "grouped": [0.7, 0.71, 0.72]}))
    assert v["diversity"].verdict == C.CAVEAT and "Random-init" in v["diversity"].evidence
    assert v["diversity"].source == C.DEEP_ROOTS
    same = _by_key(_m(cka={"dense": [0.5, 0.6, 0.7], "grouped": [0.55, 0.6, 0.65]}))
    assert same["diversity"].verdict == C.NOT_SUPPORTED


def test_stable_training_from_the_sweep():
    sweep = {("dense", 0.1): [0.9, 0.91, 0.92], ("grouped", 0.1): [0.9, 0.92, 0.91],
             ("dense", 1.0): [0.1, 0.12, 0.11], ("grouped", 1.0): [0.8, 0.82, 0.81]}
    assert _by_key(_m(lr_final=sweep))["stable"].verdict == C.HOLDS
    flipped = {(("grouped" if v == "dense" else "dense"), lr): x for (v, lr), x in sweep.items()}
    assert _by_key(_m(lr_final=flipped))["stable"].verdict == C.CONTRADICTED
    even = {k: [0.5, 0.6, 0.7] for k in sweep}
    assert _by_key(_m(lr_final=even))["stable"].verdict == C.NOT_SUPPORTED


def test_interference_verdicts_from_the_check():
    ok = _by_key(_m(interference=(True, True)))
    assert ok["interference"].verdict == C.CAVEAT and "exactly 0" in ok["interference"].evidence
    assert ok["localized"].verdict == C.CAVEAT and "every group" in ok["localized"].evidence
    assert _by_key(_m(interference=(False, True)))["interference"].verdict == C.CONTRADICTED


def test_memorising_less_is_only_a_caveat_and_a_better_thin_net_is_not_called_overlapping():
    v = _by_key(_m(test_acc={"dense": [0.80, 0.81, 0.82], "grouped": [0.80, 0.81, 0.82],
                             "grouped_thin": [0.90, 0.91, 0.92]},
                   memorise_acc={"dense": [0.6, 0.61, 0.62], "grouped": [0.3, 0.31, 0.32]}))
    assert v["regularisation"].verdict == C.CAVEAT and "does not show it" in v["regularisation"].evidence
    assert v["fewer_params"].verdict == C.CAVEAT and "more accurate" in v["fewer_params"].evidence
    assert "intervals overlap" not in v["fewer_params"].evidence
    one = _by_key(_m(test_acc={"dense": [0.5], "grouped": [0.5], "grouped_thin": [0.5]}))
    assert one["fewer_params"].verdict == C.NOT_SUPPORTED and "one seed" in one["fewer_params"].evidence
