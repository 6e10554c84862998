"""Weights: every source, every failure, and what the page is told. Nothing touches the network."""

from __future__ import annotations

import functools
import hashlib
import io
import math
import urllib.error

import pytest
import torch

from resnext_viz.inside import weights
from resnext_viz.inside.weights import (CHUNK_BYTES, WEIGHTS, WeightsSpec, imagenet_classes, load_model, random_model,
                                 top_k)

X = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(7))  # small input: fast forward


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Own hub dir, no env overrides, and a network that fails the test if anything dials it."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv(weights.WEIGHTS_ENV, raising=False)
    monkeypatch.delenv(weights.OFFLINE_ENV, raising=False)

    def no_network(*args, **kwargs):
        raise AssertionError("the network was dialled")
    monkeypatch.setattr(weights, "urlopen", no_network)


@pytest.fixture(scope="module")
def trained():
    """A stand-in for published weights: a differently seeded model and its state dict file's bytes."""
    model = random_model(seed=123)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return model, buffer.getvalue()


def _outputs(model):
    with torch.no_grad():
        return model(X)


def _save(tmp_path, state, name="weights.pth"):
    path = tmp_path / name
    torch.save(state, path)
    return path


def _checkpoints(tmp_path):
    return tmp_path / "torch_home" / "hub" / "checkpoints"


def _spec_for(data: bytes, variant="IMAGENET1K_V2") -> WeightsSpec:
    prefix = hashlib.sha256(data).hexdigest()[:8]
    return WeightsSpec(variant, f"https://example.invalid/models/resnext50_32x4d-{prefix}.pth", resize=232, acc1=81.198)


@functools.lru_cache(maxsize=1)
def _seed_0_outputs() -> torch.Tensor:
    return _outputs(random_model(0))


def _is_fallback(loaded) -> bool:
    return (not loaded.pretrained and "random weights (seed 0)" in loaded.message
            and torch.equal(_outputs(loaded.model), _seed_0_outputs()))


def test_local_file_loads_strict_and_reproduces_the_model(tmp_path, trained):
    model, data = trained
    path = tmp_path / "mine.pth"
    path.write_bytes(data)
    loaded = load_model(local_path=path)
    assert loaded.pretrained and loaded.source == f"local file: {path}"
    assert torch.equal(_outputs(loaded.model), _outputs(model))
    assert not loaded.model.training
    assert not any(p.requires_grad for p in loaded.model.parameters())
    assert (loaded.resize, loaded.crop, loaded.mean) == (232, 224, (0.485, 0.456, 0.406))
    assert loaded.class_names[:3] == ("tench", "goldfish", "great white shark")


def test_env_var_names_the_local_file(tmp_path, trained, monkeypatch):
    path = tmp_path / "env.pth"
    path.write_bytes(trained[1])
    monkeypatch.setenv(weights.WEIGHTS_ENV, str(path))
    assert load_model("IMAGENET1K_V1").pretrained and load_model("IMAGENET1K_V1").resize == 256


def test_checkpoint_wrappers_and_dataparallel_names_are_accepted(tmp_path, trained):
    state = {f"module.{k}": v for k, v in trained[0].state_dict().items()}
    loaded = load_model(local_path=_save(tmp_path, {"state_dict": state, "epoch": 90}))
    assert loaded.pretrained and torch.equal(_outputs(loaded.model), _outputs(trained[0]))


@pytest.mark.parametrize("edit, words", [
    (lambda s: s.pop("layer1.0.conv2.weight"), "missing key layer1.0.conv2.weight"),
    (lambda s: s.update({"extra.weight": torch.zeros(3)}), "unexpected key extra.weight"),
    (lambda s: s.update({"fc.weight": torch.zeros(10, 2048)}), "key fc.weight has shape (10, 2048) but"),
    (lambda s: s.update({"fc.bias": "not a tensor"}), "entry 'fc.bias' is not a tensor"),
])
def test_bad_state_dicts_are_refused_with_the_reason(tmp_path, trained, edit, words):
    state = dict(trained[0].state_dict())
    edit(state)
    path = _save(tmp_path, state)
    loaded = load_model(local_path=path)
    assert _is_fallback(loaded)
    assert f"Could not use the weights file {path}: " in loaded.message and words in loaded.message


