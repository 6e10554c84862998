"""The only module that imports streamlit: URL state, shared widgets, cached loaders, export menu.

Pages stay thin by calling into here. Rules kept here so every page follows them:
- every control lives under a session key and is mirrored in the URL (`st.query_params`);
- a value from a link that is not a number, out of range or inconsistent falls back to
  the default with a notice on the page;
- cached objects (st.cache_resource / st.cache_data) are shared by all sessions and never
  mutated.
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from . import conv_math as cm
from . import export as ex

PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"],
                 "toImageButtonOptions": {"scale": 2}}


# ---------------------------------------------------------------- routing


def require_app() -> None:
    """Make sure this page runs inside app.py's st.navigation; call first in every page.

    Because the product keeps its lessons in a folder named `pages/`, Streamlit starts in
    its legacy "pages directory" mode and, until app.py has called st.navigation once, a
    link straight to a lesson (e.g. /parameters after a restart) would run the page file
    on its own: no shared sidebar, no page config. Switching the mode off and rerunning
    sends that first request through app.py like every other.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


# ---------------------------------------------------------------- URL state


@dataclass(frozen=True)
class Field:
    """One control: its session key, URL name, default and allowed values."""

    key: str                  # session_state key of the widget
    url: str                  # query-parameter name
    default: Any
    lo: int | None = None     # bounds for ints
    hi: int | None = None
    label: str = ""
    options: tuple = ()       # allowed values of a text field, or of each item of a list field

    def parse(self, raw: str) -> Any:
        """Return the value of a URL string, or raise ValueError with a sentence for the notice."""
        if isinstance(self.default, (list, tuple)):
            try:
                items = [int(x) for x in raw.split(",") if x.strip()]
            except ValueError:
                raise ValueError(f"'{raw}' is not a comma-separated list of whole numbers") from None
            bad = [x for x in items if self.options and x not in self.options]
            if bad or not items:
                raise ValueError(f"'{raw}' has values outside {', '.join(map(str, self.options))}")
            return items
        if isinstance(self.default, bool):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"'{raw}' is not on/off")
        if isinstance(self.default, int):
            try:
                value = int(raw.strip())
            except ValueError:
                raise ValueError(f"'{raw}' is not a whole number") from None
            if not (self.lo is None or value >= self.lo) or not (self.hi is None or value <= self.hi):
                raise ValueError(f"{value} is outside {self.lo}–{self.hi}")
            return value
        if self.options and raw not in self.options:
            raise ValueError(f"'{raw}' is not one of {', '.join(map(str, self.options))}")
        return raw

    def dump(self, value: Any) -> str:
        """Return the URL string of a value."""
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, (list, tuple)):
            return ",".join(str(x) for x in value)
        return str(value)


def current_page_id() -> str:
    """Return an id of the page being run (its script hash), '' outside a Streamlit run."""
    ctx = get_script_run_ctx()
    return ctx.page_script_hash if ctx else ""


def _canon() -> dict:
    return st.session_state.setdefault("_canon", {})


def seed(fields: list[Field], consistent: Callable[[dict], str | None] | None = None) -> list[str]:
    """Put every field's value in session state before its widget is drawn; return notices.

    A value comes from the URL when the link carries one this session has not written
    itself (a shared link, an edited address), else from what this session last chose
    (kept across page switches), else the default.
    """
    ss = st.session_state
    canon = _canon()
    written = ss.setdefault("_url_written", {})
    notices: list[str] = []
    from_url: dict[str, Any] = {}
    for f in fields:
        raw = st.query_params.get(f.url)
        if raw is None or written.get(f.url) == raw:
            continue
        try:
            from_url[f.key] = f.parse(raw)
        except ValueError as why:
            notices.append(f"The link's **{f.label or f.url}** value was ignored ({why}); "
                           f"using the default, {f.dump(f.default) if not isinstance(f.default, bool) else f.default}.")
            from_url[f.key] = f.default
    if from_url and consistent is not None:
        trial = {f.key: from_url.get(f.key, ss.get(f.key, canon.get(f.key, f.default))) for f in fields}
        problem = consistent(trial)
        if problem:
            notices.append(f"The link's settings do not fit together — {problem} "
                           "Showing the default configuration instead.")
            from_url = {f.key: f.default for f in fields}
    # A widget drawn on another page is a different widget to Streamlit: re-seed its key
    # from the remembered value whenever the page changes.
    page = current_page_id()
    seeded_on = ss.setdefault("_seeded_on", {})
    for f in fields:
        if f.key in from_url:
            ss[f.key] = from_url[f.key]
        elif f.key not in ss or seeded_on.get(f.key) != page:
            ss[f.key] = canon.get(f.key, f.default)
        seeded_on[f.key] = page
    return notices


def sync_url(fields: list[Field]) -> None:
    """Remember the fields' current values across pages and mirror them in the URL."""
    ss = st.session_state
    canon = _canon()
    written = ss.setdefault("_url_written", {})
    for f in fields:
        canon[f.key] = ss.get(f.key, f.default)
        text = f.dump(canon[f.key])
        written[f.url] = text
        if st.query_params.get(f.url) != text:
            st.query_params[f.url] = text


