"""Export bytes are real files of the right format; HTML works offline; no browser gives a clear message."""

import re
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import require_chromium
from resnext_viz import export as ex
from resnext_viz.conv import figures as F


@pytest.fixture(scope="module")
def fig():
    return F.bipartite(64, 128, 32)


def test_html_is_standalone_and_offline(fig):
    html = ex.to_html(fig).decode("utf-8")
    assert html.lstrip().lower().startswith("<html") or "<!doctype html" in html.lower()[:100]
    assert "Plotly.newPlot" in html and len(html) > 1_000_000          # plotly.js itself is inlined
    assert not re.search(r"<script[^>]+src=", html, re.I)               # no external scripts
    assert not re.search(r"<link[^>]+href=[\"']https?://", html, re.I)  # no external stylesheets


def test_export_does_not_change_the_on_screen_figure(fig):
    before = fig.to_json()
    ex.to_html(fig)
    assert fig.to_json() == before


def test_static_formats(fig):
    require_chromium()
    png = ex.export(fig, "png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    svg = ex.export(fig, "svg")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    pdf = ex.export(fig, "pdf")
    assert pdf.startswith(b"%PDF")


def test_no_browser_gives_install_hint_and_html_still_works(fig, monkeypatch):
    monkeypatch.setattr(ex, "_server_started", False)
    monkeypatch.setattr(ex, "find_browser", lambda: None)
    with pytest.raises(ex.ExportUnavailable, match="apt-get install -y chromium"):
        ex.to_static(fig, "png")
    assert b"Plotly.newPlot" in ex.export(fig, "html")


def test_unknown_format_rejected(fig):
    with pytest.raises(ValueError, match="png, svg, pdf"):
        ex.to_static(fig, "gif")
