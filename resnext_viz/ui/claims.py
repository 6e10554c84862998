"""The claims page's pieces: the live interference check and one bordered row per claim with its verdict."""

from __future__ import annotations

from urllib.parse import parse_qsl

import streamlit as st

from resnext_viz.train import claims as C
from resnext_viz.train import evidence as ev
from resnext_viz.train import runner as R

__all__ = ["interference_result", "claim_rows", "VERDICT_COLORS"]

VERDICT_COLORS = {C.HOLDS: "green", C.CAVEAT: "orange", C.NOT_SUPPORTED: "gray", C.CONTRADICTED: "red"}
CHECK_IMAGES = 64  # digits test images in the interference check's batch


@st.cache_data(show_spinner=False, max_entries=16)
def interference_result(group: int, seed: int = 0):
    """Return the interference check (probes.interference_check) on a fresh grouped network, cached per group."""
    import torch

    from resnext_viz.train import models as M
    from resnext_viz.train import probes as P

    ds = R.load_dataset("digits")
    net = M.build(M.variants()[1], 1, 10, seed)
    x, y = torch.from_numpy(ds.x_test[:CHECK_IMAGES]), torch.from_numpy(ds.y_test[:CHECK_IMAGES])
    return P.interference_check(net, x, y, group)


def _link(claim: C.Claim) -> None:
    from resnext_viz.lessons import by_path

    try:
        lesson = by_path(claim.page)
    except KeyError:
        return
    if claim.page == "claims":
        st.caption("Shown by the live check at the top of this page.")
        return
    query = dict(parse_qsl(claim.view.lstrip("?")))
    st.page_link(lesson.file, label=claim.shows or lesson.title,
                 icon=":material/arrow_forward:", query_params=query or None)


def _run_preset(preset: str) -> None:
    try:
        R.REGISTRY.request(R.experiment(preset))
    except ValueError as e:
        st.session_state["_claims_error"] = str(e)


def claim_rows(measured: C.Measurements) -> list[C.Verdict]:
    """Draw one bordered row per claim: its words, the verdict, the evidence, the source, a link; return the verdicts."""
    if msg := st.session_state.pop("_claims_error", None):
        st.error(msg, icon=":material/block:")
    rows = C.verdicts(measured)
    for v in rows:
        with st.container(border=True):
            left, right = st.columns([3, 1])
            left.markdown(f"**“{v.claim.words}”**")
            with right:
                st.badge("not measured yet" if v.pending else v.verdict,
                         color="gray" if v.pending else VERDICT_COLORS[v.verdict])
            kind = {"measured": "measured here", "checked": "checked exactly here", "cited": "cited"}[v.claim.kind]
            if v.source:
                kind = "cited" if v.claim.kind == "cited" else f"{kind}; cited"
            st.markdown(f"{v.evidence}")
            foot = st.columns([1.7, 1.8, 1.2])
            foot[0].caption(f"Evidence: {kind}" + (f" — {v.source}" if v.source else ""))
            with foot[1]:
                _link(v.claim)
            if v.pending and v.claim.experiment:
                job = R.REGISTRY.job(R.experiment(v.claim.experiment))
                if job is not None and not job.done:
                    foot[2].caption("Training now: watch it on Train it yourself; this row updates when the page reruns.")
                else:
                    foot[2].button(f"Run {ui_name(v.claim.experiment)}", key=f"claims_run_{v.claim.key}",
                                   help=f"Start the {C.PRESET_NAMES[v.claim.experiment]} experiment here (shared).",
                                   on_click=_run_preset, args=(v.claim.experiment,), icon=":material/play_arrow:")
    return rows


def ui_name(preset: str) -> str:
    """Return a preset's short name for a button."""
    return {"default": "dense vs grouped", "memorise": "memorisation", "lr_sweep": "LR sweep"}[preset]


def measurements_now(interference: tuple[bool, bool] | None) -> C.Measurements:
    """Return the registry's measurements with the interference check's result added."""
    from dataclasses import replace

    return replace(ev.measurements(), interference=interference)


def runs_used() -> str:
    """Return the sentence naming the runs behind the measured verdicts."""
    return ev.runs_used()


__all__ += ["measurements_now", "ui_name", "runs_used"]
