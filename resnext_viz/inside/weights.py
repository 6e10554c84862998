"""Pretrained ResNeXt-50 weights: a local file, the torch hub cache, or one download; else random.

Every path ends in a working model. When the published weights cannot be had (offline, a
bad file, a failed download) the model gets seeded random weights and `message` says so in
a plain sentence, so a page can always show something and never pretends. Files are read
with `weights_only=True` (no pickled code runs) and loaded with `strict=True`.
"""

from __future__ import annotations

import hashlib
import http.client
import math
import os
import pickle
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from urllib.request import urlopen

import torch
from torch import nn

from resnext_viz.blocks.resnet import MODEL_FACTORIES, ResNet
from resnext_viz.download import Truncated, fetch
from resnext_viz.inside.images import IMAGENET_MEAN, IMAGENET_STD

__all__ = [
    "OFFLINE_ENV",
    "WEIGHTS",
    "WEIGHTS_ENV",
    "LoadedModel",
    "WeightsSpec",
    "imagenet_classes",
    "load_model",
    "random_model",
    "top_k",
]

WEIGHTS_ENV = "RESNEXT_VIZ_WEIGHTS"  # path of a local state dict; when set, nothing else is tried
OFFLINE_ENV = "RESNEXT_VIZ_OFFLINE"  # "1": never try the network (CI, air-gapped classrooms)
CONNECT_TIMEOUT_S = 5.0  # the longest a page waits to learn the network is unreachable (also per read)
CHUNK_BYTES = 1 << 20  # 1 MiB: about 100 progress updates for the ~100 MB file
RANDOM_SEED = 0  # the fallback's weights are the same on every machine and every run

Progress = Callable[[int, "int | None"], None]  # (bytes done, total bytes or None when unknown)


@dataclass(frozen=True)
class WeightsSpec:
    """One published set of resnext50_32x4d weights and the preprocessing it was trained with."""

    variant: str
    url: str
    resize: int  # short side before the centre crop, pixels
    acc1: float  # ImageNet-1k top-1 accuracy, percent, as published
    crop: int = 224  # the network's input side, pixels
    recipe: str = ""  # whose training produced the weights, said wherever acc1 is shown

    @property
    def accuracy_note(self) -> str:
        """Return e.g. 'ImageNet top-1 81.2%, torchvision's retrained recipe, not the paper's model'."""
        return f"ImageNet top-1 {self.acc1:.1f}%" + (f", {self.recipe}" if self.recipe else "")

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    @property
    def sha256_prefix(self) -> str:
        """Return the start of the file's SHA-256 hex digest, as torch hub names files (`name-<hash>.pth`)."""
        found = re.search(r"-([a-f0-9]+)\.", self.file_name)
        return found.group(1) if found else ""


WEIGHTS: dict[str, WeightsSpec] = {
    "IMAGENET1K_V1": WeightsSpec("IMAGENET1K_V1", "https://download.pytorch.org/models/resnext50_32x4d-7cdf4587.pth",
                                 resize=256, acc1=77.618),
    "IMAGENET1K_V2": WeightsSpec("IMAGENET1K_V2", "https://download.pytorch.org/models/resnext50_32x4d-1a0047aa.pth",
                                 resize=232, acc1=81.198,
                                 recipe="torchvision's retrained recipe, not the paper's model "
                                        "(the paper reports 22.2% top-1 error)"),
}


@dataclass(frozen=True)
class LoadedModel:
    """A ready ResNeXt-50 (eval mode, no parameter requires grad) and what the page should say about it."""

    model: ResNet
    pretrained: bool  # False: seeded random weights, predictions are meaningless
    variant: str  # the WEIGHTS key that was asked for
    source: str  # where the weights came from, e.g. "torch hub cache: /root/.cache/.../x.pth"
    message: str  # one or two plain sentences for the page
    resize: int  # preprocessing: short side before the crop, pixels
    crop: int  # preprocessing: centre crop side, pixels
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    class_names: tuple[str, ...]


class _Unusable(Exception):
    """A weights source that cannot be used; the message completes 'Could not use ...: <message>'."""


