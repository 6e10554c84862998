"""deploy/nginx.conf for real: nginx (the Debian package) in front of two replicas, driven by headless Chromium.

A Streamlit session lives in one process: these tests check that the repository's proxy config keeps
every request and the websocket of a browser on one replica, lets uploads through up to the app's cap and
refuses bigger ones with a message, and that two browsers on two replicas are two separate sessions.
Loopback only; skipped without nginx, failed without it in CI (CI=true).
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

from resnext_viz.serve import Server
from tests.conftest import wait_idle
from tests.proxy import Proxy, new_session, require_nginx, route_of, wait_for_log

VIEW = {"viewport": {"width": 1400, "height": 2000}}
UPLOADER = '[data-testid="stFileUploader"] input[type="file"]'


@pytest.fixture(scope="module")
def cluster(browser):
    """Yield (proxy, {replica address: Server}): two offline replicas behind nginx with the repo's config."""
    nginx = require_nginx()
    env = {"RESNEXT_VIZ_OFFLINE": "1"}
    try:
        with Server(env=env, timeout_s=90) as a, Server(env=env, timeout_s=90) as b, Proxy([a.port, b.port], nginx) as p:
            yield p, {f"127.0.0.1:{a.port}": a, f"127.0.0.1:{b.port}": b}
    except RuntimeError as e:
        pytest.fail(str(e))


