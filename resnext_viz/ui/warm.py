"""Start-up work moved off the critical path: torch, FlopCounterMode and the shared image model, in the background."""

from __future__ import annotations

import atexit
import gc
import logging
import os
import threading

from .inside import _blocks_code, _image_model

_LOG = logging.getLogger("resnext_viz.warm")
_model_thread: threading.Thread | None = None
EXIT_WAIT_S = 30.0  # how long the interpreter's exit waits for a load still running


def _no_download_needed() -> bool:
    """True when loading the model reads local files only (a named file, offline mode, or the hub cache)."""
    import torch

    from resnext_viz.inside.weights import OFFLINE_ENV, WEIGHTS, WEIGHTS_ENV
    from .inside import IMAGE_VARIANT

    cached = os.path.join(torch.hub.get_dir(), "checkpoints", WEIGHTS[IMAGE_VARIANT].file_name)
    return bool(os.environ.get(WEIGHTS_ENV)) or os.environ.get(OFFLINE_ENV) == "1" or os.path.exists(cached)


def _load() -> None:
    from resnext_viz.conv.arithmetic import ConvSpec
    from resnext_viz.conv.torch_check import pytorch_counts
    from resnext_viz.inside.weights import OFFLINE_ENV, WEIGHTS_ENV

    try:
        pytorch_counts(ConvSpec())  # FlopCounterMode's first use imports torch._dynamo: seconds, done here once
        if _no_download_needed():  # a download waits for a page that shows its progress bar
            _image_model(os.environ.get(WEIGHTS_ENV, ""), os.environ.get(OFFLINE_ENV, ""), _blocks_code())
    except Exception:  # the page loads it again, and says what went wrong there
        _LOG.warning("background model load failed", exc_info=True)
    finally:
        freeze_long_lived()


def freeze_long_lived() -> None:
    """Move every object alive now (torch, plotly, the model) out of the cyclic garbage collector's sight.

    Streamlit runs a full gc.collect(2) after every script run (runner.postScriptGC), and holds the GIL
    while it does, so the run's last message waits for it. With torch and torch._dynamo loaded that
    collection walked ~400k objects: ~190 ms added to every interaction on every page (bench_browser,
    Parameter math). What is frozen here lives for the whole process anyway (modules, the shared
    model); objects made later are collected as before, and reference counting still frees everything.
    """
    gc.freeze()


def warm_image_model() -> None:
    """Import torch, run FlopCounterMode once and load the shared ResNeXt-50 in a background thread, once per process.

    Call after the first page has run: the model is built while the learner reads, not before the
    first paint. An image page opened meanwhile waits on the same cache entry (with its spinner).
    """
    global _model_thread
    if _model_thread is None:
        _model_thread = threading.Thread(target=_load, daemon=True, name="warm-image-model")
        _model_thread.start()
        atexit.register(_wait_at_exit)


def _wait_at_exit() -> None:
    """Let a load still running finish before the interpreter tears torch down.

    A daemon thread still inside torch while the process exits aborted it ("terminate called
    without an active exception", exit status 134) after a test run that had passed.
    """
    if _model_thread is not None and _model_thread.is_alive():
        _model_thread.join(EXIT_WAIT_S)
