"""The claims page's evidence: claims.Measurements gathered from the registry's finished runs."""

from __future__ import annotations

import math
from dataclasses import replace

from resnext_viz.train.claims import NOISE_SIGMA, Measurements
from resnext_viz.train.probes import NOISE_LEVELS
from resnext_viz.train.runner import PRESETS, REGISTRY, Registry, Run


def latest_job(preset: str, reg: Registry | None = None, dataset: str = "digits"):
    """Return the latest finished job of a preset on `dataset`, with any epochs and seeds (the learner's choice)."""
    reg, want = reg or REGISTRY, PRESETS[preset]
    with reg.lock:
        jobs = [j for j in reg.jobs.values() if j.done and not j.stopped and j.experiment.dataset == dataset
                and replace(j.experiment, epochs=want.epochs, seeds=want.seeds, dataset=want.dataset) == want]
    return jobs[-1] if jobs else None


def runs_used(reg: Registry | None = None, dataset: str = "digits") -> str:
    """Return one sentence naming the runs the measured verdicts come from."""
    from resnext_viz.train.claims import PRESET_NAMES

    parts = []
    for preset, name in PRESET_NAMES.items():
        job = latest_job(preset, reg, dataset)
        if job is not None:
            e = job.experiment
            parts.append(f"{name}: {e.epochs} epochs × {len(e.seeds)} seed{'s' if len(e.seeds) > 1 else ''}")
    if not parts:
        return "No experiment has finished on this server yet: the measured rows say which one to run."
    return f"Measured verdicts come from the latest finished run of each experiment on {dataset}: " + "; ".join(parts) + "."


def measurements(reg: Registry | None = None, dataset: str = "digits"):
    """Return claims.Measurements from the latest finished job of each preset on `dataset` (parts without: None)."""
    reg = reg or REGISTRY

    def finished(preset: str) -> dict[tuple[str, float], list[Run]] | None:
        job = latest_job(preset, reg, dataset)
        if job is None:
            return None
        out: dict[tuple[str, float], list[Run]] = {}
        for r in job.runs:
            if r.state == "done":
                out.setdefault((r.config.variant, r.config.lr), []).append(r)
        return out or None

    def per_variant(groups, value) -> dict[str, list[float]] | None:
        return None if groups is None else {v: [value(r) for r in rs] for (v, _), rs in groups.items()}

    base, mem, sweep = finished("default"), finished("memorise"), finished("lr_sweep")
    return Measurements(
        test_acc=per_variant(base, lambda r: r.history[-1].test_acc),
        gap=per_variant(base, lambda r: r.history[-1].gap),
        cka=per_variant(base, lambda r: r.history[-1].group_cka),
        cka_init=per_variant(base, lambda r: r.history[0].group_cka),
        noise_acc=per_variant(base, lambda r: r.noise_acc[NOISE_LEVELS.index(NOISE_SIGMA)]),
        memorise_acc=per_variant(mem, lambda r: r.history[-1].train_acc),
        lr_final=None if sweep is None else {k: [r.history[-1].test_acc for r in rs] for k, rs in sweep.items()})


# ---- what the training page draws, from one job's runs (plain lists for train.figures)

METRICS = ("train_acc", "test_acc", "train_loss", "test_loss", "gap", "group_cka")


def _label(variant: str, lr: float, sweep: bool) -> str:
    from resnext_viz.train.models import variants

    name = {v.name: v.label for v in variants()}[variant]
    return f"{name}, lr {lr:g}" if sweep else name


def by_variant(runs: list[Run]) -> dict[str, list[Run]]:
    """Return the runs grouped by variant (and learning rate when several), in the experiment's order."""
    sweep = len({r.config.lr for r in runs}) > 1
    out: dict[str, list[Run]] = {}
    for r in runs:
        out.setdefault(_label(r.config.variant, r.config.lr, sweep), []).append(r)
    return out


