"""Connectivity figure build time and size, and export time cold and warm (issue: Foundation)."""

from __future__ import annotations

import time

from common import Row, median_time, report

from resnext_viz.conv import arithmetic as cm
from resnext_viz import export as ex
from resnext_viz.conv import figures as F


def main() -> int:
    rows = []
    for (c_in, c_out, g), target_ms, label in (((64, 128, 32), 30, "64→128 G=32, every edge"),
                                               ((2048, 2048, 32), 100, "2048→2048 G=32, bands")):
        med, _ = median_time(lambda: F.bipartite(c_in, c_out, g), repeats=25)
        rows.append(Row(f"connectivity figure build, {label}", med * 1000, "ms", target_ms))
        size = len(F.bipartite(c_in, c_out, g).to_json()) / 1000
        rows.append(Row(f"connectivity figure JSON, {label}", size, "KB", 300 if c_in == 2048 else None))
    for name, build in (("connection mask 2048→2048", lambda: F.connection_mask(2048, 2048, 32)),
                        ("weight slices 2048→2048", lambda: F.weight_slices(cm.ConvSpec(2048, 2048, groups=32))),
                        ("params vs groups chart", lambda: F.params_vs_groups(cm.sweep_groups(cm.ConvSpec()), 32))):
        med, _ = median_time(build, repeats=15)
        rows.append(Row(f"{name} build", med * 1000, "ms"))
    fig = F.bipartite(64, 128, 32)
    med, _ = median_time(lambda: ex.to_html(fig), repeats=5)
    rows.append(Row("HTML export (no browser)", med, "s", 0.5))
    if ex.find_browser():
        t = time.perf_counter()
        ex.to_static(fig, "png")
        rows.append(Row("first PNG export (starts the export server)", time.perf_counter() - t, "s", 5))
        for fmt in ("png", "svg", "pdf"):
            med, _ = median_time(lambda: ex.to_static(fig, fmt), repeats=5, warmup=1)
            rows.append(Row(f"warm {fmt.upper()} export", med, "s", 0.5))
    else:
        rows.append(Row("static export: no Chrome/Chromium found", float("nan"), "s", note="skipped"))
    return report("Figures and export", rows, "figures")


if __name__ == "__main__":
    raise SystemExit(main())
