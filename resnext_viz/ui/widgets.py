"""Shared page pieces: figures with their export menu, tables, the device picker, plain errors, links."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from contextlib import contextmanager
from functools import partial
from typing import Any, Callable, Hashable

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from resnext_viz import export as ex
from resnext_viz import plotting
from resnext_viz.palette import GROUP_COLORS

from .present import current_view, reduced_motion
from .state import Field, seed, show_notices, sync_url

PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"],
                 "toImageButtonOptions": {"scale": 2}}
_LOG = logging.getLogger("resnext_viz.image_lessons")

# ---------------------------------------------------------------- figures and export


@st.cache_resource(show_spinner=False)
def browser_path() -> str | None:
    """Return the Chrome/Chromium used for static export, looked up once per process."""
    return ex.find_browser()


def _export_bytes(fig: go.Figure, fmt: str) -> bytes:
    try:
        return ex.export(plotting.style(go.Figure(fig), "light"), fmt)  # on white for slides, whatever the theme
    except ex.ExportUnavailable as e:  # shown as the file's content rather than a broken download
        return str(e).encode("utf-8")


def export_menu(fig: go.Figure, name: str, key: str) -> None:
    """Draw an 'Export' popover with PNG / SVG / PDF / HTML downloads, the buttons made only while it is open.

    A deferred download gets a new id on every run (Streamlit's MediaFileManager.add_deferred), so closed
    menus' buttons still changed, and were re-rendered by the browser, on every rerun: ~100 ms of each change
    on Parameter math with its three figures (bench_browser). Opening the menu reruns the page once; the
    files themselves are still built only when a button is clicked.
    """
    menu = st.popover("Export", icon=":material/download:", key=f"ex_{key}", on_change="rerun")
    if not menu.open:
        return
    have_browser = browser_path() is not None
    with menu:
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
        values = [v for v in (r.get(col) for r in records) if not _missing(v)]  # before pandas makes ints floats
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


_FIGURES: OrderedDict = OrderedDict()  # (name, cache key, view) -> (styled figure, alt text, bytes); all sessions
_FIGURES_LOCK = threading.Lock()
FIGURES_KEPT = 256  # styled figures kept: a class on the same presets builds each once
FIGURE_BYTES_KEPT = 48 * 2**20  # and at most this much of their arrays (a Group features mosaic holds ~2.5 MB)


def _array_bytes(fig: go.Figure) -> int:
    """Return about how many bytes a figure's data arrays hold (what dominates a kept figure's memory)."""
    total = 0
    for tr in fig.data:
        for name in ("x", "y", "z", "customdata", "text", "hovertext"):
            v = getattr(tr, name, None)
            if v is None or isinstance(v, str):
                continue
            total += int(v.nbytes) if hasattr(v, "nbytes") else 8 * len(v) if hasattr(v, "__len__") else 0
    return total


def _keep(slot, hit) -> None:
    """Keep a styled figure, dropping the least recently used past FIGURES_KEPT or FIGURE_BYTES_KEPT."""
    with _FIGURES_LOCK:
        _FIGURES[slot] = hit
        while len(_FIGURES) > 1 and (len(_FIGURES) > FIGURES_KEPT or
                                     sum(b for *_, b in _FIGURES.values()) > FIGURE_BYTES_KEPT):
            _FIGURES.popitem(last=False)


def _styled(fig: go.Figure, alt: str | None, name: str, theme: str, present: bool, still: bool):
    plotting.style(fig, theme, present)
    if still:
        plotting.reduce_motion(fig)
    text = (alt or plotting.alt_text(fig)).strip()
    if alt and not any(ch.isdigit() for ch in text):  # a sentence without numbers: add the figure's own
        text = f"{text.rstrip('.')}. {plotting.alt_text(fig, own=False)}"
    if not text:
        raise ValueError(f"figure '{name}' has no alt text: set fig.layout.meta['alt'] in its builder")
    return fig, text


def figure(fig: go.Figure | Callable[[], go.Figure], name: str, key: str, alt: str | None = None,
           cache_key: Hashable = None) -> None:
    """Show a figure full width in this run's theme, with its alt sentence, export menu and data table.

    The alt text is `alt`, else the builder's fig.layout.meta['alt'], else one derived from the
    title and the traces' values (plotting.alt_text); a figure that yields none is refused.
    `fig` may be a function that builds it, with `cache_key` the values it depends on: the styled figure
    is then kept per (name, cache_key, theme, presentation, motion) and reused by every session, so a
    rerun that left it unchanged neither builds nor restyles it (bench_browser; it is never mutated after).
    """
    view = current_view()
    look = (view.profile, view.present, reduced_motion())
    if callable(fig) and cache_key is None:  # nothing to key it by: build it, keep nothing
        fig = fig()
    if callable(fig):
        slot = (name, cache_key, alt, look)
        with _FIGURES_LOCK:
            hit = _FIGURES.get(slot)
            if hit is not None:
                _FIGURES.move_to_end(slot)
        if hit is None:
            built, text = _styled(fig(), alt, name, *look)
            hit = (built, text, _array_bytes(built))
            _keep(slot, hit)
        fig, text, _ = hit
    else:
        fig, text = _styled(fig, alt, name, *look)
    st.plotly_chart(fig, key=key, config=PLOTLY_CONFIG, width="stretch", theme=None, alt=text)
    groups = (fig.layout.meta or {}).get("groups") if isinstance(fig.layout.meta, dict) else None
    if isinstance(groups, int) and groups > len(GROUP_COLORS):
        st.caption(f"Colours repeat every {len(GROUP_COLORS)} groups (group {len(GROUP_COLORS)} has group 0's "
                   "colour, and so on); the numbers on the figure and its hover text name each group.")
    if not view.hides("export"):
        export_menu(fig, name, key)
    # Built only while open: 200-row tables under every chart were sent, and laid out by the browser, on
    # every rerun (bench_browser). Opening one reruns the page once; it stays open across reruns.
    table_box = st.expander("Data table", icon=":material/table:", key=f"dt_{key}", on_change="rerun")
    if table_box.open:
        with table_box:
            data_table(fig, text)


def show_code(key: str, source: Callable[[], str], label: str = "Show the code") -> None:
    """Draw a 'Show the code' expander whose code is built and highlighted only while it is open.

    A closed expander's st.code was still sent and syntax-highlighted by the browser: ~0.7 s of a cold
    start's main thread on Parameter math (bench_browser, Chromium's profiler). `?hide=code` hides it by key.
    """
    box = st.expander(label, icon=":material/code:", key=f"code_{key}", on_change="rerun")
    if box.open:
        with box:
            st.code(source(), language="python")


DATA_ROWS_SHOWN = 200  # the data table's rows; a static HTML table, which screen readers walk cell by cell


def data_table(fig: go.Figure, alt: str) -> None:
    """Show the figure's alt sentence and its plotted values as a static table (the first DATA_ROWS_SHOWN rows)."""
    import pandas as pd

    st.caption(alt)
    rows = plotting.data_records(fig, most=DATA_ROWS_SHOWN + 1)
    if not rows:
        st.caption("This figure draws shapes only; its numbers are in the sentence above.")
        return
    if len(rows) > DATA_ROWS_SHOWN:
        st.caption(f"The first {DATA_ROWS_SHOWN} values; the Export menu's HTML file holds them all.")
    df = pd.DataFrame.from_records(rows[:DATA_ROWS_SHOWN])
    # Text cells: a column mixing numbers and "—" is not an Arrow column (Streamlit logged a traceback and
    # converted it again on every rerun).
    st.table(df.map(lambda v: "—" if _missing(v) else (f"{v:,}" if isinstance(v, (int, np.integer))
                                                        and not isinstance(v, bool) else str(v))))


