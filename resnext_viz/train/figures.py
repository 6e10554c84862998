"""Plotly figures of the training lab; pure (no torch): plain per-seed lists in, go.Figure out.

Every curve is the mean over seeds with a shaded band from the lowest to the highest seed, so
the spread is always in view. `series` maps a variant's label to a dict of metric -> one list
per seed (one value per epoch, epoch 0 = the untrained network).
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from resnext_viz.palette import group_color
from resnext_viz.plotting import base_layout

Series = dict[str, dict[str, list[list[float]]]]
PANELS = (("test_acc", "Accuracy"), ("test_loss", "Cross-entropy loss"), ("gap", "Gap: train − test accuracy"))


def short_label(label: str) -> str:
    """Return a variant's label without its trailing note: 'grouped (C = 8, d = 4), matched …' -> 'grouped (C = 8, d = 4)'."""
    return label.split("), ")[0] + ")" if "), " in label else label


def variant_color(i: int) -> str:
    """Return the colour of the i-th variant (the group palette's first colours)."""
    return group_color((0, 3, 2, 1)[i % 4])


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def _band(fig: go.Figure, runs: list[list[float]], name: str, color: str, row=None, col=None,
          show_legend: bool = True, dash: str = "solid", x0: int = 0) -> None:
    """Add the mean line and the min–max band of equal-or-ragged per-seed curves (cut to the shortest)."""
    n = min((len(r) for r in runs), default=0)
    if n == 0:
        return
    x = list(range(x0, x0 + n))
    cols = [[r[i] for r in runs] for i in range(n)]
    lo, hi = [min(c) for c in cols], [max(c) for c in cols]
    mean = [sum(c) / len(c) for c in cols]
    kw = {} if row is None else dict(row=row, col=col)
    fig.add_trace(go.Scatter(x=x + x[::-1], y=hi + lo[::-1], fill="toself", fillcolor=_rgba(color, 0.18), mode="lines",
                             line=dict(width=0), hoverinfo="skip", showlegend=False, legendgroup=name), **kw)
    fig.add_trace(go.Scatter(x=x, y=mean, name=name, mode="lines+markers", legendgroup=name, showlegend=show_legend,
                             line=dict(color=color, width=2.5, dash=dash), marker=dict(size=6, color=color),
                             hovertemplate=f"{name}<br>epoch %{{x}}: %{{y:.3f}} (mean of {len(runs)} seeds)"
                                           "<extra></extra>"), **kw)


def _legend(fig: go.Figure, y: float = -0.3) -> go.Figure:
    """Return fig with a horizontal legend under the plot, clear of the x-axis title."""
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=y, x=0, yanchor="top"),
                      margin=dict(l=10, r=10, t=60, b=40))
    return fig