def show_notices(notices: list[str]) -> None:
    """Show the URL fallback notices, if any, at the top of the page."""
    for n in notices:
        st.warning(n, icon=":material/link_off:")


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
    for k, v in base.items():
        ss[k] = v
        _canon()[k] = v
    ss["_preset_applied"] = name


def _bound_note(value: int, f: Field) -> None:
    if value == f.hi:
        st.caption(f"{f.hi:,} is the largest {f.label} this explainer allows.")


def conv_controls() -> tuple[cm.ConvSpec | None, str | None]:
    """Draw the convolution controls; return (spec, None) when valid, else (None, explanation)."""
    show_notices(seed(CONV_FIELDS, _spec_problem))
    ss = st.session_state
    f = {x.key: x for x in CONV_FIELDS}

    def num(key: str, help: str) -> None:
        x = f[key]
        st.number_input(x.label.capitalize(), min_value=x.lo, max_value=x.hi, step=1, key=key, help=help)
        _bound_note(ss[key], x)

    c1, c2, c3, c4 = st.columns(4)
    with c1:
        num("conv_c_in", "C_in: channels of the input tensor.")
    with c2:
        num("conv_c_out", "C_out: channels the layer produces (its number of filters).")
    with c3:
        num("conv_kh", "kH (and kW when the kernel is square).")
    with c4:
        num("conv_groups", "G: how many independent slices the channels are split into. Must divide C_in and C_out.")
    with st.expander("Input size, stride, padding, bias, non-square kernel", expanded=False):
        d1, d2, d3, d4 = st.columns(4)
        with d1:
            num("conv_h", "Input height H.")
        with d2:
            num("conv_w", "Input width W.")
        with d3:
            num("conv_stride", "Step of the kernel over the input.")
        with d4:
            num("conv_padding", "Zeros added on every side.")
        e1, e2, e3 = st.columns([1, 1, 2])
        with e1:
            st.toggle("Bias", key="conv_bias", help="Adds C_out parameters, whatever G is.")
        with e2:
            st.toggle("Square kernel", key="conv_square")
        with e3:
            if not ss["conv_square"]:
                num("conv_kw", "kW, the kernel width.")
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


# ---------------------------------------------------------------- action buttons


def request_run(name: str) -> None:
    """Button callback: remember that the action `name` was asked for (read once by run_requested)."""
    st.session_state[f"_run_{name}"] = True


def run_requested(name: str) -> bool:
    """Return True once after the action's button was pressed.

    Action buttons go through a callback rather than st.button's return value: the callback
    is handled before the script runs, so the request survives however the page was reached.
    """
    return bool(st.session_state.pop(f"_run_{name}", False))


# ---------------------------------------------------------------- figures and export


@st.cache_resource(show_spinner=False)
def browser_path() -> str | None:
    """Return the Chrome/Chromium used for static export, looked up once per process."""
    return ex.find_browser()


def _export_bytes(fig: go.Figure, fmt: str) -> bytes:
    try:
        return ex.export(fig, fmt)
    except ex.ExportUnavailable as e:  # shown as the file's content rather than a broken download
        return str(e).encode("utf-8")


def export_menu(fig: go.Figure, name: str, key: str) -> None:
    """Draw an 'Export' popover with PNG / SVG / PDF / HTML downloads built only when clicked."""
    have_browser = browser_path() is not None
    with st.popover("Export", icon=":material/download:"):
        cols = st.columns(4)
        for col, fmt in zip(cols, ex.FORMATS):
            disabled = fmt in ex.STATIC_FORMATS and not have_browser
            col.download_button(fmt.upper(), data=partial(_export_bytes, fig, fmt), file_name=f"{name}.{fmt}",
                                mime=ex.MIME[fmt], key=f"dl_{key}_{fmt}", on_click="ignore", disabled=disabled)
        if not have_browser:
            st.caption(ex.INSTALL_HINT)
        else:
            st.caption("PNG/SVG/PDF on a white background for slides; HTML is interactive and works offline.")


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def _decimals(v: float, most: int = 4) -> int:
    """Return the decimals v needs, at most `most` (0.2184 -> 4, 23.0 -> 0)."""
    text = f"{v:.{most}f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def table(records: list[dict], key: str | None = None, columns: list[str] | None = None) -> None:
    """Show records (optionally some columns) as a dataframe, each numeric column with one number format.

    Whole numbers get thousands separators, decimals the same number of places down a
    column (at least one), and a missing value shows as an em dash instead of 'None'.
    """
    import pandas as pd

    df = pd.DataFrame.from_records(records, columns=columns)
    config = {}
    for col in df.columns:
        values = [v for v in df[col] if not _missing(v)]
        numeric = values and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                                 for v in values)
        if numeric:
            whole = all(isinstance(v, (int, np.integer)) for v in values)
            places = 0 if whole else max(1, max(_decimals(float(v)) for v in values))
            if len(values) == len(df):
                config[col] = st.column_config.NumberColumn(format="localized" if whole else f"%.{places}f")
            else:
                df[col] = ["—" if _missing(v) else f"{v:,.{places}f}" for v in df[col]]
        elif len(values) < len(df):
            df[col] = ["—" if _missing(v) else v for v in df[col]]
    st.dataframe(df, hide_index=True, width="stretch", column_config=config, key=key)


