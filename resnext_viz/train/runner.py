"""Deterministic training runs shared by every session, trained in a background worker thread.

A run is one (RunConfig, seed): the same pair always gives the same curves (private generators
for the weights, the batches and the noise; one CPU thread). An experiment asks for several
runs (variants × seeds); a Job trains the runs nobody else is training, round robin one epoch
at a time, so every curve grows together and the first points appear after one epoch of each.
The process-wide REGISTRY keys runs by (config, seed): thirty sessions pressing Run on the same
preset share one Job and one training; later visitors find the finished runs at once.

Controls act on the shared job: pause (the thread ends after the epoch in progress), step
(every run one more epoch, then pause), resume, stop. No thread outlives its work.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F

from resnext_viz.timing import cpu_threads
from resnext_viz.train import data as D
from resnext_viz.train import models as M
from resnext_viz.train import probes as P

MAX_SECONDS_ENV = "RESNEXT_VIZ_MAX_TRAIN_SECONDS"
BOUNDS = {"epochs": (1, 40), "seeds": (1, 5), "lr": (0.001, 2.0), "batch": (8, 512)}
MAX_RUNS_KEPT = 300  # finished runs kept for later visitors; the oldest go first
MAX_JOBS_KEPT = 60  # finished jobs kept (each holds its runs); the oldest go first
TRAIN_EVAL_IMAGES = 512  # training images (the same fixed ones each epoch) that train loss and accuracy are measured on
PROBE_IMAGES = 128  # test images the group-similarity probe looks at each epoch
# CPU seconds per image per pixel per epoch (forward + backward + evaluation), measured on this
# 2-core machine at one thread: the digits preset takes about 0.16 s an epoch (1,438 images, 8×8).
COST_PER_IMAGE_PIXEL = 1.8e-6


def max_seconds() -> float:
    """Return the most seconds one experiment may be estimated to take ($RESNEXT_VIZ_MAX_TRAIN_SECONDS, default 120)."""
    try:
        return float(os.environ.get(MAX_SECONDS_ENV, "120"))
    except ValueError:
        return 120.0


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides a run's curves except the seed."""

    dataset: str = "digits"
    variant: str = "dense"  # 'dense', 'grouped' (matched parameters) or 'grouped_thin' (matched width)
    epochs: int = 8  # enough for ≥ 97 % test accuracy on digits, and 9 runs fit in well under 30 s
    lr: float = 0.1  # SGD with momentum 0.9 and batch norm: the usual ResNet learning rate
    batch: int = 64
    random_labels: bool = False  # train on shuffled labels (the memorisation probe)


@dataclass(frozen=True)
class Experiment:
    """A set of runs asked for together: every variant × learning rate × seed on one data set."""

    dataset: str = "digits"
    variants: tuple[str, ...] = ("dense", "grouped", "grouped_thin")
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 8
    lrs: tuple[float, ...] = (0.1,)
    random_labels: bool = False
    batch: int = 64

    def keys(self) -> list[tuple[RunConfig, int]]:
        """Return every (config, seed) of the experiment, variants first, then learning rates, then seeds."""
        return [(RunConfig(self.dataset, v, self.epochs, lr, self.batch, self.random_labels), s)
                for v in self.variants for lr in self.lrs for s in self.seeds]


PRESETS = {
    "default": Experiment(),
    "memorise": Experiment(epochs=20, seeds=(0, 1), random_labels=True),
    "lr_sweep": Experiment(variants=("dense", "grouped"), epochs=6, lrs=(0.03, 0.3, 1.0, 2.0)),
}


def estimate_seconds(exp: Experiment) -> float:
    """Return the estimated CPU seconds of every run of `exp` (from the data set's size; no work done)."""
    # (training images, H·W): cost follows the feature maps, which the stem makes 32 channels whatever the input
    images, pixels = {"digits": (1438, 64), "gratings": (960, 256)}.get(exp.dataset, (D.CIFAR_LIMIT, 1024))
    return len(exp.keys()) * exp.epochs * images * pixels * COST_PER_IMAGE_PIXEL