def series(runs: list[Run]) -> dict[str, dict[str, list[list[float]]]]:
    """Return label -> metric -> one list per seed of per-epoch values (runs without epochs left out)."""
    out = {}
    for label, rs in by_variant(runs).items():
        rs = [r for r in rs if r.history]
        if rs:
            out[label] = {m: [[getattr(e, m) for e in list(r.history)] for r in rs] for m in METRICS}
    return out


def mean_grad_norms(runs: list[Run]) -> dict[str, list[list[float]]]:
    """Return label -> per epoch (from 1) the per-group gradient norms averaged over seeds."""
    out = {}
    for label, rs in by_variant(runs).items():
        hist = [list(r.history)[1:] for r in rs]
        n = min((len(h) for h in hist), default=0)
        if n:
            out[label] = [[sum(h[e].grad_norms[g] for h in hist) / len(hist) for g in range(len(hist[0][e].grad_norms))]
                          for e in range(n)]
    return out


def cka_rows(runs: list[Run]) -> list[tuple[str, float, float, float]]:
    """Return (label, mean, lo, hi) bars: each variant at random init and after training (95 % intervals)."""
    from resnext_viz.train.claims import interval

    rows = []
    for label, rs in by_variant(runs).items():
        done = [r for r in rs if r.state == "done"]
        if not done:
            continue
        from resnext_viz.train.figures import short_label

        short = short_label(label) + ("" if "grouped" in label else ",<br>cut into 8 fake groups")
        for when, idx in (("random init", 0), ("trained", -1)):
            iv = interval([r.history[idx].group_cka for r in done])
            rows.append((f"{short}<br>{when}", iv.mean, iv.lo, iv.hi))
    return rows


def noise_acc(runs: list[Run]) -> dict[str, list[list[float]]]:
    """Return label -> one list per finished seed of accuracy at each noise level."""
    return {label: [list(r.noise_acc) for r in rs if r.noise_acc]
            for label, rs in by_variant(runs).items() if any(r.noise_acc for r in rs)}


DIVERGED_ACC = 0.2  # twice chance on the lab's data sets, which all have 10 classes


def diverged(run: Run) -> bool:
    """Return True when a run diverged: its training loss stopped being a finite number, or it ended at a test
    accuracy of at most DIVERGED_ACC (no better than a guess between two of the ten classes)."""
    return any(not math.isfinite(e.train_loss) for e in run.history) or run.history[-1].test_acc <= DIVERGED_ACC


def lr_diverged(runs: list[Run]) -> dict[str, dict[float, list[bool]]]:
    """Return variant label -> learning rate -> whether each finished seed diverged, in lr_final's order."""
    from resnext_viz.train.models import variants

    names = {v.name: v.label for v in variants()}
    out: dict[str, dict[float, list[bool]]] = {}
    for r in runs:
        if r.state == "done":
            out.setdefault(names[r.config.variant], {}).setdefault(r.config.lr, []).append(diverged(r))
    return out


def lr_final(runs: list[Run]) -> dict[str, dict[float, list[float]]]:
    """Return variant label -> learning rate -> final test accuracy of each finished seed."""
    from resnext_viz.train.models import variants

    names = {v.name: v.label for v in variants()}
    out: dict[str, dict[float, list[float]]] = {}
    for r in runs:
        if r.state == "done":
            out.setdefault(names[r.config.variant], {}).setdefault(r.config.lr, []).append(r.history[-1].test_acc)
    return out


def trained_net(run: Run):
    """Return a finished run's network with its trained weights, in eval mode with gradients off (a fresh copy).

    For pages that look inside a trained grouped network (Group features, Gradients): the copy is
    the caller's own, so probing it never touches the registry's weights.
    """
    from resnext_viz.train import models as M
    from resnext_viz.train.runner import load_dataset

    if run.state != "done" or run.state_dict is None:
        raise ValueError("this run has not finished training yet.")
    ds = load_dataset(run.config.dataset)
    v = {x.name: x for x in M.variants(ds.shape[0], len(ds.classes))}[run.config.variant]
    net = M.build(v, ds.shape[0], len(ds.classes), run.seed)
    net.load_state_dict(run.state_dict, strict=True)
    return net.eval().requires_grad_(False)