# ---------------------------------------------------------------- device choice (pages that run PyTorch)


@st.cache_resource(show_spinner=False)
def devices():
    """Return timing.list_devices(), probed once per process (CUDA/MPS do not appear mid-run)."""
    from resnext_viz.timing import list_devices

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
        name = st.selectbox(label, [d.name for d in usable], persist_state="session", key="device",
                            format_func=lambda n: next(d.label for d in usable if d.name == n))
        for d in options:
            if not d.available:
                st.caption(f"{d.label} not listed: {d.reason}.")
    sync_url([field])
    return name



# ---- never a traceback

@contextmanager
def plain_errors(doing: str):
    """Turn any exception raised inside the block into a plain message on the page (the traceback goes to the log)."""
    try:
        yield
    except Exception as exc:  # st.stop / st.rerun are not Exceptions and pass through
        _LOG.exception("unexpected error while %s", doing)
        st.error(f"Something went wrong while {doing} ({type(exc).__name__}). It has been logged on the server. "
                 "Try another picture or layer; the rest of the app keeps working.", icon=":material/error:")


def page_link_or_text(path: str, label: str) -> None:
    """Link to a page of this app if it exists and is registered, else name it in plain text."""
    from pathlib import Path

    from streamlit.errors import StreamlitAPIException

    if (Path(__file__).resolve().parents[2] / path).is_file():
        try:
            st.page_link(path, label=label, icon=":material/arrow_forward:")
            return
        except (StreamlitAPIException, KeyError):
            pass
    st.markdown(f"Set the block on the **{label}** page (in the sidebar).")


def number(f: Field, help: str | None = None, label: str | None = None, note_bound: bool = True) -> int:
    """Draw a whole-number input whose bounds are the field's (one source for widget, URL and validator).

    The value persists for the session while the widget is hidden (another view, a collapsed
    option), so a learner's choice is never reset by what they look at.
    """
    value = st.number_input(label or f.label[0].upper() + f.label[1:], min_value=f.lo, max_value=f.hi, step=1,
                            key=f.key, help=help, persist_state="session")
    if note_bound and value == f.hi:
        st.caption(f"{f.hi:,} is the largest {f.label} this explainer allows.")
    return value
