"""The training lab's page pieces: its controls, the shared job's buttons, live curves polled from the worker."""

from __future__ import annotations

import os
import threading

import streamlit as st

from resnext_viz.train import data as D
from resnext_viz.train import evidence as ev
from resnext_viz.train import figures as tf
from resnext_viz.train import runner as R
from resnext_viz.train.claims import NOISE_SIGMA, interval
from resnext_viz.train.models import param_count, variants
from resnext_viz.train.probes import NOISE_LEVELS

from .state import Field, sync_url, url_state
from .warm import freeze_long_lived
from .widgets import figure, table

__all__ = ["TRAIN_FIELDS", "PRESET_LABELS", "DATASET_LABELS", "cifar_ready", "warm_training", "train_experiment",
           "apply_preset", "param_records", "train_buttons", "train_live", "REGISTRY"]

REGISTRY = R.REGISTRY
POLL_S = 1.0  # how often the live panel reads the worker's progress while it trains
_FIGURES: dict[tuple, object] = {}  # (experiment, figure, epochs done, runs finished) -> figure: one build per new epoch
MAX_FIGURES = 64
PRESET_LABELS = {"default": "Dense vs grouped", "memorise": "Memorise shuffled labels", "lr_sweep": "Learning-rate sweep"}
DATASET_LABELS = {"digits": "Digits (8×8, 1,797 real images, bundled with scikit-learn)",
                  "gratings": "Colour gratings (16×16, made here from a seed)",
                  "cifar10": f"CIFAR-10 (32×32, the first {D.CIFAR_LIMIT:,} of each split; one download)"}
PROBE_TABS = {"grads": "Gradient norms per group", "similarity": "Similarity between groups", "noise": "Input noise",
              "lr": "Learning rates"}  # URL name -> the probe tab's label
TRAIN_FIELDS = [
    Field("train_preset", "preset", "default", label="experiment", options=tuple(R.PRESETS)),
    Field("train_probe", "probe", "grads", label="probe tab", options=tuple(PROBE_TABS)),
    Field("train_dataset", "dataset", "digits", label="data set", options=(*D.DATASETS, "cifar10")),
    Field("train_epochs", "epochs", R.PRESETS["default"].epochs, *R.BOUNDS["epochs"], label="epochs"),
    Field("train_seeds", "seeds", len(R.PRESETS["default"].seeds), *R.BOUNDS["seeds"], label="seeds"),
]


def _warm_and_freeze() -> None:
    try:
        R.warm()
    finally:  # scikit-learn's and the optimiser's modules stay for the process: out of each rerun's gc.collect
        freeze_long_lived()


@st.cache_resource(show_spinner=False)
def _warm_thread() -> threading.Thread:
    t = threading.Thread(target=_warm_and_freeze, name="warm-training", daemon=True)
    t.start()
    return t


def warm_training() -> None:
    """Load the digits and pay torch's one-off costs in the background, once per process (the page opens first)."""
    _warm_thread()


def cifar_ready() -> bool:
    """Draw CIFAR-10's one download (or why it cannot be had) until the archive is cached; return True once it is."""
    if D.cifar_cached():
        return True
    st.info(f"CIFAR-10 is not on this server yet: one download of {D.CIFAR_BYTES / 1e6:.0f} MB from its authors' "
            f"site, checked against their published MD5 and kept in `{D.cache_dir()}`. The digits and the gratings "
            "need no network.", icon=":material/download:")
    if os.environ.get(D.OFFLINE_ENV) == "1":
        st.warning(f"Offline mode ({D.OFFLINE_ENV}=1): no download is tried. Choose the digits or the gratings.",
                   icon=":material/cloud_off:")
        return False
    if st.button("Download CIFAR-10", icon=":material/download:", key="train_cifar_download"):
        bar = st.progress(0.0, text="Connecting…")

        def progress(done: int, total: int | None) -> None:
            whole = total or D.CIFAR_BYTES
            bar.progress(min(1.0, done / whole), text=f"{done / 1e6:.0f} of {whole / 1e6:.0f} MB")

        try:
            D.download(D.CIFAR_URL, D.cifar_path(), D.CIFAR_MD5, "md5", progress)
        except D.DownloadUnavailable as e:
            st.error(f"CIFAR-10 could not be downloaded: {e}", icon=":material/cloud_off:")
            return False
        st.rerun()
    return False


def apply_preset() -> None:
    """Preset callback: set epochs and seeds to the chosen preset's own."""
    exp = R.PRESETS[st.session_state["train_preset"]]
    url_state().remember("train_epochs", exp.epochs)
    url_state().remember("train_seeds", len(exp.seeds))


def train_experiment(preset: str, dataset: str, epochs: int, seeds: int) -> R.Experiment:
    """Return the experiment the controls describe, checked (ValueError with a sentence if out of bounds)."""
    exp = R.experiment(preset, dataset=dataset, epochs=int(epochs), seeds=tuple(range(int(seeds))))
    R.check(exp)
    return exp


