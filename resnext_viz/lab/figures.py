"""Plotly figures of the performance lab: the learner's measurements beside the ideal and the H100's.

Three figures, each built from a `lab.LabResult` (or None before the first run) and the
shipped H100 `reference.Anchor`:
- time relative to dense against G, with the FLOPs ratio 1/G as the ideal line;
- achieved GFLOP/s against arithmetic intensity (FLOPs per byte moved), one point per G;
- the Table 2 bottleneck's time relative to 1x64d, with its FLOPs ratio as the ideal.

The learner's traces are solid with filled markers, under the legend title "Measured
here"; the H100's are dotted with open markers, named "H100 …" under a legend title that
is reference.ANCHOR_LABEL, so the two never blur. Each figure records what it shows in
`layout.meta` for structural tests.
"""

from __future__ import annotations

import plotly.graph_objects as go

from resnext_viz.lab.reference import ANCHOR_LABEL, H100_PEAK, H100_PEAK_SOURCE, Anchor
from resnext_viz.lab.result import LabResult
from resnext_viz.palette import group_color
from resnext_viz.plotting import base_layout

IDEAL_COLOR = "rgba(128, 128, 128, 0.9)"  # neutral grey: readable on light and dark themes
YOURS = {"grouped kernel": group_color(0), "per-group loop": group_color(3), "bottleneck": group_color(0)}
H100 = {"grouped kernel": group_color(4), "per-group loop": group_color(1), "bottleneck": group_color(4)}
MAX_TICKS = 12  # above this many group counts, label only powers of two
IDEAL_NAME = "FLOPs ratio (ideal: time ∝ FLOPs)"


def anchor_dtype(dtype: str) -> str:
    """Return the H100 dtype to compare with: float32 for float32, bfloat16 for the 16-bit types."""
    return "float32" if dtype == "float32" else "bfloat16"


def reference_title(dtype: str | None = None) -> str:
    """Return the legend title of the H100 traces, e.g. 'H100, PyTorch 2.11, batch 64, measured (float32) …'."""
    shown = "float32 via TF32 tensor cores, PyTorch's default for convolutions" if dtype == "float32" else dtype
    return ANCHOR_LABEL + (f" ({shown})" if dtype else "") + ": not your machine"


def measured_title(result: LabResult) -> str:
    """Return the legend title of the learner's traces, e.g. 'Measured here: cpu, float32, batch 1, 1 thread'."""
    cfg = result.config
    threads = f", {result.threads} thread{'s' if result.threads > 1 else ''}" if cfg.device == "cpu" else ""
    return f"Measured here: {cfg.device}, {cfg.dtype}, batch {cfg.batch}{threads}"


def _ideal(x: list, y: list) -> go.Scatter:
    return go.Scatter(x=x, y=y, mode="lines", name=IDEAL_NAME, legendrank=1, hoverinfo="skip",
                      line=dict(color=IDEAL_COLOR, width=2, dash="dash"))


def _yours(x: list, y: list, name: str, color: str, symbol: str, hover: list[str], title: str,
           text: list[str] | None = None) -> go.Scatter:
    return go.Scatter(x=x, y=y, name=name, mode="lines+markers" + ("+text" if text else ""), text=text,
                      textposition="top center", textfont=dict(size=11),  # theme text colour: readable on both
                      line=dict(color=color, width=2.5), marker=dict(color=color, size=9, symbol=symbol),
                      hovertext=hover, hoverinfo="text", legendgroup="yours", legendgrouptitle_text=title,
                      legendrank=2)


def _reference(x: list, y: list, name: str, color: str, symbol: str, hover: list[str], dtype: str | None,
               text: list[str] | None = None) -> go.Scatter:
    return go.Scatter(x=x, y=y, name=name, mode="lines+markers" + ("+text" if text else ""), text=text,
                      textposition="middle left", textfont=dict(size=11),  # left of a rising line: clear of the loop markers below
                      line=dict(color=color, width=2, dash="dot"),
                      marker=dict(color=color, size=9, symbol=f"{symbol}-open", line=dict(width=2)),
                      hovertext=hover, hoverinfo="text", legendgroup="h100",
                      legendgrouptitle_text=reference_title(dtype), legendrank=3)