def check(exp: Experiment) -> None:
    """Raise ValueError with a sentence the learner can act on if any input of `exp` is out of bounds."""
    if exp.dataset not in (*D.DATASETS, "cifar10"):
        raise ValueError(f"unknown data set '{exp.dataset}'; choose {', '.join(D.DATASETS)} or cifar10.")
    if exp.dataset == "cifar10" and not D.cifar_cached():
        raise ValueError("CIFAR-10 is not downloaded yet: download it first (about 170 MB, once).")
    known = {v.name for v in M.variants()}
    if not exp.variants or any(v not in known for v in exp.variants):
        raise ValueError(f"variants must be some of {', '.join(sorted(known))}.")
    for name, value in (("epochs", exp.epochs), ("seeds", len(exp.seeds))):
        lo, hi = BOUNDS[name]
        if not lo <= value <= hi:
            raise ValueError(f"{name} must be {lo}–{hi}, got {value}.")
    if len(set(exp.seeds)) != len(exp.seeds) or any(not 0 <= s < 10_000 for s in exp.seeds):
        raise ValueError("seeds must be distinct whole numbers 0–9,999.")
    lo, hi = BOUNDS["lr"]
    if not exp.lrs or any(not lo <= lr <= hi for lr in exp.lrs):
        raise ValueError(f"every learning rate must be {lo}–{hi}.")
    est, cap = estimate_seconds(exp), max_seconds()
    if est > cap:
        raise ValueError(f"this experiment would take about {est:.0f} s, over this server's bound of {cap:.0f} s "
                         f"({MAX_SECONDS_ENV}); use fewer epochs, seeds or variants.")


@dataclass(frozen=True)
class Epoch:
    """One epoch of one run (epoch 0: the untrained network)."""

    epoch: int
    train_loss: float
    train_acc: float
    test_loss: float
    test_acc: float
    grad_norms: tuple[float, ...]  # per group of block1.conv2, mean over the epoch's steps (0 at epoch 0)
    group_cka: float  # mean linear CKA between block1.conv2's groups on PROBE_IMAGES test images
    seconds: float  # wall time of this epoch

    @property
    def gap(self) -> float:
        """Return train accuracy minus test accuracy (the generalisation gap)."""
        return self.train_acc - self.test_acc


@dataclass
class Run:
    """One (config, seed): its curves so far, its state and, when done, its noise robustness."""

    config: RunConfig
    seed: int
    params: int = 0
    history: list[Epoch] = field(default_factory=list)
    state: str = "queued"  # queued, running, done, stopped, failed
    error: str = ""
    noise_acc: tuple[float, ...] = ()
    state_dict: dict | None = None  # the trained weights, once done
    _trainer: object = None

    @property
    def epochs_done(self) -> int:
        """Return the number of training epochs recorded (epoch 0 not counted)."""
        return max(0, len(self.history) - 1)


class _Trainer:
    """The live state of one unfinished run: its data, network, optimiser and batch generator."""

    def __init__(self, run: Run):
        cfg = run.config
        ds = load_dataset(cfg.dataset)
        self.x_train, self.x_test = torch.from_numpy(ds.x_train), torch.from_numpy(ds.x_test)
        y = D.random_labels(ds.y_train, run.seed) if cfg.random_labels else ds.y_train
        self.y_train, self.y_test = torch.from_numpy(y), torch.from_numpy(ds.y_test)
        self.variant = {v.name: v for v in M.variants(ds.shape[0], len(ds.classes))}[cfg.variant]
        self.net = M.build(self.variant, ds.shape[0], len(ds.classes), run.seed)
        self.opt = torch.optim.SGD(self.net.parameters(), lr=cfg.lr, momentum=0.9, weight_decay=5e-4)
        self.gen = torch.Generator().manual_seed(run.seed)
        self.batch, self.lr, self.epochs = cfg.batch, cfg.lr, cfg.epochs
        run.params = sum(p.numel() for p in self.net.parameters())

    def record(self, epoch: int, grad_norms: tuple[float, ...], seconds: float) -> Epoch:
        tr = P.accuracy(self.net, self.x_train[:TRAIN_EVAL_IMAGES], self.y_train[:TRAIN_EVAL_IMAGES])
        te = P.accuracy(self.net, self.x_test, self.y_test)
        cka = P.group_similarity(self.net, self.x_test[:PROBE_IMAGES])
        return Epoch(epoch, *tr, *te, grad_norms, cka, seconds)

    def epoch(self, number: int) -> Epoch:
        t0 = time.perf_counter()
        for group in self.opt.param_groups:  # cosine decay, set per epoch: epoch 1 at the full rate
            group["lr"] = self.lr * 0.5 * (1 + math.cos(math.pi * (number - 1) / self.epochs))
        n, b = len(self.y_train), self.batch
        perm = torch.randperm(n, generator=self.gen)
        sums, steps = None, 0
        for i in range(0, n, b):
            idx = perm[i:i + b]
            loss = F.cross_entropy(self.net(self.x_train[idx]), self.y_train[idx])
            self.opt.zero_grad()
            loss.backward()
            norms = P.group_grad_norms(self.net)
            sums = norms if sums is None else [a + c for a, c in zip(sums, norms)]
            steps += 1
            self.opt.step()
        return self.record(number, tuple(s / steps for s in sums), time.perf_counter() - t0)


