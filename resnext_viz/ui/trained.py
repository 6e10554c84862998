"""A network trained here as the source of Group features and Gradients: the run, the test image, the layer.

The runs live in train.runner.REGISTRY (this server's memory); a run named in the URL that is
not there any more (the server restarted) falls back to the newest one with a notice.
"""

from __future__ import annotations

from functools import partial
from typing import Callable

import numpy as np
import streamlit as st

from resnext_viz.inside import figures as ff
from resnext_viz.inside import grid_png as gpng
from resnext_viz.inside import summaries as fp
from resnext_viz.train import inside as T

from .inside import fit_choice
from .present import main_figure
from .state import Field, seed, show_notices, sync_url
from .widgets import figure

TRAINED_SOURCE, TRAINED_LABEL = "trained", "A network trained here"
RUN_FIELD = Field("trained_run", "run", "", label="trained run")
TEST_IMAGE_FIELD = Field("trained_image", "test_image", 0, 0, 99_999, label="test image")
TRAINED_LAYER_FIELD = Field("trained_layer", "trained_layer", "block1.conv2", label="trained layer",
                            options=tuple(T.layer_names()))
VIEWS = ("Channel correlation", "Energy per group", "Top channel per group")  # Group features' lazy tabs
VIEW_FIELD = Field("feat_view", "view", VIEWS[0], label="view", options=VIEWS)
GRAD_VIEWS = ("Gradient on the input", "Grouped vs dense")  # Gradients' lazy tabs
GRAD_VIEW_FIELD = Field("grad_view", "grad_view", GRAD_VIEWS[0], label="view", options=GRAD_VIEWS)
_FIELDS = [RUN_FIELD, TEST_IMAGE_FIELD, TRAINED_LAYER_FIELD]
__all__ = ["gradient_sections", "TRAINED_SOURCE", "TRAINED_LABEL", "RUN_FIELD", "TEST_IMAGE_FIELD", "TRAINED_LAYER_FIELD", "Trained",
           "trained_source", "trained_features", "trained_gradients", "trained_gradients_view",
           "group_feature_sections"]


@st.cache_resource(show_spinner=False, max_entries=4, ttl=3600)
def _net(name: str, token: int, _run):
    from resnext_viz.train.evidence import trained_net

    return trained_net(_run)  # the session's own copy is never changed: probes read it in eval form


class Trained:
    """What the learner chose: the run, its net, the test image and the grouped layer."""

    def __init__(self, run, layer: str, index: int):
        self.run, self.layer, self.name = run, layer, T.run_id(run)
        self.token = id(run)  # a run trained again under the same name is another object
        self.net = _net(self.name, self.token, run)
        self.image = T.test_image(self.net, run, index)


def _link_to_train() -> None:
    from streamlit.errors import StreamlitAPIException

    try:
        st.page_link("pages/train.py", label="Train it yourself", icon=":material/arrow_forward:")
    except (StreamlitAPIException, KeyError):
        st.markdown("Open **Train it yourself** in the sidebar.")