def _ticks(groups: list[int]) -> list[int]:
    if len(groups) <= MAX_TICKS:
        return groups
    powers = [g for g in groups if g & (g - 1) == 0]
    return powers + ([groups[-1]] if groups[-1] not in powers else [])


def _finish(fig: go.Figure, title: str, height: int, meta: dict) -> go.Figure:
    """Apply the house layout, then put the legend under the plot so the plot keeps the page's full width."""
    base_layout(fig, title, height, meta)
    fig.update_layout(showlegend=True, legend=dict(orientation="h", x=0, xanchor="left", y=-0.22, yanchor="top",
                                                   groupclick="toggleitem", font=dict(size=12)))
    return fig


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms"


# ---------------------------------------------------------------- time relative to dense


def time_vs_flops(result: LabResult | None, anchor: Anchor, dtype: str = "float32") -> go.Figure:
    """Return time relative to dense (G = 1) against G: the ideal 1/G line, your kernel and loop, the H100's."""
    ref_dtype = anchor_dtype(result.config.dtype if result else dtype)
    ref = anchor.conv_rows(ref_dtype)
    grouped = result.part("conv3x3", "grouped kernel") if result else []
    loop = result.part("conv3x3", "per-group loop") if result else []
    measured = bool(grouped) and grouped[0].groups == 1
    if measured:
        ideal_g, ideal = [r.groups for r in grouped], [r.flops_ratio for r in grouped]
    else:
        ideal_g, ideal = [c.groups for c in ref], [c.flops / ref[0].flops for c in ref]
    traces = [_ideal(ideal_g, ideal)]
    meta: dict = {"figure": "lab_time_ratio", "groups": ideal_g, "ideal": ideal, "measured": None, "loop": None}
    if measured:
        title = measured_title(result)
        for rows, method, symbol in ((grouped, "grouped kernel", "circle"), (loop, "per-group loop", "square")):
            if not rows:
                continue
            hover = [f"<b>your {method}, G = {r.groups}</b><br>{_ms(r.median_s)} per call<br>time "
                     f"{r.time_ratio:.3f}× dense, FLOPs {r.flops_ratio:.3f}×<br>{r.gflops_per_s:,.1f} GFLOP/s"
                     for r in rows]
            traces.append(_yours([r.groups for r in rows], [r.time_ratio for r in rows], method, YOURS[method],
                                 symbol, hover, title))
            meta["measured" if method == "grouped kernel" else "loop"] = [r.time_ratio for r in rows]
    ratio = [c.ms / ref[0].ms for c in ref]
    loop_ratio = [c.loop_ms / ref[0].ms for c in ref]
    traces.append(_reference(
        [c.groups for c in ref], ratio, "H100 grouped kernel", H100["grouped kernel"], "circle",
        [f"<b>H100 grouped kernel, G = {c.groups}</b><br>{ANCHOR_LABEL}<br>{c.ms:.3f} ms, {y:.3f}× dense, "
         f"{c.tflops_per_s:.1f} TFLOP/s" for c, y in zip(ref, ratio)], ref_dtype))
    traces.append(_reference(
        [c.groups for c in ref], loop_ratio, "H100 per-group loop", H100["per-group loop"], "square",
        [f"<b>H100 per-group loop, G = {c.groups}</b><br>{ANCHOR_LABEL}<br>{c.loop_ms:.3f} ms, {y:.2f}× dense"
         for c, y in zip(ref, loop_ratio)], ref_dtype))
    meta["reference"] = {"label": ANCHOR_LABEL, "dtype": ref_dtype, "groups": [c.groups for c in ref],
                         "ratio": ratio, "loop_ratio": loop_ratio}
    fig = go.Figure(traces)
    ticks = _ticks(sorted(set(ideal_g) | set(meta["reference"]["groups"])))
    fig.update_xaxes(type="log", title_text="groups G (log scale)", tickvals=ticks, ticktext=[str(g) for g in ticks])
    fig.update_yaxes(type="log", dtick=1, title_text="time ÷ dense time (log scale)")
    title = ("Time relative to dense (G = 1): measured against the FLOPs ratio" if measured else
             "Time relative to dense (G = 1) on an H100: press Run to add your own")
    return _finish(fig, title, 520, meta)


