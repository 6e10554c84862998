"""In a real browser: upload a PNG on the group-features page and see its feature maps."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from tests.conftest import wait_idle


def _png() -> bytes:
    """Return a 300x200 PNG: a colour ramp with a dark disc, so the maps have structure."""
    y, x = np.mgrid[0:200, 0:300]
    rgb = np.stack([x * 255 // 299, y * 255 // 199, np.full_like(x, 128)], axis=-1).astype(np.uint8)
    rgb[(x - 150) ** 2 + (y - 100) ** 2 < 60 ** 2] = (20, 20, 30)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    return buffer.getvalue()


def test_upload_a_png_and_see_its_feature_maps(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 2600})
    page.goto(server)  # through app.py first, so the lesson's own URL is routed by st.navigation
    wait_idle(page)
    page.goto(f"{server}/group_features")
    wait_idle(page, timeout=120_000)  # the first visit loads ResNeXt-50 once for the server
    main = page.locator('[data-testid="stMain"]')
    assert "Group features" in main.inner_text() and "Random weights" in main.inner_text()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        files=[{"name": "disc.png", "mimeType": "image/png", "buffer": _png()}])
    page.wait_for_function("() => document.querySelector('[data-testid=\"stMain\"]').innerText"
                           ".includes('Original, 300×200 (PNG)')", timeout=60_000)
    wait_idle(page)
    text = main.inner_text()
    assert "Groups 0–7 of 32" in text
    assert page.get_by_role("combobox", name="Picture").input_value() == "Your upload: disc.png"
    charts = page.locator('[data-testid="stPlotlyChart"]')
    assert charts.count() == 2  # the maps and the open tab's figure
    assert charts.first.locator(".main-svg").count() > 0
    assert "Traceback" not in text and page.locator('[data-testid="stException"]').count() == 0
    assert "image=upload" in page.url
    page.screenshot(path=str(tmp_path / "features_upload.png"))
    assert (tmp_path / "features_upload.png").stat().st_size > 20_000
    page.close()


def _meta_figures(page) -> list[str]:
    """Return the figure names (layout.meta.figure) of the charts drawn on the page."""
    return page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')]"
                         ".map(d => (d.layout && d.layout.meta && d.layout.meta.figure) || '')")


def _open_then_switch_tab(server, browser, path: str, tab: str, before: list[str], after: list[str]):
    """Open `path` (after Home, so the session exists), check its figures, open `tab`, check them again."""
    page = browser.new_page(viewport={"width": 1400, "height": 2600})
    page.goto(server)
    wait_idle(page)
    page.goto(f"{server}/{path}")
    wait_idle(page, timeout=120_000)
    assert _meta_figures(page) == before  # only the open tab's figure is drawn
    page.get_by_role("tab", name=tab).click()
    wait_idle(page, timeout=120_000)
    assert _meta_figures(page) == after
    return page


def test_feature_tabs_draw_only_the_open_figure_and_keep_the_choice_across_pages(server, browser):
    page = _open_then_switch_tab(server, browser, "group_features", "Top channel per group",
                                 ["feature_maps", "correlation"], ["feature_maps", "top_channels"])
    assert "view=Top+channel+per+group" in page.url or "view=Top%20channel%20per%20group" in page.url
    page.get_by_role("link", name="Parameter math").first.click()
    wait_idle(page)
    page.get_by_role("link", name="Group features").first.click()
    wait_idle(page, timeout=60_000)
    assert page.get_by_role("tab", name="Top channel per group").get_attribute("aria-selected") == "true"
    assert _meta_figures(page) == ["feature_maps", "top_channels"]
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()


def test_gradients_grouped_vs_dense_tab_is_drawn_when_opened_and_stays_open(server, browser):
    page = _open_then_switch_tab(server, browser, "gradients?layer=layer1.0.conv2&group=2&target=group",
                                 "Grouped vs dense", ["grad_norms", "grad_norms"], ["grad_norms", "locality"])
    assert "Grouped vs dense: where can the gradient of group 2" in page.locator('[data-testid="stMain"]').inner_text()
    page.get_by_label("Output group g").first.click()
    page.get_by_role("option", name="group 5", exact=True).click()
    wait_idle(page, timeout=120_000)
    assert "group=5" in page.url and "grad_view=Grouped" in page.url
    assert _meta_figures(page) == ["grad_norms", "locality"]
    assert "where can the gradient of group 5" in page.locator('[data-testid="stMain"]').inner_text()
    page.close()