def _show_image(img: T.TestImage) -> None:
    arr = img.x.numpy().transpose(1, 2, 0)  # (H, W, C) in [0, 1]
    arr = arr[:, :, 0] if arr.shape[2] == 1 else arr
    big = np.kron(arr, np.ones((160 // arr.shape[0], 160 // arr.shape[0]) + (() if arr.ndim == 2 else (1,))))
    st.image(big.clip(0, 1), width=160, caption=f"Test image {img.index}, enlarged (each pixel drawn as a square)")


def trained_source(notices: list[str]) -> Trained | None:
    """Draw the run, test image and layer choices; return the choice, or None (with a notice) when no run has finished."""
    notices += seed(_FIELDS)
    ss = st.session_state
    runs = T.grouped_runs()
    show_notices(notices)
    if not runs:
        st.info("No grouped network has finished training on this server yet (finished runs live in the server's "
                "memory; a restart forgets them). Train one on Train it yourself: one epoch of the default "
                "experiment is enough, then come back here.", icon=":material/model_training:")
        _link_to_train()
        sync_url(_FIELDS)
        return None
    names = [T.run_id(r) for r in runs]
    if ss.get(RUN_FIELD.key) not in names:
        if ss.get(RUN_FIELD.key):
            st.warning(f"The trained network **{ss[RUN_FIELD.key]}** is not on this server (finished runs live in "
                       f"memory; a restart forgets them). Showing the newest one, **{names[0]}**.",
                       icon=":material/link_off:")
        ss[RUN_FIELD.key] = names[0]
    if ss.get(TRAINED_LAYER_FIELD.key) not in T.layer_names():
        ss[TRAINED_LAYER_FIELD.key] = TRAINED_LAYER_FIELD.default
    c1, c2, c3 = st.columns([5, 3, 2], vertical_alignment="bottom")
    by_name = dict(zip(names, runs))
    name = c1.selectbox("Trained network", names, key=RUN_FIELD.key, persist_state="session",
                        format_func=lambda n: T.option_label(by_name[n]))
    run = by_name[name]
    layer = c2.radio("Grouped 3×3", T.layer_names(), key=TRAINED_LAYER_FIELD.key, persist_state="session",
                     horizontal=True)
    last = T.test_size(run) - 1
    if not 0 <= ss.get(TEST_IMAGE_FIELD.key, 0) <= last:
        st.warning(f"Test image {ss[TEST_IMAGE_FIELD.key]} does not exist in {run.config.dataset}'s test split "
                   f"(0 to {last}); showing image 0.", icon=":material/link_off:")
        ss[TEST_IMAGE_FIELD.key] = 0
    index = c3.number_input(f"Test image (0–{last})", 0, last, step=1, key=TEST_IMAGE_FIELD.key,
                            persist_state="session")
    sync_url(_FIELDS)
    chosen = Trained(run, layer, int(index))
    img, names_ = chosen.image, chosen.image.classes
    left, right = st.columns([1, 4], vertical_alignment="center")
    with left:
        _show_image(img)
    right.markdown(f"{T.describe(run)}\n\nTest image {img.index}: true class **{names_[img.label]}**; the trained "
                   f"net predicts **{names_[img.predicted]}** ({img.probabilities[img.predicted]:.1%})"
                   + (", correctly." if img.label == img.predicted else ", wrongly."))
    return chosen


@st.cache_data(show_spinner="Running the test image through the trained network…", max_entries=32, ttl=3600)
def _features(name: str, token: int, layer: str, index: int, _t: Trained):
    return T.features(_t.net, layer, _t.image.x), T.init_ratio(_t.run, layer, _t.image.x)


def trained_features(t: Trained):
    """Return (summaries.Features of the chosen layer, the same layer's inside ÷ across ratio at initialisation)."""
    return _features(t.name, t.token, t.layer, t.image.index, t)


@st.cache_data(show_spinner="Backpropagating to the trained network's grouped layer…", max_entries=48, ttl=3600)
def _gradients(name: str, token: int, layer: str, index: int, kind: str, target: int, _t: Trained):
    from resnext_viz.inside.gradients import GradTarget

    return T.gradients(_t.net, layer, _t.image.x, GradTarget(kind, target))


def trained_gradients(t: Trained, kind: str, target: int):
    """Return summaries.GradSummary of the target backpropagated to the chosen layer of the trained net (cached)."""
    return _gradients(t.name, t.token, t.layer, t.image.index, kind, target, t)


def group_feature_sections(f, shown, base=None, png_name: str = "feature_maps.png", init_ratio: float | None = None,
                           init_seed: int | None = None, data_key=None) -> None:
    """Draw Group features' figures for a Features summary: maps, energy, correlation (with baselines), top channels.

    `data_key` names the summary (picture, network, layer): its figures are then kept and reused (ui.figure).
    """
    shown = list(shown)
    keyed = (lambda *part: (data_key, *part)) if data_key is not None else (lambda *part: None)
    st.caption(f"Output of the grouped convolution (before batch norm and ReLU), {f.channels} channels in {f.groups} "
               f"groups of {f.per_group}. Each frame holds one group's channels, left to right and top to bottom, "
               f"framed in that group's colour on every page. Blue is negative, red positive; every group has its "
               f"own scale (its largest |value| is full colour), so compare channels within a frame.")
    with main_figure():  # presentation mode draws it under the title
        figure(lambda: ff.feature_maps(f.act, f.groups, shown), "feature_maps", "feat_maps",
               cache_key=keyed("maps", tuple(shown)))
    st.download_button("Download these maps as one PNG", data=partial(gpng.feature_grid_png, f.act, f.groups, shown,
                                                                      f.title), file_name=png_name,
                       mime="image/png", icon=":material/image:", on_click="ignore", key="feat_png")
    st.subheader("Do the channels of a group work together?", anchor=False)
    if f.within is not None:
        m = st.columns(3)
        m[0].metric("Mean |corr| inside a group", f"{f.within:.3f}", help="between different channels of one group")
        m[1].metric("Mean |corr| across groups", f"{f.across:.3f}", help="between channels of different groups")
        m[2].metric("Inside ÷ across", f"{f.ratio:.2f}×")
        if base:
            m = st.columns(3)
            m[0].metric("Random-init baseline", f"{base.random_init:.2f}×", help="the same layer of ResNeXt-50 "
                        "with seeded random weights, same picture: what the wiring alone gives")
            m[1].metric("Dense layer cut into fake groups", f"{base.dense_fake:.2f}×", help="a dense 3×3 of this "
                        "shape, seeded random weights, same input, its outputs cut into the same groups: no wiring")
            m[2].metric("Inputs shuffled first", f"{base.shuffled:.2f}×", help="these weights, the layer's input "
                        f"channels permuted (seed {base.seed}) before grouping: each group reads scattered channels")
        elif init_ratio is not None:
            st.metric("The same network before training", f"{init_ratio:.2f}×", help=f"inside ÷ across for this layer "
                      f"with the run's initial weights (seed {init_seed}), same test image: what wiring alone gives")
    # One figure at a time: every changed Plotly figure is remounted by Streamlit's frontend (~0.2–0.35 s each
    # on a 2-core machine, bench_browser), so the tabs run lazily and only the open one is drawn.
    notices = seed([VIEW_FIELD])
    show_notices(notices)
    corr_tab, energy_tab, top_tab = st.tabs(list(VIEWS), key=VIEW_FIELD.key, on_change="rerun")
    sync_url([VIEW_FIELD])
    if corr_tab.open:
        with corr_tab:
            figure(lambda: ff.correlation_heatmap(f.corr, f.corr_step, f.channels, f.groups, f.within, f.across),
                   "channel_correlation", "feat_corr", cache_key=keyed("corr"))
            st.markdown(fp.correlation_text(base is not None))
            if f.corr_step > 1:
                st.caption(f"{f.channels} channels are too many to draw one by one: each cell averages "
                           f"{f.corr_step}×{f.corr_step} channel pairs; the numbers above use every pair.")
    if energy_tab.open:
        with energy_tab:
            st.caption("How strongly each group responds: the mean square of its channels' outputs over every position.")
            figure(lambda: ff.group_energy_bars(f.energy, shown), "group_energy", "feat_energy",
                   cache_key=keyed("energy", tuple(shown)))
    if top_tab.open:
        with top_tab:
            st.caption("What each group responds to most: in each group, the channel with the largest mean square.")
            figure(lambda: ff.top_channels(f.act, f.groups, f.top_channel), "top_channel_per_group", "feat_top",
                   cache_key=keyed("top"))


_GRAD_FIELDS = [Field("trained_group", "trained_group", 0, 0, 4095, label="trained group"),
                Field("trained_target", "trained_target", "group", label="trained target",
                      options=("class", "group", "channel")),
                Field("trained_class", "trained_class", -1, -2, 999, label="trained class"),
                Field("trained_channel", "trained_channel", -1, -1, 8191, label="trained channel")]


def trained_gradients_view(t: Trained, targets: dict[str, str]) -> None:
    """Draw the Gradients page for the trained source: the target's controls, exact zeros and per-group norms."""
    from resnext_viz.train.inside import layer_info

    notices = seed(_GRAD_FIELDS)
    ss, info = st.session_state, layer_info(t.net, t.layer)
    G, per, img = info.groups, info.out_per_group, t.image
    for f, options in ((_GRAD_FIELDS[0], range(G)), (_GRAD_FIELDS[2], range(-2, len(img.classes)))):
        fit_choice(f, list(options), notices)
    if ss.get("trained_group") in range(G):
        fit_choice(_GRAD_FIELDS[3], list(range(ss["trained_group"] * per, (ss["trained_group"] + 1) * per)), notices)
    show_notices(notices)
    c2, c3, c4 = st.columns([2, 3, 5], vertical_alignment="bottom")
    g = c2.selectbox("Output group g", list(range(G)), persist_state="session", key="trained_group",
                     format_func=lambda k: f"group {k}")
    kind = c3.selectbox("Backpropagate", list(targets), persist_state="session", key="trained_target",
                        format_func=targets.get)
    if kind == "class":
        cls = c4.selectbox("Class", [-1, -2, *range(len(img.classes))], persist_state="session", key="trained_class",
                           format_func=lambda k: {-1: f"predicted: {img.classes[img.predicted]}",
                                                  -2: f"true: {img.classes[img.label]}"}.get(k, f"{k}: {img.classes[k]}"
                                                                                             if k >= 0 else ""))
        index = {-1: img.predicted, -2: img.label}.get(cls, cls)
    elif kind == "channel":
        fit_choice(_GRAD_FIELDS[3], list(range(g * per, (g + 1) * per)), [])  # g changed in this run: no notice
        index = c4.selectbox(f"Channel of group {g}", list(range(g * per, (g + 1) * per)), persist_state="session",
                             key="trained_channel", format_func=lambda c: f"channel {c}")
    else:
        index = g
        c4.caption(f"E = sum of squares of channels {g * per}–{(g + 1) * per - 1} over every position.")
    sync_url(_GRAD_FIELDS)
    grads = trained_gradients(t, kind, int(index))
    gradient_sections(grads, t.layer, G, kind, int(index), inputs_metric=True)
    st.caption("The grouped-vs-dense comparison is drawn for ResNeXt-50's layers (pick that source above).")


def gradient_sections(grads, layer: str, G: int, kind: str, index: int, detail: str = "",
                      inputs_metric: bool = False, dense: Callable[[], None] | None = None) -> None:
    """Draw the exact-zero metrics and the per-group gradient norms of one target (every Gradients source).

    `detail` ends the weight metric's help (e.g. the C_in/G·k·k count); `inputs_metric` adds the
    exact zeros on the inputs outside the target's group; `dense` draws the grouped-vs-dense section, which
    then shares lazy tabs with the input's gradient.
    """
    st.subheader("Which groups' weights get gradient", anchor=False)
    if kind == "class":
        st.info(fp.class_target_text(layer, G), icon=":material/call_merge:")
    if grads.own_weights is not None:
        own = f"channel {index}'s filter" if kind == "channel" else f"group {grads.target_group}'s filters"
        st.metric(f"Weights outside {own} whose gradient is exactly 0" if kind == "channel" else
                  f"Weights of the other {G - 1} groups whose gradient is exactly 0",
                  f"{grads.zero_weight_grads_elsewhere:,} of {grads.weights_elsewhere:,}",
                  help=f"dTarget/dW counted weight by weight; only the {grads.own_weights:,} weights of {own} can move "
                       f"this target{detail}.")
        if inputs_metric:
            st.metric(f"Input values outside input group {grads.target_group} whose gradient is exactly 0",
                      f"{grads.zero_input_grads_outside:,} of {grads.inputs_outside:,}",
                      help="group g's filters read only input group g: the other inputs cannot move this target")
    with main_figure():  # presentation mode draws it under the title
        figure(ff.grad_norm_bars(grads.weight_grad_norm, f"‖dTarget/dW‖ of each group's filters in {layer}",
                                 "gradient norm", "weight", grads.target_group), "grad_weight_norms", "grad_w")
    def input_norms() -> None:
        figure(ff.grad_norm_bars(grads.input_grad_norm, f"‖dTarget/dinput‖ over each input group of {layer}",
                                 "gradient norm", "input", grads.target_group), "grad_input_norms", "grad_x")

    if dense is None:
        st.subheader("How much gradient reaches each group of the layer's input", anchor=False)
        input_norms()
        return
    # One more figure at a time, as on Group features: only the open tab is computed, sent and drawn.
    show_notices(seed([GRAD_VIEW_FIELD]))
    inputs_tab, dense_tab = st.tabs(list(GRAD_VIEWS), key=GRAD_VIEW_FIELD.key, on_change="rerun")
    sync_url([GRAD_VIEW_FIELD])
    if inputs_tab.open:
        with inputs_tab:
            st.caption("How much gradient reaches each group of the layer's input.")
            input_norms()
    if dense_tab.open:
        with dense_tab:
            dense()
