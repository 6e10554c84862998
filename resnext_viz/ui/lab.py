"""The performance lab's controls and its run with live progress."""

from __future__ import annotations

import os
import time

import streamlit as st

from resnext_viz.lab.cost import BOUNDS, LAB_DTYPES, LabConfig

from .state import Field, seed, show_notices, sync_url

# ---------------------------------------------------------------- performance lab

# The lab's controls. URL names carry a lab_ prefix so they never mix with another page's
# 'batch' or 'dtype'. Bounds and defaults come from lab.cost (pure: no torch until the lab runs).
LAB_FIELDS = [
    Field("lab_channels", "lab_channels", LabConfig.channels, *BOUNDS["channels"], label="channels"),
    Field("lab_size", "lab_size", LabConfig.size, *BOUNDS["size"], label="feature-map size"),
    Field("lab_batch", "lab_batch", LabConfig.batch, *BOUNDS["batch"], label="batch"),
    Field("lab_dtype", "lab_dtype", "float32", label="dtype"),
    Field("lab_cl", "lab_channels_last", False, label="channels_last"),
    Field("lab_threads", "lab_threads", 1, 1, max(1, os.cpu_count() or 1), label="CPU threads"),
    Field("lab_budget", "lab_budget", int(LabConfig.budget_s), *BOUNDS["budget_s"], label="time budget"),
    Field("lab_loop", "lab_loop", True, label="per-group loop"),
    Field("lab_block", "lab_bottleneck", True, label="bottleneck"),
    Field("lab_cudnn", "lab_cudnn_benchmark", False, label="cudnn.benchmark"),
]
LAB_PROGRESS_EVERY_S = 0.5  # redraw the progress bar at most this often: the browser's drawing competes with the timing


def _lab_dtypes(device: str) -> list[str]:
    from resnext_viz.timing import check_dtype

    ok = []
    for name in LAB_DTYPES:
        try:
            check_dtype(device, name)
        except ValueError:
            continue
        ok.append(name)
    return ok


def lab_controls(device: str):
    """Draw the lab's controls; return (LabConfig, None) when valid, else (None, a sentence saying what to change)."""
    ss = st.session_state
    notices = seed(LAB_FIELDS)
    dtypes = _lab_dtypes(device)
    if ss["lab_dtype"] not in dtypes:
        notices.append(f"**{ss['lab_dtype']}** is not offered on this device ({', '.join(dtypes)} are); "
                       "using float32.")
        ss["lab_dtype"] = "float32"
    show_notices(notices)
    f = {x.key: x for x in LAB_FIELDS}
    c1, c2, c3, c4 = st.columns([1, 1, 1, 1.4])
    c1.number_input("Channels in = out", f["lab_channels"].lo, f["lab_channels"].hi, step=1, persist_state="session", key="lab_channels",
                    help="C of the 3×3 convolution C → C. Every divisor of C is a valid group count and is timed.")
    c2.number_input("Feature map H = W", f["lab_size"].lo, f["lab_size"].hi, step=1, persist_state="session", key="lab_size",
                    help="56 is ResNeXt-50's first stage for a 224×224 image.")
    c3.number_input("Batch", f["lab_batch"].lo, f["lab_batch"].hi, step=1, persist_state="session", key="lab_batch",
                    help="Images per call. A CPU usually serves one at a time; the H100 reference used 64.")
    with c4:
        st.segmented_control("dtype", dtypes, persist_state="session", key="lab_dtype", required=True,
                             help="float16 is offered on GPUs only: on a CPU it is emulated and its timings mislead.")
    d1, d2, d3 = st.columns([1, 1, 1.4])
    with d1:
        st.slider("Time budget (s)", f["lab_budget"].lo, f["lab_budget"].hi, persist_state="session", key="lab_budget",
                  help="The whole run, warm-up included. Configurations not started when it is spent are skipped.")
    with d2:
        if device == "cpu":
            st.slider("CPU threads", 1, f["lab_threads"].hi, persist_state="session", key="lab_threads",
                      help="PyTorch's thread count is shared by the whole server: a run sets it, holds a lock so "
                           "other tabs wait, and restores it afterwards.")
            st.caption("Default 1: the steadiest numbers when other programs share the CPU. Raise it to see "
                       "what parallel threads buy.")
        else:
            st.caption("CPU threads apply to CPU runs only.")
    with d3:
        st.toggle("channels_last memory format", persist_state="session", key="lab_cl",
                  help="Store tensors as (N, H, W, C), as the H100 reference did; off is PyTorch's default (N, C, H, W).")
        st.toggle("Time the per-group Python loop", persist_state="session", key="lab_loop")
        st.toggle("Time the Table 2 bottlenecks (256 channels)", persist_state="session", key="lab_block")
        if device.startswith("cuda"):
            st.toggle("cudnn.benchmark (let cuDNN time its kernels)", persist_state="session", key="lab_cudnn",
                      help="Off is PyTorch's default and how the H100 reference ran; on, cuDNN tries several kernels.")
    sync_url(LAB_FIELDS)
    try:
        cfg = LabConfig(channels=ss["lab_channels"], size=ss["lab_size"], batch=ss["lab_batch"], device=device,
                        dtype=ss["lab_dtype"], channels_last=ss["lab_cl"],
                        threads=ss["lab_threads"] if device == "cpu" else None, budget_s=float(ss["lab_budget"]),
                        loop=ss["lab_loop"], bottleneck=ss["lab_block"],
                        cudnn_benchmark=bool(ss["lab_cudnn"]) and device.startswith("cuda"))
    except ValueError as why:
        return None, str(why)
    return cfg, None


def run_lab(cfg) -> None:
    """Run the lab's sweep with a live progress bar; keep the result in this session (see lab_result)."""
    from resnext_viz.lab.sweep import run_sweep
    from resnext_viz.timing import DeviceOutOfMemory

    bar = st.progress(0.0, text=f"Starting: {cfg.describe()}")
    waiting = st.empty()
    last = {"t": 0.0, "label": None}

    def on_progress(p) -> None:
        now = time.perf_counter()
        if p.label == last["label"] and p.fraction < 1.0 and now - last["t"] < LAB_PROGRESS_EVERY_S:
            return
        last.update(t=now, label=p.label)
        bar.progress(p.fraction, text=p.text())

    def on_wait() -> None:
        waiting.info("Another browser session is measuring on this server; this run starts when it finishes "
                     "(two runs at once would slow each other down).", icon=":material/hourglass_top:")

    try:
        result = run_sweep(cfg, on_progress, on_wait)
    except (ValueError, DeviceOutOfMemory) as why:
        bar.empty()
        waiting.empty()
        st.error(str(why), icon=":material/block:")
        return
    bar.empty()
    waiting.empty()
    st.session_state["lab_result"] = result
    st.session_state.setdefault("lab_by_format", {})[result.config.channels_last] = result


def lab_result():
    """Return this session's last LabResult, or None before the first run."""
    return st.session_state.get("lab_result")


def lab_format_pair():
    """Return this session's last (NCHW, channels_last) runs of the same settings, or None (see result.format_pair)."""
    from resnext_viz.lab.result import format_pair

    return format_pair(st.session_state.get("lab_by_format", {}))
