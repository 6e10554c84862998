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
    assert charts.count() == 4 and charts.first.locator(".main-svg").count() > 0
    assert "Traceback" not in text and page.locator('[data-testid="stException"]').count() == 0
    assert "image=upload" in page.url
    page.screenshot(path=str(tmp_path / "features_upload.png"))
    assert (tmp_path / "features_upload.png").stat().st_size > 20_000
    page.close()
