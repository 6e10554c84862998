"""The mini-training lab: data sets, matched parameters, deterministic shared runs, probes, the download code."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from resnext_viz.train import data as D
from resnext_viz.train import models as M
from resnext_viz.train import probes as P
from resnext_viz.train import runner as R


@pytest.fixture
def registry():
    reg = R.Registry()
    yield reg
    reg.clear()


def _wait(job: R.Job) -> None:
    while job.thread is not None and job.thread.is_alive():
        job.thread.join(timeout=60)


# ---- data

def test_digits_are_sklearns_with_a_fixed_stratified_split():
    from sklearn.datasets import load_digits

    ds, raw = D.digits(), load_digits()
    assert ds.x_train.shape[1:] == (1, 8, 8) and len(ds.y_train) + len(ds.y_test) == 1797
    assert ds.x_train.max() == 1.0 and ds.x_train.min() == 0.0
    # the same images as load_digits: every test image is one of sklearn's, with its label
    flat = {(row.tobytes(), int(t)) for row, t in zip((raw.images / 16).astype(np.float32).reshape(1797, -1),
                                                       raw.target)}
    assert all((x.reshape(-1).tobytes(), int(t)) in flat for x, t in zip(ds.x_test, ds.y_test))
    assert np.array_equal(D.digits().y_test, ds.y_test)  # fixed split
    assert set(np.bincount(ds.y_test)) <= {35, 36, 37}  # stratified: about 20 % of each class


def test_gratings_need_colour_and_orientation():
    ds = D.gratings(seed=3, per_class=20)
    assert ds.shape == (3, 16, 16) and len(ds.classes) == 10
    assert np.array_equal(ds.x_train, D.gratings(seed=3, per_class=20).x_train)
    assert not np.array_equal(ds.x_train, D.gratings(seed=4, per_class=20).x_train)
    x, y = np.concatenate([ds.x_train, ds.x_test]), np.concatenate([ds.y_train, ds.y_test])
    colour = x.mean(axis=(2, 3))  # (N, 3)
    # classes 0 and 1 share a hue (colours alike), classes 0 and 2 share an orientation but not a hue
    assert np.abs(colour[y == 0].mean(0) - colour[y == 1].mean(0)).max() < 0.03
    assert np.abs(colour[y == 0].mean(0) - colour[y == 2].mean(0)).max() > 0.1
    vertical_energy = np.abs(np.diff(x, axis=3)).mean(axis=(1, 2, 3))  # changes along width: vertical stripes
    assert vertical_energy[y == 1].mean() > 1.5 * vertical_energy[y == 0].mean()


def _fake_cifar(tmp_path: Path) -> Path:
    path = tmp_path / "src.tar.gz"
    rng = np.random.default_rng(0)
    with tarfile.open(path, "w:gz") as tar:
        for name, n in (("data_batch_1", 6), ("test_batch", 4), ("batches.meta", 0)):
            obj = ({"label_names": [f"c{i}" for i in range(10)]} if n == 0 else
                   {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "labels": list(range(n))})
            blob = pickle.dumps(obj)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return path


class _Response(io.BytesIO):
    def __init__(self, blob: bytes, length: int | None = None):
        super().__init__(blob)
        self.headers = {"Content-Length": str(len(blob) if length is None else length)}


def test_download_in_chunks_checks_the_hash_caches_and_reports_progress(tmp_path, monkeypatch):
    monkeypatch.delenv(D.OFFLINE_ENV, raising=False)
    monkeypatch.setattr(D, "CHUNK_BYTES", 100)
    blob = _fake_cifar(tmp_path).read_bytes()
    md5 = hashlib.md5(blob).hexdigest()
    calls, seen = [], []
    opener = lambda req, timeout: calls.append(req.full_url) or _Response(blob)  # noqa: E731
    dest = tmp_path / "cache" / "c.tar.gz"
    D.download("https://example.invalid/c.tar.gz", dest, md5, "md5", lambda d, t: seen.append((d, t)), opener)
    assert dest.read_bytes() == blob and len(calls) == 1
    assert seen[-1] == (len(blob), len(blob)) and len(seen) == -(-len(blob) // 100)  # one call per chunk
    D.download("https://example.invalid/c.tar.gz", dest, md5, "md5", None, opener)  # cached: no second fetch
    assert len(calls) == 1
    ds = D.read_cifar_archive(dest)
    assert ds.x_train.shape == (6, 3, 32, 32) and ds.x_test.shape == (4, 3, 32, 32) and ds.classes[0] == "c0"
    # a wrong hash: thrown away, nothing left behind
    with pytest.raises(D.DownloadUnavailable, match="not"):
        D.download("https://example.invalid/c.tar.gz", tmp_path / "bad.tar.gz", "0" * 64, "sha256", None, opener)
    assert not (tmp_path / "bad.tar.gz").exists() and not list(tmp_path.glob(".bad*"))
    # a connection that closes early
    with pytest.raises(D.DownloadUnavailable, match="closed after"):
        D.download("https://x.invalid/a", tmp_path / "short", md5, "md5", None,
                   lambda req, timeout: _Response(blob[:50], len(blob)))


def test_file_url_and_offline_messages(tmp_path, monkeypatch):
    src = _fake_cifar(tmp_path)
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    monkeypatch.delenv(D.OFFLINE_ENV, raising=False)
    out = D.download(src.as_uri(), tmp_path / "copy.tar.gz", sha)  # the real urlopen, on a file:// URL
    assert out.read_bytes() == src.read_bytes()
    with pytest.raises(D.DownloadUnavailable, match="could not be reached.*offline"):
        D.download((tmp_path / "missing.tar.gz").as_uri(), tmp_path / "m.tar.gz", sha)
    monkeypatch.setenv(D.OFFLINE_ENV, "1")
    with pytest.raises(D.DownloadUnavailable, match="offline mode.*digits and gratings still work"):
        D.download("https://example.invalid/x", tmp_path / "x.tar.gz", sha)


# ---- models

def test_matched_parameters_within_two_percent_and_matched_width_smaller():
    for in_ch in (1, 3):
        dense, grouped, thin = M.variants(in_ch, 10)
        counts = [sum(p.numel() for p in M.build(v, in_ch, 10, 0).parameters()) for v in (dense, grouped, thin)]
        assert counts == [M.param_count(v, in_ch) for v in (dense, grouped, thin)]
        assert abs(counts[1] - counts[0]) / counts[0] < 0.02
        assert grouped.C == 8 and grouped.width > dense.width  # the saving spent on width (Table 2's way)
        assert thin.width == dense.width and counts[2] < 0.6 * counts[0]
        net = M.build(grouped, in_ch, 10, 0)
        assert net.block1.conv2.groups == 8 and net.block1.conv2.weight.shape[1] == grouped.d


# ---- runs

def _tiny(**kw) -> R.Experiment:
    return R.experiment(**{"epochs": 2, "seeds": (0, 1), "variants": ("grouped",), **kw})


def test_same_seed_same_curves_different_seeds_differ(registry):
    job = registry.request(_tiny())
    _wait(job)
    a0, a1 = job.runs
    other = R.Registry()
    job2 = other.request(_tiny())
    _wait(job2)
    b0 = job2.runs[0]
    curve = lambda r: [(e.train_loss, e.test_loss, e.test_acc, e.grad_norms) for e in r.history]  # noqa: E731
    assert curve(a0) == curve(b0) and len(a0.history) == 3
    assert curve(a0) != curve(a1)
    assert all(r.state == "done" for r in job.runs) and a0.noise_acc and len(a0.noise_acc) == len(P.NOISE_LEVELS)
    # the trained weights come back as a fresh network that scores what the run recorded
    from resnext_viz.train.evidence import trained_net

    net = trained_net(a0)
    ds = R.load_dataset("digits")
    _, acc = P.accuracy(net, torch.from_numpy(ds.x_test), torch.from_numpy(ds.y_test))
    assert acc == a0.history[-1].test_acc and not any(p.requires_grad for p in net.parameters())


def test_default_nets_reach_85_percent_on_digits(registry):
    job = registry.request(R.experiment(variants=("dense", "grouped"), seeds=(0,)))
    _wait(job)
    for run in job.runs:
        assert run.state == "done", run.error
        assert run.epochs_done == R.PRESETS["default"].epochs
        assert run.history[-1].test_acc >= 0.85, (run.config.variant, run.history[-1].test_acc)


def test_shared_runs_train_once_and_no_thread_is_left(registry):
    exp = _tiny(seeds=(5,))
    jobs = [None] * 6
    def ask(i):
        jobs[i] = registry.request(exp)
    threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(j is jobs[0] for j in jobs)
    _wait(jobs[0])
    assert registry.trainings == 1 and registry.threads() == []
    # a later experiment that contains the finished run reuses it
    later = registry.request(_tiny(seeds=(5, 6)))
    _wait(later)
    assert registry.trainings == 2 and later.runs[0] is jobs[0].runs[0]


def test_pause_step_resume_stop(registry):
    job = registry.request(_tiny(epochs=3, seeds=(0,)), start=False)
    job.step()
    _wait(job)
    assert [r.epochs_done for r in job.runs] == [1] and job.paused and not job.alive
    done, total = job.progress()
    assert (done, total) == (1, 3) and job.eta_seconds() > 0
    job.resume()
    _wait(job)
    assert job.runs[0].state == "done" and job.progress() == (3, 3)
    stopped = registry.request(_tiny(epochs=3, seeds=(9,)), start=False)
    stopped.stop()
    assert stopped.runs[0].state == "stopped" and stopped.done
    fresh = registry.request(_tiny(epochs=3, seeds=(9,)), start=False)  # Run after Stop: trained afresh
    assert fresh is not stopped and fresh.runs[0] is not stopped.runs[0] and fresh.runs[0].state == "queued"


@pytest.mark.parametrize("change, words", [
    ({"epochs": 0}, "epochs must be 1–40"), ({"epochs": 41}, "epochs must be"),
    ({"seeds": tuple(range(6))}, "seeds must be 1–5"), ({"seeds": (1, 1)}, "distinct"),
    ({"lrs": (5.0,)}, "learning rate"), ({"variants": ("wide",)}, "variants"), ({"dataset": "mnist"}, "unknown data set"),
])
def test_bounds_are_checked_before_any_work(registry, change, words):
    with pytest.raises(ValueError, match=words):
        registry.request(R.experiment(**change))
    assert registry.trainings == 0 and registry.jobs == {}


def test_time_bound_refuses_with_a_message(registry, monkeypatch):
    monkeypatch.setenv(R.MAX_SECONDS_ENV, "1")
    with pytest.raises(ValueError, match="about .* s, over this server's bound of 1 s"):
        registry.request(R.experiment())


# ---- probes

def test_interference_other_groups_exactly_zero_every_logit_moves():
    ds = D.digits()
    _, grouped, _ = M.variants()
    net = M.build(grouped, 1, 10, seed=1)
    x, y = torch.from_numpy(ds.x_test[:64]), torch.from_numpy(ds.y_test[:64])
    for g in (0, 5):
        res = P.interference_check(net, x, y, group=g)
        assert res.weight_change_outside == 0.0
        assert res.group_change[g] > 0 and res.others_exactly_zero
        assert [i for i, c in enumerate(res.group_change) if c == 0.0] == [i for i in range(8) if i != g]
        assert res.every_logit_moved
    with pytest.raises(ValueError, match="grouped layer"):
        P.interference_check(M.build(M.variants()[0], 1, 10, 0), x, y, 0)


def test_linear_cka_against_its_definition():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(50, 7, generator=g, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(7, 7, generator=g, dtype=torch.float64))
    assert P.linear_cka(x, x @ q * 3.0) == pytest.approx(1.0)  # invariant to rotation and scale
    y = torch.randn(50, 5, generator=g, dtype=torch.float64)
    xc, yc = x - x.mean(0), y - y.mean(0)
    feature_form = (yc.T @ xc).norm() ** 2 / ((xc.T @ xc).norm() * (yc.T @ yc).norm())  # Kornblith eq. (linear)
    assert P.linear_cka(x, y) == pytest.approx(float(feature_form))


def test_group_grad_norms_match_the_gradient_slices():
    net = M.build(M.variants()[1], 1, 10, 0)
    x = torch.from_numpy(D.digits().x_train[:16])
    net(x).sum().backward()
    w = net.block1.conv2.weight.grad
    norms = P.group_grad_norms(net)
    assert len(norms) == 8
    assert norms == pytest.approx([float(w[i * 4:(i + 1) * 4].norm()) for i in range(8)])
    assert np.isclose(np.sqrt(np.sum(np.square(norms))), float(w.norm()))


def test_cifar_is_refused_before_work_until_downloaded(registry, monkeypatch, tmp_path):
    monkeypatch.setenv(D.CACHE_ENV, str(tmp_path))
    with pytest.raises(ValueError, match="not downloaded yet"):
        registry.request(R.experiment(dataset="cifar10", seeds=(0,), epochs=1))
    assert registry.jobs == {} and D.cifar_path() == tmp_path / "cifar-10-python.tar.gz"


def test_finished_jobs_and_runs_are_bounded(registry, monkeypatch):
    monkeypatch.setattr(R, "MAX_JOBS_KEPT", 2)
    for seed in range(4):
        registry.request(_tiny(seeds=(seed,)), start=False).stop()
    assert len(registry.jobs) <= 3  # the bound is applied as each new job arrives
    assert registry.job(_tiny(seeds=(3,))) is not None and registry.job(_tiny(seeds=(0,))) is None
