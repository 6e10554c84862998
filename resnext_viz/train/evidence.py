"""The claims page's evidence: claims.Measurements gathered from the registry's finished runs."""

from __future__ import annotations

from dataclasses import replace

from resnext_viz.train.claims import Measurements
from resnext_viz.train.runner import PRESETS, REGISTRY, Registry, Run


def measurements(reg: Registry | None = None, dataset: str = "digits"):
    """Return claims.Measurements from the finished runs of the presets on `dataset` (parts without runs: None)."""
    reg = reg or REGISTRY

    def finished(preset: str) -> dict[tuple[str, float], list[Run]] | None:
        exp = replace(PRESETS[preset], dataset=dataset)
        runs = [reg.finished(k) for k in exp.keys()]
        if any(r is None for r in runs):
            return None
        out: dict[tuple[str, float], list[Run]] = {}
        for r in runs:
            out.setdefault((r.config.variant, r.config.lr), []).append(r)
        return out

    def per_variant(groups, value) -> dict[str, list[float]] | None:
        return None if groups is None else {v: [value(r) for r in rs] for (v, _), rs in groups.items()}

    base, mem, sweep = finished("default"), finished("memorise"), finished("lr_sweep")
    return Measurements(
        test_acc=per_variant(base, lambda r: r.history[-1].test_acc),
        gap=per_variant(base, lambda r: r.history[-1].gap),
        cka=per_variant(base, lambda r: r.history[-1].group_cka),
        cka_init=per_variant(base, lambda r: r.history[0].group_cka),
        noise_acc=per_variant(base, lambda r: r.noise_acc[-1]),
        memorise_acc=per_variant(mem, lambda r: r.history[-1].train_acc),
        lr_final=None if sweep is None else {k: [r.history[-1].test_acc for r in rs] for k, rs in sweep.items()})
