"""The convolution lessons' controls: the conv spec in the URL, presets, the group fix, PyTorch's counts."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from resnext_viz.conv import arithmetic as cm

from .widgets import number
from .state import Field, current_page_id, url_state, seed, show_notices, sync_url

# ---------------------------------------------------------------- the convolution controls

CONV_FIELDS = [
    Field("conv_c_in", "c_in", cm.ConvSpec.c_in, *cm.BOUNDS["c_in"], label="input channels"),
    Field("conv_c_out", "c_out", cm.ConvSpec.c_out, *cm.BOUNDS["c_out"], label="output channels"),
    Field("conv_kh", "kh", cm.ConvSpec.kh, *cm.BOUNDS["kh"], label="kernel height"),
    Field("conv_kw", "kw", cm.ConvSpec.kw, *cm.BOUNDS["kw"], label="kernel width"),
    Field("conv_square", "square", True, label="square kernel"),
    Field("conv_groups", "groups", cm.ConvSpec.groups, *cm.BOUNDS["groups"], label="groups"),
    Field("conv_bias", "bias", cm.ConvSpec.bias, label="bias"),
    Field("conv_h", "h", cm.ConvSpec.h, *cm.BOUNDS["h"], label="input height"),
    Field("conv_w", "w", cm.ConvSpec.w, *cm.BOUNDS["w"], label="input width"),
    Field("conv_stride", "stride", cm.ConvSpec.stride, *cm.BOUNDS["stride"], label="stride"),
    Field("conv_padding", "padding", cm.ConvSpec.padding, *cm.BOUNDS["padding"], label="padding"),
]


def spec_from_values(v: dict) -> cm.ConvSpec:
    """Return the ConvSpec of a dict of conv_* session values (kernel width follows height when square)."""
    kw = v["conv_kh"] if v["conv_square"] else v["conv_kw"]
    return cm.ConvSpec(c_in=v["conv_c_in"], c_out=v["conv_c_out"], kh=v["conv_kh"], kw=kw,
                       groups=v["conv_groups"], bias=v["conv_bias"], h=v["conv_h"], w=v["conv_w"],
                       stride=v["conv_stride"], padding=v["conv_padding"])


def _spec_problem(v: dict) -> str | None:
    try:
        cm.validate(spec_from_values(v))
    except cm.SpecError as e:
        return str(e)
    return None


@dataclass(frozen=True)
class Preset:
    """A named configuration teachers can jump to from the sidebar."""

    label: str
    blurb: str
    values: dict


PRESETS = {
    "seed": Preset("Seed example: 64→128, 3×3, G=32", "Conv2d(64, 128, kernel_size=3, groups=32)",
                   dict(c_in=64, c_out=128, kh=3, groups=32)),
    "dense": Preset("Dense: G = 1", "An ordinary convolution: every output sees every input.",
                    dict(c_in=64, c_out=128, kh=3, groups=1)),
    "depthwise": Preset("Depthwise: G = C_in = C_out", "MobileNet's depthwise 3×3: one channel per group.",
                        dict(c_in=64, c_out=64, kh=3, groups=64)),
    "resnext50": Preset("ResNeXt-50 stage 1: 128→128, G=32", "The grouped 3×3 in ResNeXt-50 32×4d's first stage.",
                        dict(c_in=128, c_out=128, kh=3, groups=32, padding=1)),
}


def apply_preset(name: str) -> None:
    """Set the conv controls to a preset (used as a button callback, before widgets are drawn)."""
    ss = st.session_state
    base = {f.key: f.default for f in CONV_FIELDS}
    for k, v in PRESETS[name].values.items():
        base[f"conv_{k}"] = v
    base["conv_kw"] = base["conv_kh"]
    base["conv_square"] = True
    state = url_state()
    for k, v in base.items():
        state.remember(k, v)
    ss["_preset_applied"] = name


def conv_controls() -> tuple[cm.ConvSpec | None, str | None]:
    """Draw the convolution controls; return (spec, None) when valid, else (None, explanation)."""
    show_notices(seed(CONV_FIELDS, _spec_problem))
    ss = st.session_state
    f = {x.key: x for x in CONV_FIELDS}
    main = [("conv_c_in", "C_in: channels of the input tensor."),
            ("conv_c_out", "C_out: channels the layer produces (its number of filters)."),
            ("conv_kh", "kH (and kW when the kernel is square)."),
            ("conv_groups", "G: how many independent slices the channels are split into. Must divide C_in and C_out.")]
    for col, (key, help) in zip(st.columns(4), main):
        with col:
            number(f[key], help)
    with st.expander("Input size, stride, padding, bias, non-square kernel", expanded=False):
        more = [("conv_h", "Input height H."), ("conv_w", "Input width W."),
                ("conv_stride", "Step of the kernel over the input."), ("conv_padding", "Zeros added on every side.")]
        for col, (key, help) in zip(st.columns(4), more):
            with col:
                number(f[key], help)
        e1, e2, e3 = st.columns([1, 1, 2])
        with e1:
            st.toggle("Bias", key="conv_bias", help="Adds C_out parameters, whatever G is.", persist_state="session")
        with e2:
            st.toggle("Square kernel", key="conv_square", persist_state="session")
        with e3:
            if not ss["conv_square"]:
                number(f["conv_kw"], "kW, the kernel width.")
    sync_url(CONV_FIELDS)
    values = {x.key: ss[x.key] for x in CONV_FIELDS}
    problem = _spec_problem(values)
    if problem:
        return None, problem
    return spec_from_values(values), None


def group_fix(problem: str) -> None:
    """Explain an invalid configuration and offer the nearest valid group count as a one-click fix."""
    ss = st.session_state
    st.error(problem, icon=":material/block:")
    c_in, c_out, g = ss["conv_c_in"], ss["conv_c_out"], ss["conv_groups"]
    if cm.group_problem(c_in, c_out, g):
        nearest = cm.nearest_valid_groups(c_in, c_out, g)
        st.button(f"Use G = {nearest} (the nearest valid group count)", key="fix_groups",
                  on_click=lambda: ss.update(conv_groups=nearest), type="primary")



# ---------------------------------------------------------------- shared sidebar

def sidebar(conv_pages: list) -> None:
    """Draw the sidebar shared by every page: presets, which lead to the parameter page when applied elsewhere."""
    with st.sidebar:
        st.subheader("Presets", anchor=False)
        st.caption("Set the convolution on Parameter math, Connectivity and Depthwise-separable.")
        for name, p in PRESETS.items():
            st.button(p.label, key=f"preset_{name}", help=p.blurb, on_click=apply_preset, args=(name,),
                      width="stretch")
    if st.session_state.pop("_preset_applied", None) and current_page_id() not in {p._script_hash for p in conv_pages}:
        st.switch_page(conv_pages[0])


@st.cache_data(show_spinner=False, max_entries=512)
def pytorch_counts(spec: cm.ConvSpec):
    """Return torch_check.pytorch_counts(spec), cached per configuration."""
    from resnext_viz.conv.torch_check import pytorch_counts as counts

    return counts(spec)