def _png() -> bytes:
    y, x = np.mgrid[0:120, 0:160]
    rgb = np.stack([x * 255 // 159, y * 255 // 119, np.full_like(x, 90)], axis=-1).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    return buffer.getvalue()


def _main(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def _open(page, url: str, timeout: float = 120_000) -> None:
    page.goto(url)
    wait_idle(page, timeout)
    assert page.locator('[data-testid="stException"]').count() == 0, _main(page)


def _set_groups(page, value: int) -> None:
    box = page.get_by_label("Groups", exact=True)
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page)


def _requests_of(lines: list[dict], route: str) -> list[dict]:
    return [x for x in lines if x["route"] == route]


def test_one_browser_session_reaches_one_replica_with_every_request_and_its_websocket(cluster, browser):
    proxy, replicas = cluster
    ctx, upstream = new_session(browser, proxy, **VIEW)
    route = route_of(ctx)
    page = ctx.new_page()
    answered_by, sockets = [], []
    page.on("response", lambda r: answered_by.append((r.url, r.headers.get("x-upstream"))))
    page.on("websocket", lambda ws: sockets.append(ws))
    _open(page, proxy.url)
    _open(page, f"{proxy.url}/parameters")
    assert "Parameter math" in _main(page)
    _set_groups(page, 8)
    assert "groups=8" in page.url
    page.get_by_role("link", name="Connectivity").first.click()   # a page switch over the websocket
    wait_idle(page)
    assert "Connectivity" in _main(page) and "groups=8" in page.url
    assert len(sockets) == 2 and not sockets[-1].is_closed()        # one per page load, the last still open
    proxied = [(url, up) for url, up in answered_by if url.startswith(proxy.url)]
    assert len(proxied) > 20 and {up for _, up in proxied} == {upstream}, proxied
    ctx.close()                                                   # nginx logs the websocket when it closes
    lines = _requests_of(wait_for_log(proxy, lambda x: x["route"] == route and "/_stcore/stream" in x["request"]
                                      and x["status"] == "101", count=2), route)
    streams = [x for x in lines if "/_stcore/stream" in x["request"]]
    assert [x["status"] for x in streams] == ["101", "101"], streams
    assert {x["upstream"] for x in lines} == {upstream}, lines
    assert upstream in replicas and len(replicas) == 2


def test_an_image_upload_through_the_proxy_reaches_the_session_s_replica(cluster, browser):
    proxy, _ = cluster
    ctx, upstream = new_session(browser, proxy, **VIEW)
    page = ctx.new_page()
    _open(page, proxy.url)
    _open(page, f"{proxy.url}/group_features", 180_000)  # the first visit builds ResNeXt-50 in that replica
    page.locator(UPLOADER).set_input_files(files=[{"name": "ramp.png", "mimeType": "image/png", "buffer": _png()}])
    page.wait_for_function("() => document.querySelector('[data-testid=\"stMain\"]').innerText"
                           ".includes('Original, 160×120 (PNG)')", timeout=120_000)
    wait_idle(page)
    assert page.get_by_role("combobox", name="Picture").input_value() == "Your upload: ramp.png"
    assert "image=upload" in page.url
    route = route_of(ctx)
    ctx.close()
    # nginx logs the refused PUT only once it has finished reading and discarding its body: wait for both lines.
    is_put = lambda x: x["route"] == route and x["request"].startswith("PUT /_stcore/upload_file/")  # noqa: E731
    puts = [x for x in wait_for_log(proxy, is_put, count=2, timeout_s=30.0) if is_put(x)]
    assert [(x["status"], x["upstream"]) for x in puts] == [("204", upstream)], puts


def test_an_upload_over_the_cap_is_refused_with_a_message_and_one_under_it_passes(cluster, browser):
    proxy, _ = cluster
    ctx, upstream = new_session(browser, proxy, **VIEW)
    route = route_of(ctx)
    page = ctx.new_page()
    _open(page, proxy.url)
    _open(page, f"{proxy.url}/group_features", 180_000)
    # In the browser, Streamlit itself refuses a file over server.maxUploadSize before sending it.
    page.locator(UPLOADER).set_input_files(files=[{"name": "huge.png", "mimeType": "image/png",
                                                   "buffer": b"\x89PNG" + bytes(21 * 2**20)}])
    # The file's chip turns red, with the sentence as its tooltip and as an alert (what a screen reader reads).
    refusal = page.locator('[data-testid="stFileUploader"]').get_by_role("alert")
    refusal.filter(has_text="File must be 20.0MB or smaller.").wait_for(state="attached", timeout=30_000)
    # Just under the cap the file passes nginx and reaches the session's replica (which says why it is no picture).
    page.locator(UPLOADER).set_input_files(files=[{"name": "near.png", "mimeType": "image/png",
                                                   "buffer": b"\x89PNG" + bytes(19_900_000)}])
    page.wait_for_function("() => document.querySelector('[data-testid=\"stMain\"]').innerText.includes('near.png')",
                           timeout=60_000)
    wait_idle(page)
    assert page.locator('[data-testid="stAlertContentError"]').filter(has_text="near.png").count() == 1, _main(page)
    # Anything else that sends more than the cap (a script, an old client) gets nginx's 413 and its sentence,
    # and no replica ever sees the body.
    response = ctx.request.put(f"{proxy.url}/_stcore/upload_file/some-session/some-file",
                               multipart={"file": {"name": "huge.png", "mimeType": "image/png",
                                                   "buffer": bytes(21 * 2**20)}})
    assert response.status == 413
    assert "larger than the upload limit of 20 MB" in response.text()
    ctx.close()
    # nginx logs the refused PUT only once it has finished reading and discarding its body: wait for both lines.
    is_put = lambda x: x["route"] == route and x["request"].startswith("PUT /_stcore/upload_file/")  # noqa: E731
    puts = [x for x in wait_for_log(proxy, is_put, count=2, timeout_s=30.0) if is_put(x)]
    assert [(x["status"], x["upstream"]) for x in puts] == [("204", upstream), ("413", "-")], puts


def test_two_sessions_on_two_replicas_do_not_see_each_other_s_state(cluster, browser):
    proxy, replicas = cluster
    ctx_a, up_a = new_session(browser, proxy, **VIEW)
    ctx_b, up_b = new_session(browser, proxy, avoid=up_a, **VIEW)
    assert {up_a, up_b} == set(replicas)
    a, b = ctx_a.new_page(), ctx_b.new_page()
    _open(a, proxy.url)
    _open(a, f"{proxy.url}/group_features", 180_000)
    a.locator(UPLOADER).set_input_files(files=[{"name": "mine.png", "mimeType": "image/png", "buffer": _png()}])
    a.wait_for_function("() => document.querySelector('[data-testid=\"stMain\"]').innerText"
                        ".includes('Original, 160×120 (PNG)')", timeout=120_000)
    wait_idle(a)
    a.get_by_role("link", name="Parameter math").first.click()
    wait_idle(a)
    _set_groups(a, 4)
    _open(b, proxy.url)
    _open(b, f"{proxy.url}/parameters")
    assert b.get_by_label("Groups", exact=True).input_value() == "32" and "groups=4" not in b.url
    b.get_by_role("link", name="Group features").first.click()
    wait_idle(b, 180_000)
    b.get_by_role("combobox", name="Picture").click()
    options = b.get_by_role("option").all_inner_texts()
    assert options and not any("mine.png" in o or "upload" in o.lower() for o in options), options
    b.keyboard.press("Escape")
    assert a.get_by_label("Groups", exact=True).input_value() == "4"   # and A still has its own
    routes = {route_of(ctx_a): up_a, route_of(ctx_b): up_b}
    ctx_a.close()
    ctx_b.close()
    lines = wait_for_log(proxy, lambda x: x["route"] in routes and "/_stcore/stream" in x["request"], count=4)
    for route, upstream in routes.items():
        mine = _requests_of(lines, route)
        assert mine and {x["upstream"] for x in mine} == {upstream}, mine
    assert re.fullmatch(r"[0-9a-f]{32}", next(iter(routes)))