def figure(fig: go.Figure, name: str, key: str) -> None:
    """Show a figure full width with its export menu under it."""
    st.plotly_chart(fig, key=key, config=PLOTLY_CONFIG, width="stretch")
    export_menu(fig, name, key)


# ---------------------------------------------------------------- torch, loaded in the background

_torch_thread: threading.Thread | None = None


def warm_torch() -> None:
    """Start importing torch in a background thread so the first page that needs it waits less."""
    global _torch_thread
    if _torch_thread is None:
        _torch_thread = threading.Thread(target=lambda: __import__("torch"), daemon=True, name="warm-torch")
        _torch_thread.start()


@st.cache_data(show_spinner=False, max_entries=512)
def pytorch_counts(spec: cm.ConvSpec):
    """Return torch_check.pytorch_counts(spec), cached per configuration."""
    from .torch_check import pytorch_counts as counts

    return counts(spec)


# ---------------------------------------------------------------- device choice (pages that run PyTorch)


@st.cache_resource(show_spinner=False)
def devices():
    """Return timing.list_devices(), probed once per process (CUDA/MPS do not appear mid-run)."""
    from .timing import list_devices

    return list_devices()


def device_picker(label: str = "Compute device") -> str:
    """Draw the sidebar device choice (CPU, and CUDA/MPS only when present) and return 'cpu', 'cuda' or 'mps'."""
    options = devices()
    usable = [d for d in options if d.available]
    field = Field("device", "device", "cpu", label="device")
    notices = seed([field])
    if st.session_state["device"] not in {d.name for d in usable}:
        notices.append(f"The link asks for device '{st.session_state['device']}', which this server does not "
                       "have; using the CPU.")
        st.session_state["device"] = "cpu"
    show_notices(notices)
    with st.sidebar:
        st.subheader("Device", anchor=False)
        name = st.selectbox(label, [d.name for d in usable], key="device",
                            format_func=lambda n: next(d.label for d in usable if d.name == n))
        for d in options:
            if not d.available:
                st.caption(f"{d.label} not listed: {d.reason}.")
    sync_url([field])
    return name


# ---------------------------------------------------------------- shared sidebar

def sidebar(conv_pages: list) -> None:
    """Draw the sidebar shared by every page: presets, which lead to the parameter page when applied elsewhere."""
    with st.sidebar:
        st.subheader("Presets", anchor=False)
        st.caption("Set the convolution on Parameter math and Connectivity.")
        for name, p in PRESETS.items():
            st.button(p.label, key=f"preset_{name}", help=p.blurb, on_click=apply_preset, args=(name,),
                      width="stretch")
    if st.session_state.pop("_preset_applied", None) and current_page_id() not in {p._script_hash for p in conv_pages}:
        st.switch_page(conv_pages[0])


# ---------------------------------------------------------------- ResNeXt block lessons (cardinality, forms, builder)

# The block builder's controls; other pages (e.g. group features) read the same block
# through current_block_config() without drawing the widgets.
BLOCK_FIELDS = [
    Field("blk_inplanes", "inplanes", 256, 1, 4096, label="input channels"),
    Field("blk_planes", "planes", 64, 1, 1024, label="planes"),
    Field("blk_cardinality", "cardinality", 32, 1, 512, label="cardinality C"),
    Field("blk_base_width", "base_width", 4, 1, 512, label="base width"),
    Field("blk_stride", "stride", 1, 1, 2, label="stride"),
    Field("blk_downsample", "downsample", "auto", label="downsample", options=("auto", "on", "off")),
    Field("blk_batch", "batch", 8, 1, 256, label="batch"),
    Field("blk_height", "height", 56, 1, 512, label="input height"),
    Field("blk_width", "width", 56, 1, 512, label="input width"),
]


def block_values() -> dict:
    """Return the block builder's last chosen values (defaults where none), without drawing widgets."""
    canon = _canon()
    return {f.key: st.session_state.get(f.key, canon.get(f.key, f.default)) for f in BLOCK_FIELDS}


def block_config_from(values: dict):
    """Return the BlockConfig of blk_* values (raises ValueError with a learner-facing sentence)."""
    from .block_builder import BlockConfig

    return BlockConfig(**{f.key.removeprefix("blk_"): values[f.key] for f in BLOCK_FIELDS})


def current_block_config():
    """Return the block builder's current BlockConfig, or raise ValueError if it is invalid."""
    return block_config_from(block_values())


@st.cache_data(show_spinner=False, max_entries=256)
def preserved_complexity(budget: int, cardinalities: tuple[int, ...], channels: int, hw: int):
    """Return cardinality.solve_preserved_complexity rows (cached; raises ValueError on bad input)."""
    from .cardinality import solve_preserved_complexity

    return solve_preserved_complexity(budget, cardinalities, channels, channels, hw)


