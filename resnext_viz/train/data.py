"""Datasets for the mini-training lab, all seeded; pure (numpy, no torch): arrays in (N, C, H, W) float32.

- digits: scikit-learn's bundled handwritten digits (1,797 real 8×8 greyscale images, 10 classes),
  split once with a fixed seed, stratified, 80 % train / 20 % test.
- gratings: a procedural set made here from a seed: 16×16 colour gratings in 10 classes where the
  class is (colour, orientation): 5 hues × 2 orientations. Neither colour nor orientation alone
  tells the class, so a network must use both (something two groups could split between them).
- cifar10: the CIFAR-10 python archive, downloaded once when the machine is online (chunked,
  progress reported, hash checked, cached); offline, a clear message and the two sets above still work.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.util
import os
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.request import urlopen

import numpy as np

from resnext_viz.download import Truncated, fetch

SPLIT_SEED = 0  # the one train/test split every run and every session shares
TEST_FRACTION = 0.2
DATASETS = ("digits", "gratings")  # bundled: always available
GRATING_HUES = ((0.90, 0.20, 0.15), (0.15, 0.70, 0.20), (0.15, 0.35, 0.95), (0.95, 0.80, 0.10), (0.75, 0.20, 0.85))
GRATING_ANGLES = (0.0, 90.0)  # degrees: horizontal and vertical stripes
GRATINGS_PER_CLASS = 120

# CIFAR-10 as its authors publish it (https://www.cs.toronto.edu/~kriz/cifar.html); the MD5 is theirs.
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR_BYTES = 170_498_071
CHUNK_BYTES = 1 << 20
CONNECT_TIMEOUT_S = 15
CACHE_ENV = "RESNEXT_VIZ_DATA"  # where downloaded data sets are kept (default ~/.cache/resnext-viz)
OFFLINE_ENV = "RESNEXT_VIZ_OFFLINE"
Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class Dataset:
    """A train/test split: images (N, C, H, W) float32 in [0, 1], labels (N,) int64, class names."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    source: str  # one sentence: where the images come from

    @property
    def shape(self) -> tuple[int, int, int]:
        """Return (channels, height, width) of one image."""
        return tuple(self.x_train.shape[1:])


def _split(x: np.ndarray, y: np.ndarray, seed: int = SPLIT_SEED) -> tuple[np.ndarray, ...]:
    """Return x_train, y_train, x_test, y_test: a stratified split, the same for the same seed."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        test[rng.permutation(idx)[:round(len(idx) * TEST_FRACTION)]] = True
    return x[~test], y[~test], x[test], y[test]


def digits() -> Dataset:
    """Return scikit-learn's 8×8 digits (pixel values 0–16 scaled to [0, 1]), split 80/20 with SPLIT_SEED.

    The file load_digits() reads (sklearn/datasets/data/digits.csv.gz) is read directly: importing
    sklearn.datasets takes about 2 s here, reading the 1,797 rows 0.3 s. The same arrays either way
    (a test compares them with load_digits()).
    """
    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec and spec.origin else None
    if path is not None and path.is_file():
        raw = np.loadtxt(path, delimiter=",", dtype=np.float32)  # (1797, 65): 64 pixels, then the label
        images, target = raw[:, :-1].reshape(-1, 8, 8), raw[:, -1]
    else:  # another scikit-learn layout: its own loader
        from sklearn.datasets import load_digits

        loaded = load_digits()
        images, target = loaded.images, loaded.target
    x = (images.astype(np.float32) / 16.0)[:, None]  # (1797, 1, 8, 8)
    y = target.astype(np.int64)
    return Dataset("digits", *_split(x, y), tuple(str(i) for i in range(10)),
                   "scikit-learn's bundled handwritten digits (1,797 images, 8×8, from the UCI optical digits set)")


def gratings(seed: int = 0, per_class: int = GRATINGS_PER_CLASS, size: int = 16) -> Dataset:
    """Return 10 classes of seeded colour gratings: class = hue index * 2 + orientation index.

    Each image: a sinusoidal grating at its class's orientation (±10°), random phase and
    frequency (2–4 cycles), in its class's hue (jittered), on a grey background, plus noise.
    """
    if not 10 <= per_class <= 1000 or not 8 <= size <= 64:
        raise ValueError("gratings: per_class must be 10–1000 and size 8–64.")
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size  # (H, W) each, in [0, 1)
    images, labels, names = [], [], []
    for h, hue in enumerate(GRATING_HUES):
        for o, angle in enumerate(GRATING_ANGLES):
            label = h * len(GRATING_ANGLES) + o
            names.append(f"hue {h + 1}, {'horizontal' if angle == 0 else 'vertical'}")
            for _ in range(per_class):
                theta = np.deg2rad(angle + rng.uniform(-10, 10))
                cycles, phase = rng.uniform(2, 4), rng.uniform(0, 2 * np.pi)
                wave = 0.5 + 0.5 * np.sin(2 * np.pi * cycles * (xx * np.sin(theta) + yy * np.cos(theta)) + phase)
                colour = np.clip(np.asarray(hue) + rng.normal(0, 0.05, 3), 0, 1).astype(np.float32)
                img = 0.5 + (colour[:, None, None] - 0.5) * wave[None]  # (3, H, W): grey where the wave is 0
                img += rng.normal(0, 0.08, img.shape)
                images.append(np.clip(img, 0, 1).astype(np.float32))
                labels.append(label)
    x, y = np.stack(images), np.asarray(labels, dtype=np.int64)
    return Dataset("gratings", *_split(x, y, seed), tuple(names),
                   f"made here from seed {seed}: {per_class} images per class, {size}×{size}, colour × orientation")


def load(name: str) -> Dataset:
    """Return a bundled dataset by name ('digits' or 'gratings'); ValueError for any other."""
    if name == "digits":
        return digits()
    if name == "gratings":
        return gratings()
    raise ValueError(f"unknown dataset '{name}'; choose one of {', '.join(DATASETS)}.")


def random_labels(y: np.ndarray, seed: int) -> np.ndarray:
    """Return the labels shuffled with `seed`: the same class counts, no relation left to the images."""
    return np.random.default_rng(seed).permutation(y)


# ---- CIFAR-10, downloaded once -------------------------------------------------------------


class DownloadUnavailable(RuntimeError):
    """The archive could not be had (offline, unreachable, damaged); the message says why in words."""


def cache_dir() -> Path:
    """Return the folder downloaded data sets are kept in ($RESNEXT_VIZ_DATA, else ~/.cache/resnext-viz)."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "resnext-viz")