@lru_cache(maxsize=1)
def imagenet_classes() -> tuple[str, ...]:
    """Return the 1000 ImageNet class names in index order (0 'tench', 1 'goldfish', ...)."""
    text = resources.files("resnext_viz").joinpath("data/imagenet_classes.txt").read_text(encoding="utf-8")
    return tuple(line for line in text.splitlines() if line)


def random_model(seed: int = RANDOM_SEED, arch: str = "resnext50_32x4d") -> ResNet:
    """Return a model from blocks.resnet with seeded random weights, in eval mode, no parameter requiring grad."""
    model = _empty_model(arch).to_empty(device="cpu")
    _seeded_init(model, seed)
    return _frozen(model)


def load_model(variant: str = "IMAGENET1K_V2", *, local_path: str | os.PathLike | None = None,
               allow_download: bool = True, progress: Progress | None = None) -> LoadedModel:
    """Return ResNeXt-50 32x4d with the best weights available, falling back to seeded random weights.

    Order: `local_path` or $RESNEXT_VIZ_WEIGHTS (only that file, if named); the torch hub cache
    (`torch.hub.get_dir()/checkpoints/<file>`); one download (unless `allow_download` is False or
    $RESNEXT_VIZ_OFFLINE=1), with `progress(done_bytes, total_bytes)` after each chunk. Exceptions
    raised by `progress` itself are not caught.
    """
    if variant not in WEIGHTS:
        raise ValueError(f"Unknown weights variant {variant!r}; choose one of {', '.join(WEIGHTS)}.")
    spec = WEIGHTS[variant]
    local = local_path if local_path is not None else os.environ.get(WEIGHTS_ENV) or None
    if local is not None:
        try:
            return _pretrained(spec, _state_dict_from_file(Path(local)), f"local file: {local}",
                               f"Loaded ResNeXt-50 32x4d weights from your file {local}.")
        except _Unusable as problem:
            return _fallback(spec, f"Could not use the weights file {local}: {problem}.")
    cached = Path(torch.hub.get_dir()) / "checkpoints" / spec.file_name
    reasons = []
    if cached.exists():
        try:
            _check_hash(cached, spec)
            return _pretrained(spec, _state_dict_from_hub_cache(spec), f"torch hub cache: {cached}",
                               f"Loaded the pretrained weights ({variant}, {spec.accuracy_note}) "
                               f"from the torch hub cache.")
        except _Unusable as problem:
            reasons.append(f"The cached weights file {cached} is unusable: {problem}.")
    if os.environ.get(OFFLINE_ENV) == "1":
        return _fallback(spec, *reasons, f"Offline mode ({OFFLINE_ENV}=1): the pretrained weights were not "
                                         f"downloaded.")
    if not allow_download:
        return _fallback(spec, *reasons, "Downloading is turned off and no pretrained weights were found.")
    try:
        _download(spec, cached, progress)
        return _pretrained(spec, _state_dict_from_hub_cache(spec), f"downloaded from {spec.url}",
                           f"Downloaded and loaded the pretrained weights ({variant}, "
                           f"{spec.accuracy_note}).")
    except _Unusable as problem:
        return _fallback(spec, *reasons, f"Could not download the pretrained weights: {problem}.")


def top_k(logits: torch.Tensor, k: int = 5, class_names: Sequence[str] | None = None) -> list[tuple[str, float]]:
    """Return the k most probable classes as (name, softmax probability in [0, 1]), most probable first."""
    scores = logits.detach().reshape(-1).to(torch.float64)  # (num_classes,) from (1, N) or (N,)
    names = imagenet_classes() if class_names is None else class_names
    if len(names) != scores.numel():
        raise ValueError(f"{scores.numel()} logits but {len(names)} class names: they must match one to one.")
    if not 1 <= k <= scores.numel():
        raise ValueError(f"k must be between 1 and {scores.numel()}, got {k}.")
    probabilities, indices = torch.softmax(scores, dim=0).topk(k)
    return [(names[i], float(p)) for p, i in zip(probabilities.tolist(), indices.tolist())]


# ---- building -------------------------------------------------------------------------------