_DATA: dict[str, D.Dataset] = {}


def load_dataset(name: str) -> D.Dataset:
    """Return a data set, loaded once per process."""
    if name not in _DATA:
        if name == "cifar10":
            if not D.cifar_cached():
                raise ValueError("CIFAR-10 is not downloaded yet: download it first (about 170 MB, once).")
            _DATA[name] = D.read_cifar_archive(D.cifar_path(), D.CIFAR_LIMIT)
        else:
            _DATA[name] = D.load(name)
    return _DATA[name]


class Job:
    """The worker for one experiment: trains the runs it owns, round robin, in a background thread."""

    def __init__(self, exp: Experiment, runs: list[Run], owned: list[Run], registry: "Registry"):
        self.experiment, self.runs, self.owned, self._reg = exp, runs, owned, registry
        self.paused = False
        self.stopped = False
        self._step_to: int | None = None
        self.thread: threading.Thread | None = None
        self.started = time.perf_counter()
        self.busy_seconds = 0.0

    # ---- controls (any session)
    def pause(self) -> None:
        """Pause after the epoch in progress (the worker thread ends)."""
        self.paused = True

    def resume(self) -> None:
        """Continue training until done."""
        self.paused, self._step_to = False, None
        self._start()

    def step(self) -> None:
        """Train every unfinished run one more epoch, then pause."""
        with self._reg.lock:
            todo = [r for r in self.owned if r.state in ("queued", "running")]
            if not todo:
                return
            self._step_to = min(r.epochs_done for r in todo) + 1
        self.paused = False
        self._start()

    def stop(self) -> None:
        """Stop for good; unfinished runs are marked stopped and a later Run trains them afresh."""
        self.stopped = True
        self.paused = False
        if self.thread is None or not self.thread.is_alive():
            self._finish_stopped()

    # ---- what a page shows
    @property
    def done(self) -> bool:
        """Return True when every run of the experiment is finished (or stopped/failed)."""
        return all(r.state in ("done", "stopped", "failed") for r in self.runs)

    @property
    def alive(self) -> bool:
        """Return True while the worker thread is running."""
        return self.thread is not None and self.thread.is_alive()

    def progress(self) -> tuple[int, int]:
        """Return (epochs trained, epochs in all) over every run of the experiment."""
        with self._reg.lock:
            return sum(min(r.epochs_done, r.config.epochs) for r in self.runs), sum(r.config.epochs for r in self.runs)

    def eta_seconds(self) -> float:
        """Return the estimated seconds left: the worker's wall time per epoch so far (else the estimate) × epochs left."""
        with self._reg.lock:
            trained = sum(r.epochs_done for r in self.owned)
            left = sum(r.config.epochs - r.epochs_done for r in self.runs if r.state in ("queued", "running"))
        per = self.busy_seconds / trained if trained else estimate_seconds(self.experiment) / max(1, sum(
            r.config.epochs for r in self.runs))
        return per * left

    # ---- the worker
    def _start(self) -> None:
        with self._reg.lock:
            if self.alive or self.stopped or self.done:
                return
            self.thread = threading.Thread(target=self._work, name=f"train-{id(self):x}", daemon=True)
            self.thread.start()

    def _next(self) -> Run | None:
        todo = [r for r in self.owned if r.state in ("queued", "running") and r.epochs_done < r.config.epochs]
        if self._step_to is not None:
            todo = [r for r in todo if r.epochs_done < self._step_to]
        return min(todo, key=lambda r: r.epochs_done) if todo else None

    def _work(self) -> None:
        with cpu_threads(1):  # the app's timing uses one thread too; it keeps runs deterministic and the page free
            while not self.stopped and not self.paused:
                with self._reg.lock:
                    run = self._next()
                if run is None:
                    if self._step_to is not None and any(r.state in ("queued", "running") for r in self.owned):
                        self.paused, self._step_to = True, None
                    break
                t0 = time.perf_counter()
                try:
                    self._advance(run)
                except Exception as exc:  # noqa: BLE001 — shown on the page, never a traceback
                    with self._reg.lock:
                        run.state, run.error, run._trainer = "failed", f"{type(exc).__name__}: {exc}", None
                self.busy_seconds += time.perf_counter() - t0
        if self.stopped:
            self._finish_stopped()

    def _advance(self, run: Run) -> None:
        if run._trainer is None:
            trainer = _Trainer(run)
            self._reg.count_training()
            first = trainer.record(0, (0.0,) * P.probe_groups(trainer.net), 0.0)
            with self._reg.lock:
                run._trainer, run.state = trainer, "running"
                run.history.append(first)
        trainer = run._trainer
        rec = trainer.epoch(run.epochs_done + 1)
        with self._reg.lock:
            run.history.append(rec)
            if run.epochs_done >= run.config.epochs:
                x, y = trainer.x_test, trainer.y_test
                run.noise_acc = tuple(P.noise_accuracy(trainer.net, x, y, run.seed))
                run.state_dict = {k: v.clone() for k, v in trainer.net.state_dict().items()}
                run.state, run._trainer = "done", None

    def _finish_stopped(self) -> None:
        with self._reg.lock:
            for r in self.owned:
                if r.state in ("queued", "running"):
                    r.state, r._trainer = "stopped", None


