"""The browser benchmark and its floor page run in a short mode, so they cannot rot (no timing is asserted)."""

import json
import math
import os
import subprocess
import sys

from tests.conftest import ROOT, require_chromium


def test_bench_browser_short_mode_measures_an_interaction_the_floor_and_a_cold_start(tmp_path):
    require_chromium()
    out = subprocess.run([sys.executable, "bench/bench_browser.py", "--rounds", "2", "--only", "Connectivity",
                          "--cold", "1", "--cold-pages", "parameters"], cwd=ROOT, capture_output=True, text=True,
                         timeout=900, env={**os.environ, "BENCH_RESULTS": str(tmp_path)})
    assert out.returncode in (0, 1), out.stdout[-3000:] + out.stderr[-3000:]  # 1: a target missed, not a crash
    result = json.loads((tmp_path / "browser.json").read_text())
    raw = result["raw"]["interactions"]
    assert set(raw) == {"Connectivity: change groups", "Connectivity: highlight a group"}
    for name, r in raw.items():
        assert len(r["app_ms"]) >= 1 and len(r["floor_ms"]) >= 1, name
        assert all(math.isfinite(v) and v > 0 for v in r["app_ms"] + r["floor_ms"]), name
    names = [r["name"] for r in result["rows"]]
    assert "Connectivity: highlight a group (÷ floor)" in names
    cold = result["raw"]["cold_start"]["parameters"][0]
    assert 0 < cold["health_s"] <= cold["visible_s"] <= cold["drawn_s"]
    assert "load average" in out.stdout and "Connectivity: change groups" in out.stdout
