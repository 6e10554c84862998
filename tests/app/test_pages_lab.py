"""AppTest: the performance lab runs, measures a tiny sweep, keeps its results and handles bad links."""

from __future__ import annotations

import torch

from resnext_viz.conv.arithmetic import divisors
from tests.conftest import run_page

LAB = "pages/performance_lab.py"
TINY = {"lab_channels": "12", "lab_size": "6", "lab_batch": "1", "lab_budget": "3"}


def text_of(at) -> str:
    return " ".join(m.value for m in at.markdown)


def metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def test_page_opens_with_the_h100_reference_and_the_lesson():
    at = run_page(LAB)
    assert not at.exception
    assert at.title[0].value == "Performance lab"
    assert "Press **Run** to measure" in at.info[0].value
    assert len(at.get("plotly_chart")) == 3  # time ratio, speed vs intensity, bottleneck: the H100 alone
    assert not at.dataframe
    text = text_of(at)
    for cited in ("0.202 ms", "292 TFLOP/s", "0.198 ms", "9.3 TFLOP/s", "1.12 ms", "4.1 ms", "0.097 ms", "1.31 ms",
                  "CPU at batch 1"):
        assert cited in text, cited
    assert "H100, PyTorch 2.11" in " ".join(c.value for c in at.caption)
    assert at.slider(key="lab_threads").value == 1  # one thread by default: the steadiest numbers


def test_tiny_run_shows_one_row_per_group_count_and_keeps_its_results():
    at = run_page(LAB, TINY)
    assert not at.warning
    at.button(key="lab_run").click().run()
    assert not at.exception and not at.error
    conv = at.dataframe[0].value
    assert list(conv["G"]) == divisors(12) == [1, 2, 3, 4, 6, 12]
    assert {"kernel ms", "loop ms", "FLOP/byte", "kernel GFLOP/s"} <= set(conv.columns)
    assert (conv["kernel ms"] > 0).all() and conv["FLOPs ÷ dense"].iloc[-1] == round(1 / 12, 3)
    assert len(at.dataframe[1].value) == 5  # the Table 2 bottlenecks
    m = metrics(at)
    assert m["Configurations timed"] == "17 of 17"
    assert float(m["Run time"].split()[0]) <= 3 + 1.5
    assert "G = 12" in text_of(at)
    ran = m["Run time"]
    # A control change reruns the page without measuring again: the last run stays, marked as such.
    at.number_input(key="lab_batch").set_value(2).run()
    assert not at.exception
    assert "Showing the last run" in at.info[0].value
    assert metrics(at)["Run time"] == ran and len(at.dataframe[0].value) == 6


def test_run_restores_the_thread_count():
    before = torch.get_num_threads()
    at = run_page(LAB, {**TINY, "lab_channels": "2", "lab_bottleneck": "0", "lab_threads": "2"})
    at.button(key="lab_run").click().run()
    assert not at.exception and len(at.dataframe[0].value) == 2 and len(at.dataframe) == 1
    assert torch.get_num_threads() == before


def test_bad_link_values_fall_back_with_a_notice():
    at = run_page(LAB, {"lab_channels": "abc", "lab_size": "9999", "lab_dtype": "float16", "lab_threads": "0"})
    assert not at.exception
    notes = " ".join(w.value for w in at.warning)
    assert "channels" in notes and "not a whole number" in notes
    assert "feature-map size" in notes and "outside 1–224" in notes
    assert "float16" in notes and "float32" in notes
    assert "CPU threads" in notes
    assert at.number_input(key="lab_channels").value == 128 and at.number_input(key="lab_size").value == 56


def test_settings_that_do_not_fit_explain_themselves():
    at = run_page(LAB, {"lab_channels": "1024", "lab_size": "224", "lab_batch": "64"})
    assert not at.exception
    assert "limit" in at.error[0].value and "lower the batch" in at.error[0].value
    assert at.button(key="lab_run").disabled