class _RunsCode:
    """Unpickling this would call open(marker, 'w'): the file appearing means code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_that_runs_code_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = _save(tmp_path, {"conv1.weight": torch.zeros(1), "payload": _RunsCode(marker)})
    loaded = load_model(local_path=path)
    assert _is_fallback(loaded)
    assert "not a plain state dict (refused: weights_only)" in loaded.message
    assert not marker.exists()


@pytest.mark.parametrize("content, words", [(b"GIF89a not weights", "not a PyTorch weights file"),
                                            (None, "the file does not exist")])
def test_unreadable_local_files_fall_back(tmp_path, content, words):
    path = tmp_path / "w.pth"
    if content is not None:
        path.write_bytes(content)
    loaded = load_model(local_path=path)
    assert _is_fallback(loaded) and words in loaded.message


def test_failed_download_falls_back_with_a_notice(monkeypatch):
    def unreachable(*args, **kwargs):
        raise urllib.error.URLError("no route to host")
    monkeypatch.setattr(weights, "urlopen", unreachable)
    loaded = load_model()
    assert _is_fallback(loaded)
    assert "Could not download the pretrained weights: download.pytorch.org could not be reached (no route to host)" \
        in loaded.message
    assert "resnext50_32x4d-1a0047aa.pth" in loaded.message  # says which file to fetch by hand


def test_http_error_is_named(monkeypatch):
    def not_found(request, timeout):
        raise urllib.error.HTTPError(request.full_url, 404, "Not Found", {}, None)
    monkeypatch.setattr(weights, "urlopen", not_found)
    assert "HTTP 404" in load_model().message


def test_offline_mode_and_no_download_never_dial(monkeypatch):
    assert "Downloading is turned off" in load_model(allow_download=False).message  # urlopen would fail the test
    monkeypatch.setenv(weights.OFFLINE_ENV, "1")
    loaded = load_model()
    assert _is_fallback(loaded) and "Offline mode (RESNEXT_VIZ_OFFLINE=1)" in loaded.message


def test_hub_cache_is_used_without_downloading(tmp_path, trained, monkeypatch):
    spec = _spec_for(trained[1])
    monkeypatch.setitem(WEIGHTS, "IMAGENET1K_V2", spec)
    _checkpoints(tmp_path).mkdir(parents=True)
    (_checkpoints(tmp_path) / spec.file_name).write_bytes(trained[1])
    loaded = load_model()  # urlopen fails the test if called
    assert loaded.pretrained and loaded.source.startswith("torch hub cache: ")
    assert torch.equal(_outputs(loaded.model), _outputs(trained[0]))


def test_hub_cache_file_with_the_wrong_hash_is_not_trusted(tmp_path, trained):
    _checkpoints(tmp_path).mkdir(parents=True)
    (_checkpoints(tmp_path) / "resnext50_32x4d-1a0047aa.pth").write_bytes(trained[1])  # not the published file
    loaded = load_model(allow_download=False)
    assert _is_fallback(loaded)
    assert "is unusable: its SHA-256 starts" in loaded.message and "delete it" in loaded.message


class _FakeResponse:
    """What urlopen returns: a context manager with headers and read(n), served from memory."""

    def __init__(self, data: bytes, length: int | None = None):
        self._stream = io.BytesIO(data)
        self.headers = {"Content-Length": str(len(data) if length is None else length)}

    def read(self, n=-1):
        return self._stream.read(n)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _serve(monkeypatch, data: bytes, length: int | None = None):
    seen = []

    def fake_urlopen(request, timeout):
        seen.append((request.full_url, timeout))
        return _FakeResponse(data, length)
    monkeypatch.setattr(weights, "urlopen", fake_urlopen)
    return seen


def test_chunked_download_reports_progress_and_lands_in_the_hub_cache(tmp_path, trained, monkeypatch):
    spec = _spec_for(trained[1])
    monkeypatch.setitem(WEIGHTS, "IMAGENET1K_V2", spec)
    seen = _serve(monkeypatch, trained[1])
    calls = []
    loaded = load_model(progress=lambda done, total: calls.append((done, total)))
    size = len(trained[1])
    assert seen == [(spec.url, weights.CONNECT_TIMEOUT_S)]
    assert len(calls) == math.ceil(size / CHUNK_BYTES) and calls[-1] == (size, size)
    assert all(a[0] < b[0] for a, b in zip(calls, calls[1:]))
    assert loaded.pretrained and loaded.source == f"downloaded from {spec.url}"
    assert torch.equal(_outputs(loaded.model), _outputs(trained[0]))
    assert sorted(p.name for p in _checkpoints(tmp_path).iterdir()) == [spec.file_name]  # no .partial left
    monkeypatch.setattr(weights, "urlopen", lambda *a, **k: pytest.fail("downloaded twice"))
    assert load_model().source.startswith("torch hub cache: ")


@pytest.mark.parametrize("length, words", [(None, "SHA-256 starts"), (10**9, "closed after")])
def test_bad_downloads_are_thrown_away(tmp_path, trained, monkeypatch, length, words):
    _serve(monkeypatch, trained[1], length)  # the published name's hash (1a0047aa) cannot match these bytes
    loaded = load_model()
    assert _is_fallback(loaded) and words in loaded.message
    assert list(_checkpoints(tmp_path).iterdir()) == []


def test_random_model_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    random_model(seed=5)
    assert torch.equal(state, torch.get_rng_state())


def test_unknown_variant_is_a_value_error():
    with pytest.raises(ValueError, match="IMAGENET1K_V1, IMAGENET1K_V2"):
        load_model("IMAGENET1K_V9")


def test_imagenet_classes_ship_with_the_package():
    names = imagenet_classes()
    assert len(names) == 1000 and names[:3] == ("tench", "goldfish", "great white shark")


def test_top_k_returns_names_and_probabilities_in_order():
    logits = torch.zeros(1, 1000)
    logits[0, 1], logits[0, 2] = 5.0, 3.0
    best = top_k(logits, k=3)
    assert [name for name, _ in best][:2] == ["goldfish", "great white shark"]
    expected = math.exp(5) / (math.exp(5) + math.exp(3) + 998)
    assert best[0][1] == pytest.approx(expected, rel=1e-12)
    assert top_k(torch.tensor([0.0, 1.0]), k=1, class_names=["cat", "dog"]) == [("dog", pytest.approx(0.7310585786))]
    with pytest.raises(ValueError, match="must match"):
        top_k(torch.zeros(3), class_names=["a", "b"])
    with pytest.raises(ValueError, match="between 1 and"):
        top_k(torch.zeros(3), k=4, class_names=["a", "b", "c"])
