"""The background warm-up hands what it loaded to gc.freeze, so Streamlit's post-run gc.collect(2) skips it."""

from __future__ import annotations

import gc

import pytest


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def _boom(*_a, **_k):
    raise RuntimeError("no torch today")


def test_freeze_takes_live_objects_out_of_the_collectors_generations(unfrozen):
    from resnext_viz.ui.warm import freeze_long_lived

    keep = [{"n": i} for i in range(20_000)]  # dicts are tracked by the cyclic collector
    before = len(gc.get_objects())
    freeze_long_lived()
    assert gc.get_freeze_count() >= len(keep)
    assert len(gc.get_objects()) < before - len(keep)  # what a collection walks shrank by at least these
    del keep


def test_a_failed_background_load_still_freezes(unfrozen, monkeypatch):
    from resnext_viz.conv import torch_check
    from resnext_viz.ui import warm

    monkeypatch.setattr(torch_check, "pytorch_counts", _boom)
    warm._load()  # logs the failure, raises nothing
    assert gc.get_freeze_count() > 0


def test_the_training_warm_up_freezes_even_when_it_fails(unfrozen, monkeypatch):
    from resnext_viz.ui import train

    monkeypatch.setattr(train.R, "warm", _boom)
    with pytest.raises(RuntimeError):
        train._warm_and_freeze()
    assert gc.get_freeze_count() > 0


def test_exit_waits_for_a_load_still_running(monkeypatch):
    # A daemon thread still inside torch at interpreter exit aborted a passing test run (status 134).
    import threading
    import time

    from resnext_viz.ui import warm

    thread = threading.Thread(target=time.sleep, args=(0.3,), daemon=True)
    thread.start()
    monkeypatch.setattr(warm, "_model_thread", thread)
    warm._wait_at_exit()
    assert not thread.is_alive()