def param_records(exp: R.Experiment) -> list[dict]:
    """Return one row per variant: C, d, width, parameters counted by PyTorch and the difference from dense."""
    ds = R.load_dataset(exp.dataset)
    vs = {v.name: v for v in variants(ds.shape[0], len(ds.classes))}
    dense = param_count(vs["dense"], ds.shape[0], len(ds.classes))
    rows = []
    for name in exp.variants:
        v = vs[name]
        n = param_count(v, ds.shape[0], len(ds.classes))
        rows.append({"variant": v.label, "C": v.C, "d": v.d, "width C·d": v.width, "parameters (sum p.numel())": n,
                     "vs dense": f"{(n - dense) / dense:+.1%}"})
    return rows


def _job(exp: R.Experiment) -> R.Job | None:
    return REGISTRY.job(exp)


def train_buttons(exp: R.Experiment) -> None:
    """Draw Run and the shared job's Pause / Step one epoch / Resume / Stop (each rerun reads the job afresh)."""
    job = _job(exp)
    fresh = job is None or job.stopped
    cols = st.columns([1, 1, 1.4, 1.1, 1, 1.5])
    cols[0].button("Run", type="primary", icon=":material/play_arrow:", key="train_run", disabled=not fresh,
                   on_click=_run, args=(exp,))
    alive = job is not None and job.alive
    idle = job is not None and not job.alive and not job.done and not job.stopped
    cols[1].button("Pause", icon=":material/pause:", key="train_pause", disabled=not alive,
                   on_click=lambda: job.pause())
    cols[2].button("Step 1 epoch", icon=":material/skip_next:", key="train_step", disabled=not idle,
                   on_click=lambda: job.step(), help="Train every run one more epoch, then pause.")
    cols[3].button("Resume", icon=":material/resume:", key="train_resume", disabled=not idle,
                   on_click=lambda: job.resume())
    cols[4].button("Stop", icon=":material/stop:", key="train_stop", disabled=job is None or job.done,
                   on_click=lambda: job.stop())
    est = R.estimate_seconds(exp)
    st.caption(f"{len(exp.keys())} runs × {exp.epochs} epochs, estimated about {est:.0f} s on this server's "
                    f"CPU (bound {R.max_seconds():.0f} s). Runs are shared: everyone here who asks for the same "
                    "configuration sees the same training, and its buttons.")


def _run(exp: R.Experiment) -> None:
    try:
        REGISTRY.request(exp)
    except ValueError as e:
        st.session_state["_train_error"] = str(e)


def train_live(exp: R.Experiment) -> None:
    """Draw the job's progress, curves and probes; poll the worker every POLL_S seconds while it trains."""
    if msg := st.session_state.pop("_train_error", None):
        st.error(msg, icon=":material/block:")
    job = _job(exp)
    if job is None:
        st.info("Press **Run** to train. The first curve points appear after one epoch of each run.",
                icon=":material/play_arrow:")
        return
    polling = job.alive
    st.session_state["_train_polling"] = polling
    st.fragment(_panel, run_every=POLL_S if polling else None)(exp)


def _panel(exp: R.Experiment) -> None:
    job = _job(exp)
    if job is None:
        return
    if not job.alive and st.session_state.get("_train_polling"):
        st.session_state["_train_polling"] = False
        st.rerun(scope="app")  # the worker finished or paused: redraw the buttons, stop polling
    done, total = job.progress()
    state = ("done" if job.done and not job.stopped else "stopped" if job.stopped else
             "training" if job.alive else "paused")
    tail = f", about {job.eta_seconds():.0f} s left" if state == "training" else ""
    st.progress(done / max(1, total), text=f"**{state.capitalize()}**: {done} of {total} epochs{tail}.")
    failed = [r for r in job.runs if r.state == "failed"]
    for r in failed[:3]:
        st.error(f"Run {r.config.variant}, seed {r.seed} failed: {r.error}", icon=":material/error:")
    with REGISTRY.lock:
        runs = list(job.runs)
        stamp = (exp, done, sum(r.state == "done" for r in runs), sum(len(r.history) for r in runs))
        s = ev.series(runs)
    if not s:
        st.caption("Waiting for the first epoch…")
        return
    figure(_cached(stamp, "curves", lambda: tf.training_curves(s)), "training_curves", "train_curves",
           alt="Accuracy and loss per epoch (test solid, train dotted) and the generalisation gap for each variant, "
               "mean and range over seeds")
    if exp.random_labels:
        figure(_cached(stamp, "memorise", lambda: tf.metric_curves(
            s, "train_acc", "Train accuracy on shuffled labels (memorisation)", "train accuracy")),
               "memorisation", "train_memorise",
               alt="Train accuracy on randomly shuffled labels per epoch for each variant")
    if job.alive:  # the probes and the table are drawn when the worker rests: less work while it trains
        st.caption("The final table and the probes (gradient norms, similarity between groups, noise) appear when "
                   "training finishes or is paused.")
        return
    _final_table(runs)
    _probes(runs, exp, stamp)