# ---------------------------------------------------------------- achieved speed against intensity


def speed_vs_intensity(result: LabResult | None, anchor: Anchor, dtype: str = "float32") -> go.Figure:
    """Return achieved GFLOP/s against FLOPs per byte moved (log-log), one labelled point per G."""
    ref_dtype = anchor_dtype(result.config.dtype if result else dtype)
    ref = anchor.conv_rows(ref_dtype)
    traces = []
    meta: dict = {"figure": "lab_speed", "measured": None}
    if result:
        title = measured_title(result)
        for method, symbol in (("grouped kernel", "circle"), ("per-group loop", "square")):
            rows = result.part("conv3x3", method)
            if not rows:
                continue
            hover = [f"<b>your {method}, G = {r.groups}</b><br>{r.intensity:.2f} FLOP per byte<br>"
                     f"{r.gflops_per_s:,.1f} GFLOP/s ({_ms(r.median_s)})" for r in rows]
            labels = [f"G={r.groups}" for r in rows] if method == "grouped kernel" else None
            traces.append(_yours([r.intensity for r in rows], [r.gflops_per_s for r in rows], method, YOURS[method],
                                 symbol, hover, title, labels))
            if method == "grouped kernel":
                meta["measured"] = {"groups": [r.groups for r in rows], "intensity": [r.intensity for r in rows],
                                    "gflops": [r.gflops_per_s for r in rows]}
    for loop, symbol, method in ((False, "circle", "grouped kernel"), (True, "square", "per-group loop")):
        ms = [c.loop_ms if loop else c.ms for c in ref]
        gflops = [c.flops / (t * 1e-3) / 1e9 for c, t in zip(ref, ms)]
        hover = [f"<b>H100 {method}, G = {c.groups}</b><br>{ANCHOR_LABEL}<br>{c.intensity(loop):.2f} FLOP per byte"
                 f"<br>{g:,.0f} GFLOP/s ({t:.3f} ms)" for c, g, t in zip(ref, gflops, ms)]
        traces.append(_reference([c.intensity(loop) for c in ref], gflops, f"H100 {method}", H100[method], symbol,
                                 hover, ref_dtype, None if loop else [f"G={c.groups}" for c in ref]))
        if not loop:
            meta["reference"] = {"label": ANCHOR_LABEL, "dtype": ref_dtype, "groups": [c.groups for c in ref],
                                 "gflops": gflops}
    traces += _roofline(traces, ref_dtype)
    meta["roofline"] = {"dtype": ref_dtype, "peak_gflops": H100_PEAK[ref_dtype][0] / 1e9,
                        "bandwidth_gbs": H100_PEAK[ref_dtype][1] / 1e9, "source": H100_PEAK_SOURCE,
                        "yours": None if not result else (
                            "unknown: the lab does not know this device's peak FLOP/s or bandwidth"
                            if result.config.device == "cpu" else "not drawn: only the H100's ceilings are cited")}
    fig = go.Figure(traces)
    if result and result.config.device == "cpu":
        fig.add_annotation(text="your CPU's roofline: unknown (its peaks are not measured, so none is drawn)",
                           xref="paper", yref="paper", x=0, y=1, xanchor="left", yanchor="bottom",
                           showarrow=False, font=dict(size=11))
    fig.update_xaxes(type="log", dtick=1, title_text="arithmetic intensity: FLOPs per byte moved (log scale)")
    fig.update_yaxes(type="log", dtick=1, title_text="achieved GFLOP/s (log scale)")
    return _finish(fig, "Achieved speed against FLOPs per byte moved: fewer FLOPs per byte, fewer FLOPs per second",
                   520, meta)