def training_curves(series: Series, title: str = "Training curves, mean and range over seeds") -> go.Figure:
    """Return accuracy, loss (test solid, train dotted) and the generalisation gap per epoch, one colour a variant."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=[t for _, t in PANELS], horizontal_spacing=0.07)
    for i, (label, metrics) in enumerate(series.items()):
        for j, (key, _) in enumerate(PANELS, start=1):
            _band(fig, metrics.get(key, []), label, variant_color(i), 1, j, show_legend=j == 1)
        _band(fig, metrics.get("train_acc", []), f"{label} · train", variant_color(i), 1, 1, False, "dot")
        _band(fig, metrics.get("train_loss", []), f"{label} · train", variant_color(i), 1, 2, False, "dot")
    fig.update_xaxes(title_text="epoch", dtick=max(1, _epochs(series) // 8))
    fig.update_yaxes(range=[0, 1.02], row=1, col=1)
    fig.add_annotation(text="dotted: on the training set", xref="x domain", yref="y domain", x=1, y=0.02,
                       showarrow=False, font=dict(size=11), xanchor="right")
    return _legend(base_layout(fig, title, 380, {"kind": "training_curves", "variants": list(series)}), y=-0.32)


def _epochs(series: Series) -> int:
    return max((len(r) for m in series.values() for r in m.get("test_acc", [])), default=1)


def metric_curves(series: Series, key: str, title: str, y_title: str, height: int = 320) -> go.Figure:
    """Return one metric per epoch (e.g. train accuracy on shuffled labels), one band per variant."""
    fig = go.Figure()
    for i, (label, metrics) in enumerate(series.items()):
        _band(fig, metrics.get(key, []), label, variant_color(i))
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text=y_title)
    return _legend(base_layout(fig, title, height, {"kind": key, "variants": list(series)}))


def grad_norms(norms: dict[str, list[list[float]]], title: str = "Per-group gradient norm of block1's 3×3") -> go.Figure:
    """Return each group's weight-gradient norm per epoch (mean over seeds), one panel per variant.

    `norms` maps a variant's label to one list per epoch of per-group norms (already averaged over seeds).
    """
    labels = list(norms)
    fig = make_subplots(rows=1, cols=max(1, len(labels)), subplot_titles=[short_label(x) for x in labels],
                        shared_yaxes=True,
                        horizontal_spacing=0.05)
    for c, label in enumerate(labels, start=1):
        epochs = norms[label]
        groups = len(epochs[0]) if epochs else 0
        for g in range(groups):
            fig.add_trace(go.Scatter(x=list(range(1, len(epochs) + 1)), y=[e[g] for e in epochs], mode="lines",
                                     name=f"group {g}", line=dict(color=group_color(g), width=1.8),
                                     showlegend=c == 1, legendgroup=f"g{g}",
                                     hovertemplate=f"{label}, group {g}<br>epoch %{{x}}: %{{y:.4f}}<extra></extra>"),
                          row=1, col=c)
    fig.update_xaxes(title_text="epoch", dtick=1)
    fig.update_yaxes(title_text="‖∂loss/∂W_g‖", row=1, col=1)
    return _legend(base_layout(fig, title, 360, {"kind": "grad_norms", "variants": labels}))


def similarity_bars(rows: list[tuple[str, float, float, float]],
                    title: str = "Mean linear CKA between groups of block1's 3×3 (lower: less alike)") -> go.Figure:
    """Return bars with 95 % intervals; rows are (label, mean, lo, hi), e.g. trained, random init, fake groups."""
    fig = go.Figure(go.Bar(
        x=[r[0] for r in rows], y=[r[1] for r in rows], marker_color=[variant_color(i // 2) for i in range(len(rows))],
        error_y=dict(type="data", symmetric=False, array=[r[3] - r[1] for r in rows],
                     arrayminus=[r[1] - r[2] for r in rows]),
        hovertemplate="%{x}: %{y:.3f}<extra></extra>"))
    fig.update_yaxes(range=[0, 1], title_text="linear CKA")
    return base_layout(fig, title, 340, {"kind": "cka", "bars": len(rows)})


def noise_curves(levels: tuple[float, ...], acc: dict[str, list[list[float]]],
                 title: str = "Test accuracy with Gaussian noise added to the pixels") -> go.Figure:
    """Return accuracy against noise σ per variant (mean line, min–max band over seeds)."""
    fig = go.Figure()
    for i, (label, runs) in enumerate(acc.items()):
        n = len(levels)
        cols = [[r[k] for r in runs] for k in range(n)]
        lo, hi, mean = [min(c) for c in cols], [max(c) for c in cols], [sum(c) / len(c) for c in cols]
        x = list(levels)
        fig.add_trace(go.Scatter(x=x + x[::-1], y=hi + lo[::-1], fill="toself", showlegend=False, hoverinfo="skip",
                                 mode="lines",
                                 fillcolor=_rgba(variant_color(i), 0.18), line=dict(width=0)))
        fig.add_trace(go.Scatter(x=x, y=mean, name=label, mode="lines+markers", line=dict(color=variant_color(i)),
                                 hovertemplate=f"{label}<br>σ = %{{x}}: %{{y:.3f}}<extra></extra>"))
    fig.update_xaxes(title_text="noise σ (pixels in [0, 1])")
    fig.update_yaxes(title_text="test accuracy", range=[0, 1.02])
    return _legend(base_layout(fig, title, 320, {"kind": "noise", "variants": list(acc)}))


def lr_sweep(final: dict[str, dict[float, list[float]]], diverged: dict[str, dict[float, list[bool]]] | None = None,
             title: str = "Final test accuracy at each learning rate (one dot per seed, ✕ diverged)") -> go.Figure:
    """Return final accuracy against learning rate, per variant: the mean line and every seed's dot.

    `diverged` (same shape as `final`) marks the seeds that diverged: drawn as ✕ and named in the hover.
    """
    fig = go.Figure()
    for i, (label, by_lr) in enumerate(final.items()):
        lrs = sorted(by_lr)
        flags = [d for lr in lrs for d in (diverged or {}).get(label, {}).get(lr, [False] * len(by_lr[lr]))]
        fig.add_trace(go.Scatter(x=lrs, y=[sum(by_lr[lr]) / len(by_lr[lr]) for lr in lrs], name=label,
                                 mode="lines", line=dict(color=variant_color(i), width=2.5)))
        fig.add_trace(go.Scatter(x=[lr for lr in lrs for _ in by_lr[lr]], y=[a for lr in lrs for a in by_lr[lr]],
                                 mode="markers", showlegend=False, text=["diverged" if d else "" for d in flags],
                                 marker=dict(color=variant_color(i), size=[11 if d else 8 for d in flags], opacity=0.8,
                                             symbol=["x" if d else "circle" for d in flags]),
                                 hovertemplate=f"{label}<br>lr %{{x}}: %{{y:.3f}} %{{text}}<extra></extra>"))
    lrs = sorted({lr for by_lr in final.values() for lr in by_lr})  # ticks at the rates tried, not at 3, 4, 5 …
    fig.update_xaxes(type="log", title_text="learning rate (SGD, momentum 0.9, cosine decay)", tickvals=lrs,
                     ticktext=[f"{lr:g}" for lr in lrs])
    fig.update_yaxes(title_text="test accuracy", range=[0, 1.02])
    return _legend(base_layout(fig, title, 340, {"kind": "lr_sweep", "variants": list(final)}))