@st.cache_data(show_spinner=False, max_entries=256)
def fixed_width(width: int, channels: int, hw: int):
    """Return cardinality.fixed_width_rows (cached)."""
    from .cardinality import fixed_width_rows

    return fixed_width_rows(width, channels, channels, hw)


def form_spec(values: dict):
    """Return forms.FormSpec from page values (raises ValueError with a learner-facing sentence)."""
    from .forms import FormSpec

    return FormSpec(c_in=values["c_in"], C=values["C"], d=values["d"], c_out=values["c_out"],
                    stride=values["stride"], height=values["h"], width=values["w"])


@st.cache_data(show_spinner=False, max_entries=64)
def compare_forms(spec, device: str, dtype: str, nonce: int = 0):
    """Return (forms.compare_forms result, None) or (None, a message); `nonce` forces a fresh measurement."""
    from .forms import compare_forms as compare

    try:
        with steady_timing(device):
            return compare(spec, device, dtype, budget_s=0.6), None
    except torch_oom_errors() as e:
        return None, f"The {device.upper()} ran out of memory for this size ({first_line(e)}). Lower the channels " \
                     "or the input size, or pick the CPU in the sidebar."
    except ValueError as e:
        return None, str(e)


def branch_slices(spec):
    """Return forms.branch_slices(spec)."""
    from .forms import branch_slices as slices

    return slices(spec)


@st.cache_data(show_spinner=False, max_entries=256)
def block_tables(cfg):
    """Return (layer_table, PyTorch's own counts {'params', 'macs'}) of a block, both on the meta device."""
    import torch

    from .block_builder import build_block, flop_counter_macs, layer_table

    meta = build_block(cfg, device="meta")
    x = torch.empty(cfg.batch, cfg.inplanes, cfg.height, cfg.width, device="meta")  # (B, C_in, H, W)
    counts = {"params": sum(p.numel() for p in meta.parameters()), "macs": flop_counter_macs(meta, x)}
    return layer_table(cfg), counts


def block_code(cfg) -> str:
    """Return block_builder.block_code(cfg)."""
    from .block_builder import block_code as code

    return code(cfg)


CPU_TIMING_NOTE = ("CPU timings run on one thread, one measurement at a time on this server: the steadiest "
                   "numbers on a shared machine. The Performance lab lets you choose the thread count.")


@contextmanager
def steady_timing(device: str):
    """Serialise measurements with the lab's lock and, on the CPU, time on one thread (restored after)."""
    from .lab import RUN_LOCK, cpu_threads

    with RUN_LOCK, cpu_threads(1 if device == "cpu" else None):
        yield


def time_block(cfg, device: str, dtype: str, budget_s: float, progress) -> tuple[Any, str | None]:
    """Return (BlockTiming, None) or (None, a message for the page), one measurement per process at a time."""
    from .block_timing import DeviceOutOfMemory, time_block as timed

    with steady_timing(device):
        try:
            return timed(cfg, device, dtype, budget_s, progress), None
        except DeviceOutOfMemory as e:
            return None, str(e)
        except ValueError as e:
            return None, str(e)


def depth_comparison():
    """Return depth.depth_comparison() for the ResNeXt-50 stage-1 sizes."""
    from .depth import depth_comparison as compare

    return compare()


@st.cache_resource(show_spinner=False)
def depth2_check() -> float:
    """Return the float64 max difference between depth-2 paths and the wide dense module (computed once)."""
    from .depth import depth2_max_abs_diff

    return depth2_max_abs_diff()


def side_by_side(a, b, label_a: str, label_b: str) -> list[dict]:
    """Return model_stats.side_by_side rows."""
    from .model_stats import side_by_side as rows

    return rows(a, b, label_a, label_b)


def torch_oom_errors() -> tuple[type[BaseException], ...]:
    """Return the exception types that mean 'out of memory' on any device."""
    import torch

    return (torch.OutOfMemoryError, MemoryError)


def first_line(e: BaseException) -> str:
    """Return the first line of an exception's message."""
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


@st.cache_resource(show_spinner="Counting the network on the meta device…")
def stage_table(model_name: str, image_size: int = 224):
    """Return model_stats.stage_table, built once per process and shared (read-only)."""
    from .model_stats import stage_table as table

    return table(model_name, image_size)



# ---------------------------------------------------------------- image lessons (group features, gradients)

# The picture a learner chose is kept per session as a ChosenImage: a preview (at most 512
# pixels a side) and the 224x224 crop the network sees, never the raw upload, so a 12 MP
# photo costs under a megabyte of session memory. The uploader is redrawn under a fresh
# key after every upload, which lets Streamlit drop the uploaded bytes at once.
# Per-image results are st.cache_data entries keyed by the image's hash and the layer, so a
# rerun that only changes the group page or the target reads them back.