ROOF_FLOPS_NAME = "H100 peak FLOP/s (datasheet)"
ROOF_BW_NAME = "H100 peak bandwidth (datasheet)"


def _roofline(traces: list, dtype: str) -> list[go.Scatter]:
    """Return the H100's two roofline ceilings (GFLOP/s): bandwidth x intensity up to the balance point, then peak."""
    peak, bw = H100_PEAK[dtype]
    xs = [x for t in traces for x in t.x if x and x > 0]
    lo, hi = min(xs + [1.0]) / 2, max(xs + [1000.0]) * 2
    balance = peak / bw
    style = dict(mode="lines", line=dict(color="#555555", width=1.5, dash="dot"), legendgroup="roofline",
                 legendgrouptitle_text=f"H100 ceilings ({H100_PEAK_SOURCE.split(':')[0]})")
    return [
        go.Scatter(x=[lo, balance], y=[bw * lo / 1e9, peak / 1e9], name=ROOF_BW_NAME,
                   hovertemplate=f"{bw / 1e12:.2f} TB/s × intensity<extra></extra>", **style),
        go.Scatter(x=[balance, hi], y=[peak / 1e9, peak / 1e9], name=ROOF_FLOPS_NAME,
                   hovertemplate=f"{peak / 1e12:.1f} TFLOP/s ({dtype}); balance point {balance:.0f} FLOP/B"
                                 "<extra></extra>", **style),
    ]


# ---------------------------------------------------------------- the Table 2 bottleneck


def bottleneck_ratio(result: LabResult | None, anchor: Anchor) -> go.Figure:
    """Return the Table 2 bottleneck's time relative to 1x64d per cardinality, with its FLOPs ratio as the ideal."""
    ref = anchor.block_rows(64)
    rows = result.part("bottleneck") if result else []
    measured = bool(rows) and rows[0].groups == 1
    names = [f"{b.C}×{b.d}d" for b in ref]
    if measured:
        x, ideal = [f"{r.groups}×{r.d}d" for r in rows], [r.flops_ratio for r in rows]
    else:
        x, ideal = names, [b.macs / ref[0].macs for b in ref]
    traces = [_ideal(x, ideal)]
    meta: dict = {"figure": "lab_bottleneck", "ideal": ideal, "measured": None}
    if measured:
        hover = [f"<b>your {r.groups}×{r.d}d</b><br>{_ms(r.median_s)}, {r.time_ratio:.3f}× 1×64d<br>"
                 f"FLOPs {r.flops_ratio:.3f}×, {r.gflops_per_s:,.1f} GFLOP/s" for r in rows]
        traces.append(_yours(x, [r.time_ratio for r in rows], "bottleneck", YOURS["bottleneck"], "circle", hover,
                             measured_title(result)))
        meta["measured"] = [r.time_ratio for r in rows]
    ratio = [b.fwd_ms / ref[0].fwd_ms for b in ref]
    traces.append(_reference(names, ratio, "H100 bottleneck", H100["bottleneck"], "circle",
                             [f"<b>H100 {n}</b><br>{ANCHOR_LABEL}<br>{b.fwd_ms:.3f} ms forward, {y:.2f}× 1×64d"
                              for n, b, y in zip(names, ref, ratio)], None))
    meta["reference"] = {"label": ANCHOR_LABEL, "C": [b.C for b in ref], "ratio": ratio}
    fig = go.Figure(traces)
    fig.update_xaxes(type="category", title_text="cardinality C × width per group d (the paper's Table 2)")
    fig.update_yaxes(title_text="time ÷ time of 1×64d", rangemode="tozero")
    return _finish(fig, "Bottleneck at preserved complexity: about the same FLOPs, not the same time", 460, meta)
