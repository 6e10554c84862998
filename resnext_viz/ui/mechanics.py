"""The mechanics lessons' controls and cached calls: the step-through, stacked layers, the dense→depthwise slider."""

from __future__ import annotations

import streamlit as st

from resnext_viz import budget
from resnext_viz.conv import arithmetic as cm
from resnext_viz.conv import connectivity as cx
from resnext_viz.conv import figures, stacks
from resnext_viz.conv import stepthrough as sv

from .state import Field, seed, show_notices, sync_url, url_state
from .widgets import figure

__all__ = ["STEP_FIELDS", "figure_alt", "step_controls", "step_pick", "step_position", "step_torch", "STACK_FIELDS",
           "stack_controls", "stack_target", "stack_torch", "separable_torch", "group_slider"]


def figure_alt(fig, name: str, key: str, alt: str, cache_key=None) -> None:
    """Show a figure with alt text for screen readers: ui.figure (theme, export menu, data table) with this alt."""
    figure(fig, name, key, alt=alt, cache_key=cache_key)


# ---------------------------------------------------------------- the step-through

_B = sv.BOUNDS
STEP_FIELDS = [Field(f"sc_{n}", f"sc_{n}", getattr(sv.StepSpec, n), *_B[n], label=sv.LABELS[n])
               for n in ("c_in", "c_out", "groups", "h", "w", "k", "stride", "padding", "seed")]
STEP_FIELDS.append(Field("sc_dense", "sc_dense", False, label="dense comparison"))
PICK_FIELDS = [Field("sc_o", "sc_o", 0, 0, _B["c_out"][1] - 1, label="output channel"),
               Field("sc_i", "sc_i", 0, 0, 99, label="output row"),
               Field("sc_j", "sc_j", 0, 0, 99, label="output column")]
_HELP = {"c_in": "C_in, the input's channels.", "c_out": "C_out, the output's channels (filters).",
         "groups": "G: must divide C_in and C_out.", "h": "Input height H.", "w": "Input width W.",
         "k": "Kernel size k (k × k).", "stride": "Step of the window.", "padding": "Zeros added on every side.",
         "seed": "Seed of the random small integers (input 0…4, weights −1…1, bias −2…2)."}


def _apply_step_preset(name: str) -> None:
    state = url_state()
    values = {**{f.key: f.default for f in STEP_FIELDS}, **{f"sc_{k}": v for k, v in sv.PRESETS[name][2].items()}}
    for k, v in values.items():
        state.remember(k, v)


def step_controls() -> tuple[sv.StepSpec | None, str | None]:
    """Draw the step-through's size controls and presets; return (spec as shown, None) or (None, the problem)."""
    ss = st.session_state
    show_notices(seed(STEP_FIELDS))
    cols = st.columns(len(sv.PRESETS))
    for col, (name, (label, blurb, _)) in zip(cols, sv.PRESETS.items()):
        col.button(label, key=f"sc_preset_{name}", help=blurb, on_click=_apply_step_preset, args=(name,),
                   width="stretch")
    f = {x.key: x for x in STEP_FIELDS}
    for row in (("c_in", "c_out", "groups", "k", "seed"), ("h", "w", "stride", "padding")):
        cols = st.columns(5, vertical_alignment="bottom")
        for col, n in zip(cols, row):
            col.number_input(f[f"sc_{n}"].label.capitalize(), f[f"sc_{n}"].lo, f[f"sc_{n}"].hi, step=1,
                             key=f"sc_{n}", help=_HELP[n], persist_state="session")
    cols[4].toggle("Dense, G = 1", key="sc_dense", persist_state="session",
                   help="The same input with a dense filter: every output channel reads all input channels.")
    sync_url(STEP_FIELDS)
    values = {n: ss[f"sc_{n}"] for n in ("c_in", "c_out", "groups", "h", "w", "k", "stride", "padding", "seed")}
    spec = sv.StepSpec(**values)
    if ss["sc_dense"]:
        spec = spec.with_(groups=1)
    try:
        sv.validate(spec)
    except ValueError as e:
        return None, str(e)
    return spec, None


def _seed_pick(s: sv.StepSpec, fields: list[Field], tops: tuple[int, ...], notices: bool) -> None:
    ss = st.session_state
    found = seed(fields)
    if notices:
        show_notices(found)
    for f, top in zip(fields, tops):
        if ss[f.key] >= top:                          # a smaller layer than the remembered choice
            ss[f.key] = top - 1


def step_position(s: sv.StepSpec) -> tuple[int, int]:
    """Return the chosen output position (i, j), within s's output, without drawing its widgets."""
    _seed_pick(s, PICK_FIELDS[1:], s.out_hw, False)
    return st.session_state["sc_i"], st.session_state["sc_j"]