_IMAGE_LOG = logging.getLogger("resnext_viz.image_lessons")
IMAGE_VARIANT = "IMAGENET1K_V2"  # the weights asked for; its resize/crop also prepare uploads
PREVIEW_SIDE = 512  # the on-page preview of the original, pixels along the long side
UPLOAD_MB = 20  # as server.maxUploadSize in .streamlit/config.toml
UPLOAD_ANY = "upload"  # the image choice that means 'the picture this session uploaded'
IMAGE_FIELD = Field("img_pick", "image", "shapes", label="image")
LAYER_FIELD = Field("img_layer", "layer", "layer1.0.conv2", label="layer")


@dataclass(frozen=True)
class ChosenImage:
    """The picture the lessons use: what the learner sees and what the network sees."""

    key: str  # content hash of the crop: the cache key of every per-image result
    name: str  # "shapes" for a sample, the file name for an upload
    kind: str  # "sample" or "upload"
    preview: Any  # PIL RGB image, at most PREVIEW_SIDE pixels a side
    crop: np.ndarray  # (crop, crop, 3) uint8, the network's input before normalisation
    original_size: tuple[int, int]  # (width, height) of the file, after EXIF rotation
    format: str  # e.g. "JPEG", or "sample"
    notes: tuple[str, ...]  # what the decoder converted, for the page


def _preprocessing():
    from .weights import WEIGHTS

    return WEIGHTS[IMAGE_VARIANT]


def _choice(img, name: str, kind: str, original_size, fmt: str, notes=()) -> ChosenImage:
    from .images import preprocess

    spec = _preprocessing()
    _, crop_img = preprocess(img, spec.resize, spec.crop)
    crop = np.asarray(crop_img, dtype=np.uint8).copy()  # (crop, crop, 3)
    preview = img.copy()
    preview.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    key = hashlib.sha1(crop.tobytes() + repr(crop.shape).encode()).hexdigest()[:20]
    return ChosenImage(key=key, name=name, kind=kind, preview=preview, crop=crop, original_size=original_size,
                       format=fmt, notes=tuple(notes))


@st.cache_resource(show_spinner=False)
def _sample_choice(name: str) -> ChosenImage:
    """Return a sample as a ChosenImage, made once per process and shared (never modified)."""
    from .images import sample_images

    img = sample_images()[name]
    return _choice(img, name, "sample", img.size, "sample")


def choice_from_upload(data: bytes, filename: str) -> ChosenImage:
    """Return an upload as a ChosenImage; raise images.ImageRejected with the learner-facing sentence."""
    from .images import decode_image

    decoded = decode_image(data, filename, max_bytes=UPLOAD_MB * 2**20)
    return _choice(decoded.image, filename or "your picture", "upload", decoded.original_size, decoded.format,
                   decoded.notes)


def _uploader_key() -> str:
    return f"img_file_{st.session_state.get('_img_generation', 0)}"


def _on_upload(key: str) -> None:
    """Decode a new upload into the session (or remember why not); then retire the uploader's key."""
    from .images import ImageRejected

    ss = st.session_state
    file = ss.get(key)
    ss["_img_generation"] = ss.get("_img_generation", 0) + 1  # a fresh, empty uploader next run
    if file is None:
        return
    try:
        chosen = choice_from_upload(file.getvalue(), file.name)
    except ImageRejected as why:
        ss["img_error"] = (current_page_id(), str(why))
        return
    except Exception:  # never a traceback on the page; the server log keeps it
        _IMAGE_LOG.exception("decoding upload %r failed unexpectedly", file.name)
        ss["img_error"] = (current_page_id(), f"“{file.name}” could not be read because of an unexpected problem "
                                              f"on the server (it has been logged). Try another picture or a sample.")
        return
    ss["img_upload"] = chosen
    ss["img_pick"] = UPLOAD_ANY
    _canon()["img_pick"] = UPLOAD_ANY
    ss.pop("img_error", None)


def _image_options() -> list[str]:
    from .images import SAMPLE_LESSONS

    return [*SAMPLE_LESSONS, *([UPLOAD_ANY] if st.session_state.get("img_upload") else [])]


def fit_choice(field: Field, options: list, notices: list[str]) -> None:
    """Put field's session value back among `options`; add a notice when the bad value came from the link."""
    ss = st.session_state
    if ss.get(field.key) in options:
        return
    raw = st.query_params.get(field.url)
    if raw is not None and raw == field.dump(ss.get(field.key)) and \
            ss.get("_url_written", {}).get(field.url) != raw:
        shown = ", ".join(field.dump(o) for o in options[:6]) + (", …" if len(options) > 6 else "")
        notices.append(f"The link's **{field.label}** value '{raw}' was ignored (it is not one of {shown}); "
                       f"using {field.dump(field.default if field.default in options else options[0])}.")
    ss[field.key] = field.default if field.default in options else options[0]


def _image_label(upload_name: str, option: str) -> str:
    return f"Your upload: {upload_name}" if option == UPLOAD_ANY else f"Sample: {option}"


