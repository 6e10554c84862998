"""Server time of each page's rerun after a typical widget change, beside a minimal Streamlit page.

Measured with streamlit.testing.v1.AppTest in this process: the time of `at.run()` after one
widget change is the server's script time plus AppTest's small overhead. A minimal page
(one number input, one line of text) measured the same way gives the floor; the ratio says
how much each lesson adds to it.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from common import ROOT, Row, report

from streamlit.testing.v1 import AppTest

APP = str(ROOT / "app.py")
MINIMAL = textwrap.dedent("""
    import streamlit as st
    n = st.number_input("n", 1, 100, key="n")
    st.write(n * 2)
""")

# page -> (widget kind, key, two values to alternate between, target ms or None)
CHANGES: dict[str, tuple[str, str, tuple, float | None]] = {
    "pages/parameters.py": ("number_input", "conv_groups", (16, 32), 50),
    "pages/connectivity.py": ("number_input", "conv_groups", (16, 32), None),
    "pages/cardinality.py": ("number_input", "card_budget", (70_000, 69_632), 100),
    "pages/resnet_vs_resnext.py": ("selectbox", "rvr_pair", ("101-32x8d", "50"), 100),
    "pages/block_builder.py": ("number_input", "blk_cardinality", (16, 32), None),
    "pages/three_forms.py": ("number_input", "forms_C", (16, 32), None),
}


def time_reruns(at: AppTest, kind: str, key: str, values: tuple, repeats: int) -> list[float]:
    """Return the seconds of each rerun after alternating the widget between two values."""
    samples = []
    for i in range(repeats + 2):
        getattr(at, kind)(key=key).set_value(values[i % 2])
        t = time.perf_counter()
        at.run()
        if i >= 2:  # the first two settle caches
            samples.append(time.perf_counter() - t)
        assert not at.exception, at.exception
    return samples


def main(repeats: int = 20) -> int:
    rows = []
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "minimal.py"
        path.write_text(MINIMAL)
        at = AppTest.from_file(str(path), default_timeout=60)
        at.run()
        base = statistics.median(time_reruns(at, "number_input", "n", (3, 4), repeats))
    rows.append(Row("minimal Streamlit page rerun (floor)", base * 1000, "ms"))
    for page, (kind, key, values, target) in CHANGES.items():
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()
        at.switch_page(page).run()
        med = statistics.median(time_reruns(at, kind, key, values, repeats))
        rows.append(Row(f"{page} rerun after {key} change", med * 1000, "ms", target,
                        note=f"{med / base:.1f}× the minimal page"))
    return report("Page rerun server time (AppTest, median)", rows, "pages")


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