def _digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            h.update(chunk)
    return h.hexdigest()


def download(url: str, destination: Path, expected_hash: str, algorithm: str = "sha256",
             progress: Progress | None = None, opener: Callable = urlopen) -> Path:
    """Return `destination`, downloading `url` in chunks first unless a file with the right hash is there.

    The hash is checked as the bytes arrive; the file appears atomically only when it matches.
    `progress(done_bytes, total_bytes or None)` is called after each chunk. Offline
    ($RESNEXT_VIZ_OFFLINE=1), unreachable or damaged: DownloadUnavailable with the reason.
    """
    if destination.is_file():
        if _digest(destination, algorithm) == expected_hash:
            return destination
        destination.unlink()  # damaged or replaced: fetch it again
    if os.environ.get(OFFLINE_ENV) == "1":
        raise DownloadUnavailable(f"offline mode ({OFFLINE_ENV}=1): {destination.name} was not downloaded. "
                                  "The bundled digits and gratings still work.")
    def check(got: str) -> None:
        if got != expected_hash:
            raise DownloadUnavailable(f"the file's {algorithm.upper()} is {got[:12]}…, not "
                                      f"{expected_hash[:12]}… as published (damaged or altered), so it was thrown away")

    try:
        fetch(url, destination, algorithm=algorithm, check=check, opener=opener, timeout=CONNECT_TIMEOUT_S,
              chunk_bytes=CHUNK_BYTES, progress=progress)
    except Truncated as exc:
        raise DownloadUnavailable(f"{exc}; try again") from exc
    except (OSError, http.client.HTTPException) as exc:  # URLError, HTTPError and timeouts are OSErrors
        reason = getattr(exc, "code", None) or getattr(exc, "reason", None) or exc
        raise DownloadUnavailable(f"{url.split('/')[2] if '//' in url else url} could not be reached ({reason}). "
                                  "The machine may be offline; the bundled digits and gratings still work.") from exc
    return destination


def read_cifar_archive(path: Path, limit: int | None = None) -> Dataset:
    """Return CIFAR-10 from its python tar.gz (data_batch_1..5 train, test_batch test), optionally the first `limit`."""
    xs: dict[str, list] = {"train": [], "test": []}
    ys: dict[str, list] = {"train": [], "test": []}
    names: tuple[str, ...] = ()
    with tarfile.open(path, "r:gz") as tar:
        for member in tar.getmembers():
            base = member.name.rsplit("/", 1)[-1]
            part = "train" if base.startswith("data_batch_") else "test" if base == "test_batch" else None
            if base == "batches.meta":
                meta = pickle.load(tar.extractfile(member), encoding="latin1")  # noqa: S301 (hash-checked file)
                names = tuple(meta["label_names"])
            if part is None:
                continue
            batch = pickle.load(tar.extractfile(member), encoding="latin1")  # noqa: S301 (hash-checked file)
            xs[part].append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))  # (N, 3, 32, 32)
            ys[part].append(np.asarray(batch["labels"], dtype=np.int64))
    if not xs["train"] or not xs["test"]:
        raise DownloadUnavailable(f"{path.name} holds no CIFAR-10 batches; delete it so it can be downloaded again")
    x_tr, y_tr = np.concatenate(xs["train"])[:limit], np.concatenate(ys["train"])[:limit]
    x_te, y_te = np.concatenate(xs["test"])[:limit], np.concatenate(ys["test"])[:limit]
    return Dataset("cifar10", x_tr.astype(np.float32) / 255, y_tr, x_te.astype(np.float32) / 255, y_te,
                   names or tuple(str(i) for i in range(10)), "CIFAR-10 (Krizhevsky 2009), downloaded and hash-checked")


CIFAR_LIMIT = 5000  # images of each split the lab trains on: a CPU epoch of the full 50,000 takes minutes


def cifar_path() -> Path:
    """Return where the CIFAR-10 archive is cached."""
    return cache_dir() / "cifar-10-python.tar.gz"


def cifar_cached() -> bool:
    """Return True when the archive is in the cache at its published size (the hash is checked when it arrives)."""
    p = cifar_path()
    return p.is_file() and p.stat().st_size == CIFAR_BYTES


def cifar10(progress: Progress | None = None, limit: int | None = CIFAR_LIMIT, opener: Callable = urlopen) -> Dataset:
    """Return CIFAR-10 (the first `limit` images of each split), downloading the archive once into cache_dir()."""
    path = download(CIFAR_URL, cifar_path(), CIFAR_MD5, "md5", progress, opener)
    return read_cifar_archive(path, limit)
