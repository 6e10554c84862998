"""AppTest: the training lab trains in a worker, draws curves, shares runs between sessions; the claims page."""

from __future__ import annotations

import threading

import pytest

from resnext_viz.train import runner as R
from tests.conftest import run_page

TRAIN, CLAIMS = "pages/train.py", "pages/claims.py"
TINY = {"epochs": "1", "seeds": "1"}


@pytest.fixture(autouse=True)
def fresh_registry():
    R.REGISTRY.clear()
    yield
    R.REGISTRY.clear()


def _join_workers() -> None:
    for t in R.REGISTRY.threads():
        t.join(timeout=120)


def _train_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("train-")]


def test_page_opens_with_the_networks_and_their_counts():
    at = run_page(TRAIN)
    assert not at.exception and not at.error
    assert at.title[0].value == "Train it yourself"
    table = at.dataframe[0].value
    counts = dict(zip(table["C"].astype(str) + "/" + table["d"].astype(str), table["parameters (sum p.numel())"]))
    assert counts == {"1/16": 8682, "8/4": 8554, "8/2": 4650}
    assert "Press **Run** to train" in at.info[0].value
    assert not at.get("plotly_chart")


def test_tiny_run_draws_curves_and_leaves_no_thread():
    at = run_page(TRAIN, TINY)
    at.button(key="train_run").click().run()
    assert not at.exception and not at.error
    _join_workers()
    at.run()
    assert not at.exception
    assert _train_threads() == []
    charts = at.get("plotly_chart")
    assert len(charts) >= 4  # curves, gradient norms, similarity, noise
    final = at.dataframe[-1].value
    assert len(final) == 3 and (final["seeds"] == 1).all()
    assert ((final["test accuracy"] > 0) & (final["test accuracy"] <= 1)).all()
    assert "Done" in " ".join(p.proto.text for p in at.get("progress"))
    assert R.REGISTRY.trainings == 3


def test_two_sessions_same_configuration_train_once():
    a, b = run_page(TRAIN, TINY), run_page(TRAIN, TINY)
    a.button(key="train_run").click().run()
    b.run()  # b sees the shared job without pressing anything: Run is disabled, the progress is there
    assert b.button(key="train_run").disabled
    _join_workers()
    b.run()
    a.run()
    assert R.REGISTRY.trainings == 3  # three runs (variants × 1 seed), trained once for both sessions
    assert len(b.get("plotly_chart")) == len(a.get("plotly_chart")) >= 4
    c = run_page(TRAIN, TINY)  # a later visitor sees the finished runs at once
    assert len(c.get("plotly_chart")) >= 4 and R.REGISTRY.trainings == 3


def test_step_then_resume_from_the_page():
    at = run_page(TRAIN, {"epochs": "2", "seeds": "1"})
    job = R.REGISTRY.request(R.experiment(epochs=2, seeds=(0,)), start=False)
    at.run()
    at.button(key="train_step").click().run()
    _join_workers()
    assert [r.epochs_done for r in job.runs] == [1, 1, 1] and job.paused
    at.run()
    assert "Paused" in " ".join(p.proto.text for p in at.get("progress"))
    at.button(key="train_resume").click().run()
    _join_workers()
    assert job.done and all(r.epochs_done == 2 for r in job.runs)


def test_bounds_shown_not_raised(monkeypatch):
    monkeypatch.setenv(R.MAX_SECONDS_ENV, "30")
    at = run_page(TRAIN, {"epochs": "999"})
    assert not at.exception
    assert any("epochs" in w.value for w in at.warning)  # the link's value fell back, with a notice
    at.number_input(key="train_epochs").set_value(40).run()
    at.number_input(key="train_seeds").set_value(5).run()
    assert not at.exception
    assert any("over this server's bound" in e.value for e in at.error)  # 15 runs × 40 epochs ≈ 99 s: refused before work
    assert R.REGISTRY.trainings == 0


def test_claims_page_rows_interference_and_a_measured_verdict():
    at = run_page(CLAIMS)
    assert not at.exception and not at.error
    check = at.dataframe[0].value
    assert list(check["changed"]) == ["yes"] + ["no, exactly 0"] * 7
    assert (check["max |Δ output| at block1.conv2"].iloc[1:] == "0").all()
    assert float(check["max |Δ output| at block1.conv2"].iloc[0]) > 0
    text = " ".join(m.value for m in at.markdown)
    assert "exactly 0" in text and "10 of 10 logits changed" in text
    assert text.count("**“") == 12
    assert "not measured yet" in text and "667,000,104" in text
    # after a (tiny) dense-vs-grouped run with the preset's configuration, the verdicts are computed
    job = R.REGISTRY.request(R.experiment("default", epochs=1))
    _join_workers()
    assert job.done
    at.run()
    text = " ".join(m.value for m in at.markdown)
    assert "Test accuracy at matched parameters: grouped" in text and "95 % CI" in text


def test_claims_interference_for_another_group():
    at = run_page(CLAIMS, {"group": "5"})
    assert not at.exception
    check = at.dataframe[0].value
    assert [c for c in check["changed"]] == ["no, exactly 0"] * 5 + ["yes"] + ["no, exactly 0"] * 2


@pytest.mark.parametrize("preset, chart_at_least", [("memorise", 5), ("lr_sweep", 5)])
def test_the_probe_presets_run_and_draw(preset, chart_at_least):
    at = run_page(TRAIN, {"preset": preset, **TINY})
    assert not at.exception
    at.button(key="train_run").click().run()
    _join_workers()
    at.run()
    assert not at.exception and not at.error
    assert len(at.get("plotly_chart")) >= chart_at_least  # + the memorisation curve or the learning-rate sweep
    job = R.REGISTRY.job(R.experiment(preset, epochs=1, seeds=(0,)))
    assert job is not None and job.done and all(r.state == "done" for r in job.runs)
    if preset == "memorise":  # shuffled labels: nothing to learn about the test set
        assert all(r.history[-1].test_acc < 0.3 for r in job.runs)
    if preset == "lr_sweep":  # the caption counts the diverged seeds of these very runs
        from resnext_viz.train import evidence as ev

        note = next(c.value for c in at.caption if c.value.startswith("✕ diverged"))
        gone = [(label, lr, sum(d), len(d)) for label, by in ev.lr_diverged(job.runs).items()
                for lr, d in by.items() if any(d)]
        assert all(f"{label} at lr {lr:g}: {k} of {n}" in note for label, lr, k, n in gone)
        assert ("No seed diverged" in note) == (not gone)


def test_cifar_offline_says_so_and_the_bundled_sets_still_work(monkeypatch, tmp_path):
    monkeypatch.setenv("RESNEXT_VIZ_OFFLINE", "1")
    monkeypatch.setenv("RESNEXT_VIZ_DATA", str(tmp_path))
    at = run_page(TRAIN, {"dataset": "cifar10"})
    assert not at.exception and not at.error
    assert "not on this server yet" in at.info[0].value and "Offline mode" in at.warning[0].value
    assert not at.dataframe  # no networks table, no Run, before the data exists
    at.selectbox(key="train_dataset").set_value("gratings").run()
    assert not at.exception and len(at.dataframe[0].value) == 3