def _empty_model(arch: str = "resnext50_32x4d") -> ResNet:
    """Return the architecture on the meta device: shapes only, no memory, no random numbers drawn."""
    if arch not in MODEL_FACTORIES:
        raise ValueError(f"Unknown architecture {arch!r}; choose one of {', '.join(MODEL_FACTORIES)}.")
    return MODEL_FACTORIES[arch](device="meta")


@torch.no_grad()
def _seeded_init(model: nn.Module, seed: int) -> None:
    """Initialise like blocks.ResNet / nn.Linear do, from a private generator (the global RNG is untouched)."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu", generator=generator)
        elif isinstance(module, nn.BatchNorm2d):  # identity in eval mode until trained
            module.weight.fill_(1.0)
            module.bias.zero_()
            module.running_mean.zero_()
            module.running_var.fill_(1.0)
            module.num_batches_tracked.zero_()
        elif isinstance(module, nn.Linear):  # nn.Linear.reset_parameters, with our generator
            nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
            bound = 1.0 / math.sqrt(module.in_features)
            nn.init.uniform_(module.bias, -bound, bound, generator=generator)


def _frozen(model: ResNet) -> ResNet:
    """Return `model` in eval mode with no parameter requiring grad: a shared model never collects .grad."""
    model.eval()
    model.requires_grad_(False)
    return model


def _pretrained(spec: WeightsSpec, state_dict: dict[str, torch.Tensor], source: str, message: str) -> LoadedModel:
    model = _empty_model()
    expected = model.state_dict()  # meta tensors: names, shapes, dtypes
    _check_keys(state_dict, expected)
    try:  # strict=True as well as our own check; assign=True adopts the loaded tensors (no second copy)
        model.load_state_dict({k: v.to(expected[k].dtype).contiguous() for k, v in state_dict.items()},
                              strict=True, assign=True)
    except RuntimeError as exc:
        raise _Unusable(f"PyTorch refused it ({_first_line(exc)})") from exc
    return _loaded(spec, _frozen(model), True, source, message)


def _fallback(spec: WeightsSpec, *reasons: str) -> LoadedModel:
    remedy = (f"To use real weights, put {spec.file_name} in {Path(torch.hub.get_dir()) / 'checkpoints'} "
              f"or set {WEIGHTS_ENV} to its path.")
    message = " ".join([*reasons, f"The features below come from random weights (seed {RANDOM_SEED}): they show "
                        f"how groups are wired, not what a trained network has learned, and its predictions "
                        f"mean nothing.", remedy])
    return _loaded(spec, random_model(RANDOM_SEED), False, f"random weights (seed {RANDOM_SEED})", message)


def _loaded(spec: WeightsSpec, model: ResNet, pretrained: bool, source: str, message: str) -> LoadedModel:
    return LoadedModel(model=model, pretrained=pretrained, variant=spec.variant, source=source, message=message,
                       resize=spec.resize, crop=spec.crop, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                       class_names=imagenet_classes())


# ---- reading and checking files --------------------------------------------------------------

def _state_dict_from_file(path: Path) -> dict[str, torch.Tensor]:
    """Return the state dict in `path`, read with weights_only=True; raise _Unusable saying why not."""
    if not path.is_file():
        raise _Unusable("the file does not exist" if not path.exists() else "it is not a file")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise _Unusable(_unpickling_problem(exc)) from exc
    except Exception as exc:  # a hostile or random file can break the unpickler in any way
        raise _Unusable(f"it is not a PyTorch weights file ({_first_line(exc)})") from exc
    return _as_state_dict(loaded)


def _state_dict_from_hub_cache(spec: WeightsSpec) -> dict[str, torch.Tensor]:
    """Return the cached file's state dict via torch hub, which finds the file and downloads nothing."""
    try:
        loaded = torch.hub.load_state_dict_from_url(spec.url, map_location="cpu", progress=False, check_hash=True,
                                                    weights_only=True)
    except pickle.UnpicklingError as exc:
        raise _Unusable(_unpickling_problem(exc)) from exc
    except Exception as exc:  # a damaged file can break the unpickler in any way
        raise _Unusable(f"it could not be read ({_first_line(exc)})") from exc
    return _as_state_dict(loaded)