def step_pick(s: sv.StepSpec, which: str) -> int | tuple[int, int]:
    """Draw the output channel ('o') or position ('ij') choice within s's output; return it."""
    ho, wo = s.out_hw
    fields = PICK_FIELDS[:1] if which == "o" else PICK_FIELDS[1:]
    _seed_pick(s, fields, (s.c_out,) if which == "o" else (ho, wo), True)
    if which == "o":
        o = st.columns([2, 3])[0].selectbox("Output channel o", list(range(s.c_out)), key="sc_o",
                                            persist_state="session",
                                            format_func=lambda v: f"{v} (group {sv.group_of(s, v)})")
        sync_url(fields)
        return o
    c1, c2, _ = st.columns([1, 1, 3])
    i = c1.selectbox("Output row i", list(range(ho)), key="sc_i", persist_state="session")
    j = c2.selectbox("Output column j", list(range(wo)), key="sc_j", persist_state="session")
    sync_url(fields)
    return i, j


@st.cache_data(show_spinner=False, max_entries=256)
def step_torch(s: sv.StepSpec):
    """Return F.conv2d's whole output (C_out, H_out, W_out) on the step-through's tensors, cached per spec."""
    from resnext_viz.conv import mech_torch

    return mech_torch.conv2d(s, sv.tensors(s))


# ---------------------------------------------------------------- stacked layers

STACK_FIELDS = [Field("stk_c", "stk_c", 16, 1, stacks.MAX_CHANNELS, label="width c"),
                Field("stk_layers", "stk_layers", "g4, shuffle4, g4", label="layers"),
                Field("stk_target", "stk_target", 0, 0, stacks.MAX_CHANNELS - 1, label="target group")]


def _apply_stack_preset(name: str) -> None:
    url_state().remember("stk_layers", ", ".join(stacks.PRESETS[name][1]))
    url_state().remember("stk_c", 16)


def stack_controls() -> tuple[int, str]:
    """Draw the width, the layer codes and the presets; return (c, the codes as typed)."""
    show_notices(seed(STACK_FIELDS[:2]))
    for col, (name, (label, _)) in zip(st.columns(len(stacks.PRESETS)), stacks.PRESETS.items()):
        col.button(label, key=f"stk_preset_{name}", on_click=_apply_stack_preset, args=(name,), width="stretch")
    c1, c2 = st.columns([1, 3])
    f = STACK_FIELDS[0]
    c = c1.number_input("Width c (every layer)", f.lo, f.hi, step=1, key="stk_c", persist_state="session",
                        help=f"Channels in and out of every layer, 1 to {stacks.MAX_CHANNELS}.")
    codes = c2.text_input("Layers, first to last", key="stk_layers", persist_state="session",
                          help=f"Comma-separated, up to {stacks.MAX_LAYERS}: g{{G}} is a grouped convolution "
                               "(g1 dense), shuffle{G} a channel shuffle.")
    divs = cm.divisors(int(c))
    a1, a2, a3, a4 = st.columns([2, 2, 1.4, 1.4], vertical_alignment="bottom")
    kind = a1.selectbox("Next layer", ["grouped conv", "dense conv", "channel shuffle"], key="stk_kind",
                        persist_state="session")
    if st.session_state.get("stk_next_g") not in divs:   # first visit, or a width the old G does not divide
        st.session_state["stk_next_g"] = divs[min(2, len(divs) - 1)]
    g = a2.selectbox("its G", divs, key="stk_next_g", persist_state="session",
                     disabled=kind == "dense conv")
    code = "g1" if kind == "dense conv" else f"{'shuffle' if kind == 'channel shuffle' else 'g'}{g}"
    a3.button(f"Add {code}", key="stk_add", on_click=_edit_stack, args=(code,), width="stretch")
    a4.button("Remove last", key="stk_pop", on_click=_edit_stack, args=(None,), width="stretch")
    sync_url(STACK_FIELDS[:2])
    return c, codes


def _edit_stack(code: str | None) -> None:
    """Button callback: append a layer code to the stack, or drop the last one (code None)."""
    items = [x.strip() for x in str(st.session_state.get("stk_layers", "")).split(",") if x.strip()]
    items = items + [code] if code else items[:-1]
    url_state().remember("stk_layers", ", ".join(items))


def stack_target(groups: int) -> int:
    """Draw the choice of the output group a target reads (of `groups` blocks); return it."""
    ss = st.session_state
    show_notices(seed(STACK_FIELDS[2:]))
    if ss["stk_target"] >= groups:
        ss["stk_target"] = 0
    g = st.columns([2, 3])[0].selectbox(f"Target: the sum of output group g (of {groups} blocks)", list(range(groups)),
                     key="stk_target", persist_state="session")
    sync_url(STACK_FIELDS[2:])
    return g


@st.cache_data(show_spinner=False, max_entries=256)
def stack_torch(c: int, layers: tuple[str, ...], target: tuple[int, ...]):
    """Return (autograd's Jacobian pattern, its exact zeros for the target) of a random float64 stack, cached."""
    from resnext_viz.conv import mech_torch

    return mech_torch.jacobian_pattern(c, layers), mech_torch.zero_gradients(c, layers, target)