class Registry:
    """Every run and job of this process, keyed by (config, seed) and by experiment."""

    def __init__(self):
        self.lock = threading.RLock()
        self.runs: dict[tuple[RunConfig, int], Run] = {}
        self.jobs: dict[Experiment, Job] = {}
        self.trainings = 0  # runs actually trained (a shared or cached run is not counted again)

    def count_training(self) -> None:
        with self.lock:
            self.trainings += 1

    def request(self, exp: Experiment, start: bool = True) -> Job:
        """Return the job for `exp`, reusing every run already done or in training; start it unless start=False."""
        check(exp)
        with self.lock:
            job = self.jobs.get(exp)
            if job is not None and not job.stopped:
                return job
            runs, owned = [], []
            for key in exp.keys():
                run = self.runs.get(key)
                if run is None or run.state in ("stopped", "failed"):
                    run = self.runs[key] = Run(*key)
                    owned.append(run)
                runs.append(run)
            job = self.jobs[exp] = Job(exp, runs, owned, self)
            self._evict()
        if start:
            job._start()
        return job

    def job(self, exp: Experiment) -> Job | None:
        """Return the job of `exp` if one was asked for in this process, else None."""
        with self.lock:
            return self.jobs.get(exp)

    def finished(self, key: tuple[RunConfig, int]) -> Run | None:
        """Return the finished run of (config, seed), if any."""
        with self.lock:
            run = self.runs.get(key)
            return run if run is not None and run.state == "done" else None

    def threads(self) -> list[threading.Thread]:
        """Return the worker threads still alive."""
        with self.lock:
            return [j.thread for j in self.jobs.values() if j.alive]

    def _evict(self) -> None:
        """Forget the oldest finished runs and jobs past the bounds (a job would otherwise keep its runs alive)."""
        done = [k for k, r in self.runs.items() if r.state == "done"]
        for k in done[:max(0, len(self.runs) - MAX_RUNS_KEPT)]:
            del self.runs[k]
        finished = [e for e, j in self.jobs.items() if j.done and not j.alive]
        for e in finished[:max(0, len(self.jobs) - MAX_JOBS_KEPT)]:
            del self.jobs[e]

    def clear(self) -> None:
        """Forget every run and job (tests); stops what is training first."""
        with self.lock:
            jobs = list(self.jobs.values())
        for j in jobs:
            j.stop()
        for j in jobs:
            if j.thread is not None:
                j.thread.join()
        with self.lock:
            self.runs.clear()
            self.jobs.clear()
            self.trainings = 0


REGISTRY = Registry()


def experiment(preset: str = "default", **changes) -> Experiment:
    """Return a preset experiment with some fields changed (e.g. epochs=2, seeds=(0,))."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset '{preset}'; choose one of {', '.join(PRESETS)}.")
    return replace(PRESETS[preset], **changes)


def warm() -> None:
    """Pay the one-off costs before a learner presses Run: the digits, one network, one optimiser step."""
    ds = load_dataset("digits")
    net = M.build(M.variants()[1], 1, 10, 0)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    F.cross_entropy(net(torch.from_numpy(ds.x_train[:8])), torch.from_numpy(ds.y_train[:8])).backward()
    opt.step()