def _unpickling_problem(exc: pickle.UnpicklingError) -> str:
    wanted = re.search(r"GLOBAL (\S+)", str(exc))
    if wanted:
        return (f"this file is not a plain state dict (refused: weights_only): opening it would run "
                f"{wanted.group(1)}, so it was not opened")
    return f"this file is not a plain state dict (refused: weights_only): {_first_line(exc)}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def _as_state_dict(loaded: object) -> dict[str, torch.Tensor]:
    """Return a flat name -> tensor dict, unwrapping {'state_dict': ...} / {'model': ...} checkpoints."""
    if isinstance(loaded, dict) and set(loaded) & {"state_dict", "model"} and \
            not any(isinstance(v, torch.Tensor) for v in loaded.values()):
        loaded = loaded.get("state_dict", loaded.get("model"))
    if not isinstance(loaded, dict):
        raise _Unusable(f"it holds a {type(loaded).__name__}, not a state dict (a dict of tensors)")
    not_tensors = [k for k, v in loaded.items() if not isinstance(v, torch.Tensor)]
    if not_tensors:
        raise _Unusable(f"entry {not_tensors[0]!r} is not a tensor, so this is not a plain state dict")
    return {k.removeprefix("module."): v for k, v in loaded.items()}  # DataParallel saves 'module.' names


def _check_keys(state_dict: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    """Raise _Unusable naming the first missing key, unexpected key or wrong shape, with a count of the rest."""
    def first(kind: str, names: list[str]) -> str:
        return f"{kind} {names[0]}" + (f" (and {len(names) - 1} more)" if len(names) > 1 else "")
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    problems = [first("missing key", missing)] if missing else []
    problems += [first("unexpected key", unexpected)] if unexpected else []
    wrong = [k for k in expected if k in state_dict and state_dict[k].shape != expected[k].shape]
    if wrong:
        k = wrong[0]
        problems.append(f"key {k} has shape {tuple(state_dict[k].shape)} but ResNeXt-50 32x4d needs "
                        f"{tuple(expected[k].shape)}" + (f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""))
    if problems:
        raise _Unusable("; ".join(problems))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _check_hash(path: Path, spec: WeightsSpec) -> None:
    got = _sha256(path)
    if not got.startswith(spec.sha256_prefix):
        raise _Unusable(f"its SHA-256 starts {got[:len(spec.sha256_prefix)]}, but the published file's starts "
                        f"{spec.sha256_prefix} (damaged or replaced); delete it so it can be downloaded again")


# ---- downloading --------------------------------------------------------------------------

def _download(spec: WeightsSpec, destination: Path, progress: Progress | None) -> None:
    """Download `spec.url` to `destination` in chunks, checking the SHA-256 prefix; the file appears atomically."""
    def check(got: str) -> None:
        if not got.startswith(spec.sha256_prefix):
            raise _Unusable(f"the file's SHA-256 starts {got[:len(spec.sha256_prefix)]}, not {spec.sha256_prefix} "
                            f"as published (damaged or altered in transit), so it was thrown away")

    try:
        fetch(spec.url, destination, algorithm="sha256", check=check, opener=urlopen, timeout=CONNECT_TIMEOUT_S,
              chunk_bytes=CHUNK_BYTES, progress=progress)
    except Truncated as exc:
        raise _Unusable(str(exc)) from exc
    except (OSError, http.client.HTTPException) as exc:  # URLError, HTTPError and timeouts are OSErrors
        raise _Unusable(_network_reason(exc)) from exc


def _network_reason(exc: BaseException) -> str:
    """Return why a download failed, in words: an HTTP status, or why the server was unreachable."""
    code = getattr(exc, "code", None)  # urllib's HTTPError
    if code is not None:
        return f"download.pytorch.org answered HTTP {code}"
    reason = getattr(exc, "reason", exc)  # URLError wraps the socket error
    return f"download.pytorch.org could not be reached ({reason if isinstance(reason, str) else _first_line(reason)})"