@st.cache_data(show_spinner=False, max_entries=256)
def separable_torch(spec: cm.ConvSpec) -> dict[str, tuple[int, int]]:
    """Return each design layer's (sum(p.numel()), FlopCounterMode FLOPs / 2) from nn.Conv2d on the meta device."""
    from resnext_viz.conv import mech_torch, separable

    d = separable.designs(spec)
    return {x.name: mech_torch.meta_params(x.spec.c_in, x.spec.c_out, (x.spec.kh, x.spec.kw), x.spec.groups, x.spec.h,
                                           x.spec.w, x.spec.stride, x.spec.padding)
            for x in (d.standard, d.grouped, d.depthwise, d.pointwise)}


# ---------------------------------------------------------------- one slider from dense to depthwise

QUICK_BUDGET_S = 0.25     # timed calls after warm-up: a glance, not the lab
QUICK_MAX_S = 3.0         # refuse a quick timing the shape says could take longer


def _quick_problem(spec: cm.ConvSpec) -> str | None:
    rate = budget.DENSE_MACS_PER_S if spec.groups == 1 else budget.GROUPED_MACS_PER_S
    call = cm.macs(spec) / rate + budget.CALL_OVERHEAD_S
    elements = spec.c_in * spec.h * spec.w + cm.output_shape(spec)[1] * cm.output_hw(spec)[0] * cm.output_hw(spec)[1]
    est = budget.Estimate(5 * call + max(3 * call, QUICK_BUDGET_S),
                          int(4 * (elements + cm.weight_count(spec)) * budget.MEMORY_SAFETY))
    lim = budget.limits()
    return budget.check(est, "The quick timing", "the input size or the channels",
                        budget.Limits(min(lim.seconds, QUICK_MAX_S), lim.bytes))


@st.cache_data(show_spinner="Timing this layer here…", max_entries=512)
def _quick_time(spec: cm.ConvSpec):
    from resnext_viz.conv import mech_torch

    return mech_torch.time_conv(spec.c_in, spec.c_out, (spec.kh, spec.kw), spec.groups, spec.h, spec.w,
                                spec.stride, spec.padding, QUICK_BUDGET_S)


@st.fragment
def group_slider(spec: cm.ConvSpec) -> None:
    """Draw one slider over the valid group counts that moves connectivity, weight slices, counts and a timing.

    A fragment: moving the slider reruns this section only (it reads nothing else on the page); a change of
    the layer's own controls reruns the page and this with it.
    """
    ss = st.session_state
    valid = cm.valid_groups(spec.c_in, spec.c_out)
    field = Field("slider_groups", "slide_g", 1, 1, cm.MAX_CHANNELS, label="slider group count")
    show_notices(seed([field]))
    if ss["slider_groups"] not in valid:
        ss["slider_groups"] = cm.nearest_valid_groups(spec.c_in, spec.c_out, ss["slider_groups"])
    st.subheader("From dense to depthwise, one slider", anchor=False)
    st.caption(f"Only the {len(valid)} valid group counts of {spec.c_in} → {spec.c_out} are offered: the common "
               f"divisors of C_in and C_out, 1 (dense) to gcd = {valid[-1]}"
               + (" (depthwise, one input channel per group)." if spec.c_in == spec.c_out else "."))
    if len(valid) == 1:
        st.info(f"{spec.c_in} and {spec.c_out} share no divisor above 1: only G = 1 is valid.")
        g = 1
        ss["slider_groups"] = 1
    else:
        g = st.select_slider("Groups G", valid, key="slider_groups", persist_state="session")
    sync_url([field])
    s = spec.with_(groups=g)
    m1, m2, m3 = st.columns(3)
    m1.metric("Parameters", cm.fmt_int(cm.param_count(s)), help="C_in · C_out · kH · kW / G (+ C_out with bias)")
    m2.metric("MACs", cm.fmt_int(cm.macs(s)), help="C_out · H_out · W_out · (C_in/G) · kH · kW")
    note = st.empty()  # the timing is filled in after the figures: a first visit waits for torch only there
    left, right = st.columns(2, gap="large")
    with left:
        figure_alt(lambda: figures.connection_mask(s.c_in, s.c_out, g), "slider_connectivity", "slider_mask",
                   f"The {s.c_out} by {s.c_in} connection mask at G = {g}: "
                   f"{cm.fmt_int(cx.edge_count(s.c_in, s.c_out, g))} connections, block-diagonal for G above 1.",
                   cache_key=(s.c_in, s.c_out, g))
    with right:
        figure_alt(lambda: figures.weight_slices(s), "slider_weights", "slider_w",
                   f"The weight tensor {cm.weight_shape(s)} drawn as {g} per-group slices.", cache_key=s)
    problem = _quick_problem(s)
    if problem:
        m3.metric("Measured here", "not run")
        note.caption(problem)
    else:
        with m3, st.spinner("Timing this layer…"):
            t = _quick_time(s)
        m3.metric("Measured here (median)", t.summary().split(" (")[0],
                  help="On this server's CPU: one thread, float32, batch 1, forward only.")
        note.caption(f"Measured here, on this server's CPU (one thread, float32, batch 1, forward): {t.summary()}. "
                     f"{t.note} Timed once per configuration and kept; the Performance lab times every G with a longer "
                     "budget.")
