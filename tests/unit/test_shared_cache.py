"""A class on one picture computes each heavy result once: the per-image caches are shared across sessions.

Thirty learners opening Group features on the same sample at the same moment are thirty script threads
asking for the same (image, layer): the result must be computed by one of them and read by the others.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import numpy as np

from resnext_viz.inside import summaries
from resnext_viz.ui import inside


def test_thirty_concurrent_sessions_on_one_picture_compute_its_features_once(monkeypatch):
    calls = []

    def slow_features(model, layer, x):
        calls.append(layer)
        time.sleep(0.3)  # long enough that every thread asks while the first one computes
        return {"layer": layer, "mean": float(x.mean())}

    monkeypatch.setattr(summaries, "layer_features", slow_features)
    inside.clear_image_caches()
    loaded = SimpleNamespace(source="test", model=None, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    chosen = SimpleNamespace(key="shared-picture", crop=np.full((8, 8, 3), 128, np.uint8))
    results, barrier = [], threading.Barrier(30)

    def learner():
        barrier.wait()
        results.append(inside.features(loaded, chosen, "layer1.0.conv2"))

    threads = [threading.Thread(target=learner) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 30 and all(r == results[0] for r in results)
    assert calls == ["layer1.0.conv2"]
    # another layer of the same picture is another entry, computed once too
    inside.features(loaded, chosen, "layer2.0.conv2")
    inside.features(loaded, chosen, "layer2.0.conv2")
    assert calls == ["layer1.0.conv2", "layer2.0.conv2"]
    inside.clear_image_caches()


def test_per_image_caches_are_bounded_in_count_and_age():
    for cached in (inside._features_cached, inside._baselines_cached, inside._builder_cached,
                   inside._predictions_cached, inside._gradients_cached, inside._locality_cached):
        info = cached._info
        assert info.max_entries and info.max_entries <= 48, cached
        assert info.ttl == 3600, cached