def _image_widgets(chosen_now: ChosenImage | None) -> None:
    from .images import SAMPLE_LESSONS

    key = _uploader_key()
    st.file_uploader("Upload a picture", key=key, on_change=_on_upload, args=(key,), max_upload_size=UPLOAD_MB,
                     help="JPEG, PNG, WebP, BMP, GIF (first frame) or TIFF, up to 20 MB. Only the decoded, reduced "
                          "picture is kept, for this browser session only.")
    upload = st.session_state.get("img_upload")
    st.selectbox("Picture", _image_options(), key="img_pick",
                 format_func=partial(_image_label, upload.name if upload else ""),
                 on_change=lambda: st.session_state.pop("img_error", None))
    page, error = st.session_state.get("img_error") or ("", "")
    if error and page == current_page_id():  # shown where the upload was tried, until the next choice
        st.error(error, icon=":material/broken_image:")
        st.caption("Nothing was lost: the lessons keep using the picture chosen before.")
    lesson = SAMPLE_LESSONS.get(st.session_state["img_pick"])
    if lesson:
        st.caption(f"What this sample teaches: {lesson}")


def image_chooser(loaded, compact: bool = False) -> ChosenImage:
    """Draw the picture choice (samples, upload) and return the ChosenImage used by the image lessons.

    loaded: the LoadedModel, whose preprocessing the preview describes. compact: a thumbnail
    and an expander to change it (the gradients page reuses the picture chosen on the
    features page).
    """
    notices = seed([IMAGE_FIELD])
    options = _image_options()
    if st.session_state.get("img_pick") == UPLOAD_ANY and UPLOAD_ANY not in options:
        notices.append("The link points to an uploaded picture, which stays in the browser session that uploaded "
                       "it; showing a sample instead. Upload the picture here to see it.")
        st.session_state["img_pick"] = IMAGE_FIELD.default
    fit_choice(IMAGE_FIELD, options, notices)
    show_notices(notices)
    chosen = _current_image()
    spec = _preprocessing()
    if (loaded.resize, loaded.crop) != (spec.resize, spec.crop):  # the crop is made before the model is at hand
        raise ValueError(f"The model wants resize {loaded.resize}, crop {loaded.crop}; uploads are prepared with "
                         f"{spec.resize}, {spec.crop}.")
    if compact:
        c1, c2 = st.columns([1, 7], vertical_alignment="top")
        c1.image(chosen.crop, width=96)
        with c2:
            what = "your upload" if chosen.kind == "upload" else "the sample"
            st.markdown(f"**Picture:** {what} “{chosen.name}”, as the network sees it ({spec.crop}×{spec.crop}).")
            with st.expander("Change the picture", icon=":material/image:"):
                _image_widgets(chosen)
        chosen = _current_image()
    else:
        left, mid, right = st.columns([5, 4, 4], gap="medium")
        with left:
            _image_widgets(chosen)
        chosen = _current_image()
        w, h = chosen.original_size
        mid.image(chosen.preview, caption=f"Original, {w}×{h}" + (f" ({chosen.format})" if chosen.kind == "upload"
                                                                    else ""), width="stretch")
        mean, std = (", ".join(f"{v:.3f}" for v in t) for t in (loaded.mean, loaded.std))
        right.image(chosen.crop, caption=f"What the network sees: short side resized to {loaded.resize}, centre "
                                         f"{loaded.crop}×{loaded.crop} crop; then each colour is normalised with "
                                         f"ImageNet's mean ({mean}) and std ({std})", width="stretch")
        for note in chosen.notes:
            st.info(note, icon=":material/info:")
    sync_url([IMAGE_FIELD])
    return chosen


def _current_image() -> ChosenImage:
    ss = st.session_state
    if ss.get("img_pick") == UPLOAD_ANY and ss.get("img_upload") is not None:
        return ss["img_upload"]
    name = ss.get("img_pick")
    return _sample_choice(name if name in _image_options() and name != UPLOAD_ANY else IMAGE_FIELD.default)


# ---- the shared model

@st.cache_resource(show_spinner=False, max_entries=2)
def _image_model(weights_file: str, offline: str, code: int = 0, _progress=None):
    """Return weights.load_model(IMAGE_VARIANT) once per process and environment (shared, never modified).

    code: id of the blocks module the model is built from. Streamlit re-imports edited modules
    of a running app; a model made of the old classes would no longer match probes.py's, so
    an edit gives a fresh model instead of a KeyError (only ever seen while developing).
    """
    from .weights import load_model

    return load_model(IMAGE_VARIANT, progress=_progress)


def _blocks_code() -> int:
    from . import blocks

    return id(blocks.Bottleneck)


def image_model():
    """Return the shared LoadedModel, showing download progress in the page the first time it is fetched."""
    from .weights import OFFLINE_ENV, WEIGHTS_ENV

    slot = st.empty()
    outside = contextvars.copy_context()  # outside the cached call: a progress bar here is not cache-replayed

    def progress(done: int, total: int | None) -> None:
        try:
            mb = done / 2**20
            text = (f"Downloading the pretrained ResNeXt-50 weights: {mb:.0f} of {total / 2**20:.0f} MB"
                    if total else f"Downloading the pretrained ResNeXt-50 weights: {mb:.0f} MB")
            outside.run(slot.progress, min(1.0, done / total) if total else 0.0, text=text)
        except Exception:  # a progress bar must never cost the learner the model
            _IMAGE_LOG.warning("progress bar failed", exc_info=True)

    with st.spinner("Loading ResNeXt-50 (once per server)…"):
        loaded = _image_model(os.environ.get(WEIGHTS_ENV, ""), os.environ.get(OFFLINE_ENV, ""), _blocks_code(),
                              _progress=progress)
    slot.empty()
    return loaded


