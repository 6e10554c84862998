"""Server time of each page's rerun after a typical widget change, beside a minimal Streamlit page.

    python bench/bench_pages.py [repeats]

Measured with streamlit.testing.v1.AppTest in this process: the time of `at.run()` after one
widget change is the server's script time plus AppTest's small overhead. A minimal page
(one number input, one line of text) measured the same way gives the floor; the ratio says
how much each lesson adds to it. The pages come from common.PAGES (one line each); a page
whose file does not exist yet is skipped with a note, and a page without a registered
change gets its first number input nudged by one.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from common import ROOT, PageSpec, Row, present_pages, report

from streamlit.testing.v1 import AppTest

APP = str(ROOT / "app.py")
MINIMAL = textwrap.dedent("""
    import streamlit as st
    n = st.number_input("n", 1, 100, key="n")
    st.write(n * 2)
""")


def pick_change(at: AppTest, page: PageSpec) -> tuple[str, str, tuple]:
    """Return the page's registered change, or its first number input nudged by one (within its bounds)."""
    if page.change is not None:
        return page.change
    for w in at.number_input:
        if w.key:
            v = w.value
            other = v + 1 if w.max is None or v + 1 <= w.max else v - 1
            return "number_input", w.key, (other, v)
    raise LookupError("no keyed number input on the page: register a change for it in common.PAGES")


def time_reruns(at: AppTest, kind: str, key: str, values: tuple, repeats: int) -> list[float]:
    """Return the seconds of each rerun after alternating the widget between two values."""
    samples = []
    for i in range(repeats + 2):
        getattr(at, kind)(key=key).set_value(values[i % 2])
        t = time.perf_counter()
        at.run()
        if i >= 2:  # the first two settle caches
            samples.append(time.perf_counter() - t)
        if at.exception:
            raise RuntimeError(f"the page raised: {at.exception[0].value}")
    return samples


def measure_floor(repeats: int) -> float:
    """Return the median rerun time (s) of the minimal page."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "minimal.py"
        path.write_text(MINIMAL)
        at = AppTest.from_file(str(path), default_timeout=60)
        at.run()
        return statistics.median(time_reruns(at, "number_input", "n", (3, 4), repeats))


def main(repeats: int = 20) -> int:
    present, missing = present_pages()
    for p in missing:
        print(f"skipped {p.file}: not written yet")
    base = measure_floor(repeats)
    rows = [Row("minimal Streamlit page rerun (floor)", base * 1000, "ms")]
    for page in present:
        name = f"{page.file} rerun"
        try:
            at = AppTest.from_file(APP, default_timeout=120)
            at.run()
            at.switch_page(page.file).run()
            kind, key, values = pick_change(at, page)
            med = statistics.median(time_reruns(at, kind, key, values, repeats))
        except Exception as err:  # a page under construction must not stop the suite: say why it was skipped
            print(f"skipped {page.file}: {type(err).__name__}: {err}")
            rows.append(Row(name, float("nan"), "ms", page.rerun_target_ms, note=f"not measured: {err}"[:80]))
            continue
        target = f" ({page.source})" if page.rerun_target_ms else ""
        rows.append(Row(f"{name} after {key} change", med * 1000, "ms", page.rerun_target_ms,
                        note=f"{med / base:.1f}× the minimal page{target}"))
    rows += [Row(f"{p.file} rerun", float("nan"), "ms", p.rerun_target_ms, note=f"{p.source}; page not written yet")
             for p in missing if p.rerun_target_ms is not None]
    return report("Page rerun server time (AppTest, median)", rows, "pages",
                  {"skipped": [p.file for p in missing], "repeats": repeats})


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
