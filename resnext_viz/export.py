"""Figure -> PNG / SVG / PDF / standalone HTML bytes.

Static formats go through kaleido 1.x, which drives a system Chrome or Chromium. One
kaleido server is started per process (a cold start costs a few seconds, a warm export
a fraction of one) and requests are serialised with a lock, because the server answers
in order and Streamlit runs sessions on several threads. HTML needs no browser: the
file inlines plotly.js and loads nothing from the network.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading

import plotly.graph_objects as go
import plotly.io as pio

STATIC_FORMATS = ("png", "svg", "pdf")
FORMATS = (*STATIC_FORMATS, "html")
MIME = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf", "html": "text/html"}
EXPORT_TEMPLATE = "plotly_white"  # slides and handouts are printed on white
EXPORT_MARGIN_MIN = {"l": 40, "r": 30, "b": 30}  # px: exported figures keep text off the page edge
EXPORT_TITLE_PAD = 24  # px between the page's left edge and the title
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
INSTALL_HINT = (
    "Static export (PNG, SVG, PDF) needs Chrome or Chromium on the server. On Debian or "
    "Ubuntu: `sudo apt-get install -y chromium`; elsewhere install Google Chrome, or point "
    "the BROWSER_PATH environment variable at a Chromium binary. HTML export works without one."
)

_lock = threading.Lock()
_server_started = False


class ExportUnavailable(RuntimeError):
    """Static export cannot run here; the message says how to make it work."""


def find_browser() -> str | None:
    """Return the path of a Chrome/Chromium kaleido can drive, or None."""
    override = os.environ.get("BROWSER_PATH")
    if override:
        return override if os.path.isfile(override) and os.access(override, os.X_OK) else None
    for name in BROWSER_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@functools.lru_cache(maxsize=1)
def _template() -> dict:
    return pio.templates[EXPORT_TEMPLATE].to_plotly_json()


def _print_ready(fig: go.Figure) -> dict:
    """Return the figure as a new dict on the print template, opaque white (the figure is not touched)."""
    d = fig.to_dict()  # a deep copy
    layout = d.setdefault("layout", {})
    layout.update(template=_template(), paper_bgcolor="white", plot_bgcolor="white")
    margin = layout.setdefault("margin", {})
    for side, least in EXPORT_MARGIN_MIN.items():                # on paper nothing may touch the edge
        margin[side] = max(margin.get(side) or 0, least)
    title = layout.get("title")
    if isinstance(title, dict) and title.get("text"):
        title.update(x=0, xref="container", xanchor="left", pad=dict(title.get("pad") or {}, l=EXPORT_TITLE_PAD))
    return d


def to_html(fig: go.Figure) -> bytes:
    """Return a standalone HTML page with plotly.js inlined (works offline)."""
    html = pio.to_html(_print_ready(fig), include_plotlyjs=True, full_html=True, validate=False,
                       config={"displaylogo": False})
    return html.encode("utf-8")


def _ensure_server() -> None:
    """Start the process-wide kaleido server once (caller holds the lock)."""
    global _server_started
    if _server_started:
        return
    if find_browser() is None:
        raise ExportUnavailable(INSTALL_HINT)
    import kaleido

    kaleido.start_sync_server(silence_warnings=True)
    _server_started = True


def to_static(fig: go.Figure, fmt: str, width: int = 1200, height: int | None = None, scale: float = 2.0) -> bytes:
    """Return the figure rendered as PNG, SVG or PDF bytes (raises ExportUnavailable without a browser)."""
    if fmt not in STATIC_FORMATS:
        raise ValueError(f"Unknown static format {fmt!r}; choose one of {', '.join(STATIC_FORMATS)}.")
    import kaleido

    printable = _print_ready(fig)
    opts = dict(format=fmt, width=width, height=height or printable["layout"].get("height") or 600, scale=scale)
    with _lock:
        _ensure_server()
        try:
            data = kaleido.calc_fig_sync(printable, opts=opts)
        except Exception as exc:  # kaleido reports browser failures with many exception types
            raise ExportUnavailable(f"The {fmt.upper()} export failed ({exc}). {INSTALL_HINT}") from exc
    return data if isinstance(data, bytes) else str(data).encode("utf-8")


def export(fig: go.Figure, fmt: str) -> bytes:
    """Return the figure as bytes in `fmt` (png, svg, pdf or html)."""
    return to_html(fig) if fmt == "html" else to_static(fig, fmt)