def weights_notice(loaded) -> None:
    """Say which weights the features come from; with random weights, plainly, with the way to real ones."""
    if loaded.pretrained:
        st.success(f"{loaded.message} Source: {loaded.source}.", icon=":material/verified:")
    else:
        st.warning(f"**Random weights: these are not a trained network's features.** {loaded.message} "
                   f"Then restart the app.", icon=":material/casino:")


@st.cache_resource(show_spinner=False, max_entries=2)
def _layer_infos(source: str, _model) -> list:
    from .probes import grouped_layers

    return grouped_layers(_model)


def layer_infos(loaded) -> dict:
    """Return {name: LayerInfo} of every block's 3x3 convolution (layerX.Y.conv2), in network order."""
    return {i.name: i for i in _layer_infos(loaded.source, loaded.model)}


def layer_select(loaded, notices: list[str], crop: int = 224, key: str = "img_layer") -> str:
    """Draw the grouped-layer selectbox (name, channels, groups, size); return the chosen layer name."""
    from .feature_probe import layer_label

    infos = layer_infos(loaded)
    fit_choice(LAYER_FIELD, list(infos), notices)
    return st.selectbox("Grouped convolution", list(infos), key=key,
                        format_func=lambda n: layer_label(infos[n], crop // 4 >> (infos[n].stage - 1)),
                        help="The 3×3 grouped convolution (conv2) of each ResNeXt-50 block. Stride-2 layers halve "
                             "the map.")


# ---- per-image computations, cached by image hash

def _x(loaded, chosen: ChosenImage):
    from .feature_probe import network_input

    return network_input(chosen.crop, loaded.mean, loaded.std)


@st.cache_data(show_spinner=False, max_entries=24)
def _features_cached(image_key: str, source: str, layer: str, _loaded, _chosen):
    from .feature_probe import layer_features

    return layer_features(_loaded.model, layer, _x(_loaded, _chosen))


def features(loaded, chosen: ChosenImage, layer: str):
    """Return feature_probe.layer_features for this picture and layer (cached per image and layer)."""
    return _features_cached(chosen.key, loaded.source, layer, loaded, chosen)


@st.cache_data(show_spinner=False, max_entries=8)
def _builder_cached(image_key: str, source: str, cfg_values: tuple, _loaded, _chosen, _cfg):
    from .feature_probe import builder_features

    return builder_features(_loaded.model, _cfg, _x(_loaded, _chosen))


def builder_features(loaded, chosen: ChosenImage, cfg):
    """Return (Features, BuilderFeed) of the Block builder's block fed with this picture; ValueError if it cannot be."""
    from dataclasses import astuple

    from .feature_probe import builder_problem

    problem = builder_problem(loaded.model, cfg)  # checked before the cache: errors are not cached
    if problem:
        raise ValueError(problem)
    return _builder_cached(chosen.key, loaded.source, astuple(cfg), loaded, chosen, cfg)


@st.cache_data(show_spinner=False, max_entries=32)
def _predictions_cached(image_key: str, source: str, _loaded, _chosen):
    from .feature_probe import predictions

    return predictions(_loaded.model, _x(_loaded, _chosen), _loaded.class_names)


def predictions(loaded, chosen: ChosenImage):
    """Return (top-5 [(class, probability)], top-1 class index) for this picture (cached)."""
    return _predictions_cached(chosen.key, loaded.source, loaded, chosen)


def top5(loaded, chosen: ChosenImage) -> None:
    """Show the top-5 ImageNet classes (pretrained weights only)."""
    if not loaded.pretrained:
        return
    top, _ = predictions(loaded, chosen)
    st.markdown("**The network's top-5 guesses:** " + " · ".join(f"{name} {p:.0%}" for name, p in top))


@st.cache_data(show_spinner=False, max_entries=48)
def _gradients_cached(image_key: str, source: str, layer: str, kind: str, index: int, _loaded, _chosen):
    from .feature_probe import gradient_summary
    from .probes import GradTarget

    return gradient_summary(_loaded.model, layer, _x(_loaded, _chosen), GradTarget(kind, index))


def gradients(loaded, chosen: ChosenImage, layer: str, kind: str, index: int):
    """Return feature_probe.gradient_summary for this picture, layer and target (cached)."""
    return _gradients_cached(chosen.key, loaded.source, layer, kind, index, loaded, chosen)


@st.cache_data(show_spinner=False, max_entries=48)
def _locality_cached(image_key: str, source: str, layer: str, group: int, _loaded, _chosen):
    from .probes import gradient_locality

    return gradient_locality(_loaded.model, layer, _x(_loaded, _chosen), group)


def locality(loaded, chosen: ChosenImage, layer: str, group: int):
    """Return probes.gradient_locality for this picture, layer and output group (cached)."""
    return _locality_cached(chosen.key, loaded.source, layer, group, loaded, chosen)


def clear_image_caches() -> None:
    """Forget every per-image result (benchmarks use it to time the work a new picture costs)."""
    for cached in (_features_cached, _builder_cached, _predictions_cached, _gradients_cached, _locality_cached):
        cached.clear()


# ---- never a traceback

@contextmanager
def plain_errors(doing: str):
    """Turn any exception raised inside the block into a plain message on the page (the traceback goes to the log)."""
    try:
        yield
    except Exception as exc:  # st.stop / st.rerun are not Exceptions and pass through
        _IMAGE_LOG.exception("unexpected error while %s", doing)
        st.error(f"Something went wrong while {doing} ({type(exc).__name__}). It has been logged on the server. "
                 "Try another picture or layer; the rest of the app keeps working.", icon=":material/error:")


def page_link_or_text(path: str, label: str) -> None:
    """Link to a page of this app if it exists and is registered, else name it in plain text."""
    from pathlib import Path

    from streamlit.errors import StreamlitAPIException

    if (Path(__file__).resolve().parent.parent / path).is_file():
        try:
            st.page_link(path, label=label, icon=":material/arrow_forward:")
            return
        except (StreamlitAPIException, KeyError):
            pass
    st.markdown(f"Set the block on the **{label}** page (in the sidebar).")


# ---------------------------------------------------------------- performance lab

# The lab's controls. URL names carry a lab_ prefix so they never mix with another page's
# 'batch' or 'dtype'. Torch (via resnext_viz.lab) is imported only when the lab page runs.
LAB_FIELDS = [
    Field("lab_channels", "lab_channels", 128, 1, 1024, label="channels"),
    Field("lab_size", "lab_size", 56, 1, 224, label="feature-map size"),
    Field("lab_batch", "lab_batch", 1, 1, 64, label="batch"),
    Field("lab_dtype", "lab_dtype", "float32", label="dtype"),
    Field("lab_cl", "lab_channels_last", False, label="channels_last"),
    Field("lab_threads", "lab_threads", 1, 1, max(1, os.cpu_count() or 1), label="CPU threads"),
    Field("lab_budget", "lab_budget", 10, 1, 60, label="time budget"),
    Field("lab_loop", "lab_loop", True, label="per-group loop"),
    Field("lab_block", "lab_bottleneck", True, label="bottleneck"),
    Field("lab_cudnn", "lab_cudnn_benchmark", False, label="cudnn.benchmark"),
]
LAB_PROGRESS_EVERY_S = 0.5  # redraw the progress bar at most this often: the browser's drawing competes with the timing


def _lab_dtypes(device: str) -> list[str]:
    from .lab import LAB_DTYPES
    from .timing import check_dtype

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
    from .lab import LabConfig

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
    c1.number_input("Channels in = out", f["lab_channels"].lo, f["lab_channels"].hi, step=1, key="lab_channels",
                    help="C of the 3×3 convolution C → C. Every divisor of C is a valid group count and is timed.")
    c2.number_input("Feature map H = W", f["lab_size"].lo, f["lab_size"].hi, step=1, key="lab_size",
                    help="56 is ResNeXt-50's first stage for a 224×224 image.")
    c3.number_input("Batch", f["lab_batch"].lo, f["lab_batch"].hi, step=1, key="lab_batch",
                    help="Images per call. A CPU usually serves one at a time; the H100 reference used 64.")
    with c4:
        st.segmented_control("dtype", dtypes, key="lab_dtype", required=True,
                             help="float16 is offered on GPUs only: on a CPU it is emulated and its timings mislead.")
    d1, d2, d3 = st.columns([1, 1, 1.4])
    with d1:
        st.slider("Time budget (s)", f["lab_budget"].lo, f["lab_budget"].hi, key="lab_budget",
                  help="The whole run, warm-up included. Configurations not started when it is spent are skipped.")
    with d2:
        if device == "cpu":
            st.slider("CPU threads", 1, f["lab_threads"].hi, key="lab_threads",
                      help="PyTorch's thread count is shared by the whole server: a run sets it, holds a lock so "
                           "other tabs wait, and restores it afterwards.")
            st.caption("Default 1: the steadiest numbers when other programs share the CPU. Raise it to see "
                       "what parallel threads buy.")
        else:
            st.caption("CPU threads apply to CPU runs only.")
    with d3:
        st.toggle("channels_last memory format", key="lab_cl",
                  help="Store tensors as (N, H, W, C), as the H100 reference did; off is PyTorch's default (N, C, H, W).")
        st.toggle("Time the per-group Python loop", key="lab_loop")
        st.toggle("Time the Table 2 bottlenecks (256 channels)", key="lab_block")
        if device.startswith("cuda"):
            st.toggle("cudnn.benchmark (let cuDNN time its kernels)", key="lab_cudnn",
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
    from .block_timing import DeviceOutOfMemory
    from .lab import run_sweep

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
    """Return this session's last (NCHW, channels_last) runs of the same settings, or None (see lab.format_pair)."""
    from .lab import format_pair

    return format_pair(st.session_state.get("lab_by_format", {}))