def _cached(stamp: tuple, name: str, build):
    """Return the figure for this state of the job, built once however many sessions are watching."""
    key = (*stamp, name)
    if key not in _FIGURES:
        if len(_FIGURES) >= MAX_FIGURES:
            _FIGURES.pop(next(iter(_FIGURES)))
        _FIGURES[key] = build()
    return _FIGURES[key]


def _final_table(runs: list[R.Run]) -> None:
    rows = []
    for label, rs in ev.by_variant(runs).items():
        fin = [r for r in rs if r.state == "done"]
        if not fin:
            continue
        test = interval([r.history[-1].test_acc for r in fin])
        rows.append({"variant": label, "parameters": fin[0].params, "seeds": len(fin),
                     "test accuracy": round(test.mean, 4), "95 % CI": f"{test.lo:.3f}–{test.hi:.3f}",
                     "train accuracy": round(sum(r.history[-1].train_acc for r in fin) / len(fin), 4),
                     "gap (train − test)": round(sum(r.history[-1].gap for r in fin) / len(fin), 4),
                     f"test acc., noise σ {NOISE_SIGMA}": round(sum(r.noise_acc[NOISE_LEVELS.index(NOISE_SIGMA)]
                                                                   for r in fin) / len(fin), 4)})
    if rows:
        st.markdown("**After the last epoch** (mean over finished seeds; train accuracy on "
                    f"{R.TRAIN_EVAL_IMAGES} fixed training images, without augmentation):")
        table(rows)


def _probe_chosen() -> None:
    label = st.session_state.get("train_probe_tab")
    st.session_state["train_probe"] = next((k for k, v in PROBE_TABS.items() if v == label), "grads")


def _probes(runs: list[R.Run], exp: R.Experiment, stamp: tuple) -> None:
    # The open tab is the URL's `probe` (a claim's link opens its probe); a switch is written back from here,
    # since a switch reruns only this fragment, not the page's controls.
    st.session_state["train_probe_tab"] = PROBE_TABS[st.session_state.get("train_probe", "grads")]
    tabs = st.tabs(list(PROBE_TABS.values()), key="train_probe_tab", on_change=_probe_chosen)
    sync_url([f for f in TRAIN_FIELDS if f.key == "train_probe"])
    with tabs[0]:
        norms = ev.mean_grad_norms(runs)
        if norms:
            figure(_cached(stamp, "grads", lambda: tf.grad_norms(norms)), "grad_norms", "train_grads",
                   alt="Weight-gradient norm of each group of block1's 3x3 convolution per epoch, one panel per variant")
            st.caption("Mean over each epoch's steps and over seeds. A dense layer's norms are of its filters cut "
                       "into 8 equal fake groups, so the panels can be compared.")
    with tabs[1]:
        rows = ev.cka_rows(runs)
        if rows:
            figure(_cached(stamp, "cka", lambda: tf.similarity_bars(rows)), "group_cka", "train_cka",
                   alt="Mean linear CKA between groups at random init and after training, per variant")
            figure(_cached(stamp, "cka_epochs", lambda: tf.metric_curves(
                ev.series(runs), "group_cka", "The same, after every epoch (epoch 0: random init)", "linear CKA")),
                   "group_cka_epochs", "train_cka_epochs",
                   alt="Mean linear CKA between groups after every epoch for each variant, mean and range over seeds")
            st.caption(f"Linear CKA between every pair of groups' outputs on {R.PROBE_IMAGES} test images, averaged "
                       "(95 % intervals over seeds). Baselines: the same network at random init, and the dense "
                       "layer cut into fake groups. Groups with more channels (larger d) are not directly comparable.")
        else:
            st.caption("Shown when the first runs finish.")
    with tabs[2]:
        acc = ev.noise_acc(runs)
        if acc:
            figure(_cached(stamp, "noise", lambda: tf.noise_curves(NOISE_LEVELS, acc)), "noise_accuracy", "train_noise",
                   alt="Test accuracy against the standard deviation of Gaussian noise added to the pixels")
        else:
            st.caption("Shown when the first runs finish.")
    with tabs[3]:
        if len(exp.lrs) > 1 and (final := ev.lr_final(runs)):
            gone = ev.lr_diverged(runs)
            figure(_cached(stamp, "lr", lambda: tf.lr_sweep(final, gone)), "lr_sweep", "train_lr",
                   alt="Final test accuracy at each learning rate, one dot per seed, per variant; ✕ a seed that "
                       "diverged")
            counts = [f"{label} at lr {lr:g}: {sum(d)} of {len(d)}" for label, by in gone.items()
                      for lr, d in sorted(by.items()) if any(d)]
            st.caption(f"✕ diverged: the training loss stopped being a finite number, or the run ended at a test "
                       f"accuracy of at most {ev.DIVERGED_ACC * 100:.0f} % (chance is 10 %). "
                       + ("Seeds that diverged: " + "; ".join(counts) + "." if counts else
                          "No seed diverged at these learning rates."))
        else:
            st.caption("Choose the **Learning-rate sweep** experiment to see this.")
