"""Benchmark: a 12-megapixel JPEG upload to per-group feature statistics, on this machine's CPU.

Run from the repository root:  python bench/bench_features.py [--repeats 15] [--sessions 5] [--skip-server]
Three parts, each beside its target:
1. the package pipeline (decode -> preprocess -> capture -> statistics), <= 500 ms per upload,
   model load excluded; <= 700 MB resident after loading the model -> bench/results/bench_features.json;
2. the group-features page itself (AppTest, in this process): the rerun after `set_value` of a
   12 MP JPEG, per-image caches emptied before each upload so every upload costs what a new
   picture costs; and the rerun after changing only the group page (cache hits);
3. a real server (`streamlit run app.py`) with 1 then N headless Chromium sessions, each
   uploading its own picture: the server's RSS, <= 700 MB with ResNeXt-50 loaded, and the
   growth per extra session, <= 30 MB.
Parts 2 and 3 go through bench/common.py's report -> bench/results/features_ui.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.imagecases (the test suite's image generator) is not part of the package

import torch  # noqa: E402

from resnext_viz.inside.images import decode_image, preprocess  # noqa: E402
from resnext_viz.inside.gradients import GradTarget, gradient_locality, layer_gradients  # noqa: E402
from resnext_viz.inside.probes import (block_diagonality, by_group, capture_activation,  # noqa: E402
                                       channel_correlation, group_energy)
from resnext_viz.inside.weights import load_model  # noqa: E402
from tests.imagecases import big_jpeg  # noqa: E402

from common import Row, Server, median_time  # noqa: E402  (bench/ is the script's folder)
from common import report as write_report  # noqa: E402

TARGET_MS = 500.0  # server time per upload, decode to statistics, model load excluded
TARGET_RSS_MB = 700.0  # resident memory after the model is loaded
TARGET_SESSION_MB = 30.0  # server memory added by each extra browser session
FEATURES_PAGE = "pages/group_features.py"
LAYERS = ("layer3.5.conv2", "layer1.0.conv2")


def rss_mb(field: str = "VmRSS") -> float:
    """Return this process's resident memory (or another /proc/self/status field), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def reset_peak_rss() -> None:
    """Reset VmHWM to the current RSS (Linux: write 5 to /proc/self/clear_refs); ignore where not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def timed(fn, repeats: int, warmup: int = 2) -> list[float]:
    """Return `repeats` wall times of fn(), in milliseconds, after `warmup` untimed calls."""
    return [t * 1000.0 for t in median_time(fn, repeats, warmup)[1]]


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"median_ms": statistics.median(ordered), "min_ms": ordered[0],
            "p90_ms": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--sessions", type=int, default=5, help="browser sessions for the server memory test")
    parser.add_argument("--skip-server", action="store_true", help="skip part 3 (needs Chromium)")
    args = parser.parse_args()

    rss_start = rss_mb()
    start = time.perf_counter()
    loaded = load_model(allow_download=False)  # the cached file if present, else seeded random weights
    load_s = time.perf_counter() - start
    rss_model = rss_mb()
    model, groups = loaded.model, 32
    data = big_jpeg(4000, 3000, quality=90)
    reset_peak_rss()  # building the test photo is not serving it: measure the peak from here

    def upload(layer: str):
        decoded = decode_image(data, "photo.jpg")
        x, _ = preprocess(decoded.image, loaded.resize, loaded.crop)
        act = capture_activation(model, layer, x)
        energy = group_energy(act, groups)
        diag = block_diagonality(channel_correlation(act), groups)
        return energy, diag

    decoded = decode_image(data, "photo.jpg")
    x, _ = preprocess(decoded.image, loaded.resize, loaded.crop)
    rows: dict[str, dict[str, float]] = {}
    rows["decode 12 MP JPEG"] = summary(timed(lambda: decode_image(data, "photo.jpg"), args.repeats))
    rows[f"preprocess (resize {loaded.resize}, crop {loaded.crop})"] = summary(
        timed(lambda: preprocess(decoded.image, loaded.resize, loaded.crop), args.repeats))
    with torch.no_grad():
        full_forward = summary(timed(lambda: model(x), args.repeats))
    for layer in LAYERS:
        act = capture_activation(model, layer, x)
        rows[f"capture {layer} {tuple(act.shape)}"] = summary(
            timed(lambda: capture_activation(model, layer, x), args.repeats))
        rows[f"  group energy + {act.shape[0]}x{act.shape[0]} correlation + block-diag"] = summary(
            timed(lambda: (group_energy(act, groups), block_diagonality(channel_correlation(act), groups),
                           by_group(act, groups)), args.repeats))
        rows[f"END TO END {layer}"] = summary(timed(lambda: upload(layer), args.repeats))
    extras = {
        "full forward (for scale)": full_forward,
        "gradient: class logit at layer1.0.conv2": summary(timed(
            lambda: layer_gradients(model, "layer1.0.conv2", x, GradTarget.class_logit(1)), max(5, args.repeats // 3))),
        "gradient: class logit at layer3.5.conv2": summary(timed(
            lambda: layer_gradients(model, "layer3.5.conv2", x, GradTarget.class_logit(1)), max(5, args.repeats // 3))),
        "gradient: group energy at layer3.5.conv2": summary(timed(
            lambda: layer_gradients(model, "layer3.5.conv2", x, GradTarget.group_energy(0)), max(5, args.repeats // 3))),
        "locality grouped vs dense at layer1.0.conv2": summary(timed(
            lambda: gradient_locality(model, "layer1.0.conv2", x, 0), max(5, args.repeats // 3))),
    }
    rss_peak = rss_mb("VmHWM")

    width = 62
    print(f"\nresnext_viz feature benchmark: {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, weights: {loaded.source}, load {load_s:.2f} s")
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())} (others share this CPU)\n")
    print(f"{'step':<{width}} {'median ms':>10} {'min ms':>8} {'p90 ms':>8}")
    for name, stats in rows.items():
        verdict = ""
        if name.startswith("END TO END"):
            verdict = f"  target <= {TARGET_MS:.0f} ms: {'PASS' if stats['median_ms'] <= TARGET_MS else 'FAIL'}"
        print(f"{name:<{width}} {stats['median_ms']:>10.1f} {stats['min_ms']:>8.1f} {stats['p90_ms']:>8.1f}{verdict}")
    print("\nnot in the target (other lessons):")
    for name, stats in extras.items():
        print(f"{name:<{width}} {stats['median_ms']:>10.1f} {stats['min_ms']:>8.1f} {stats['p90_ms']:>8.1f}")
    print(f"\nRSS before the model {rss_start:.0f} MB; after loading it {rss_model:.0f} MB "
          f"(target <= {TARGET_RSS_MB:.0f} MB: {'PASS' if rss_model <= TARGET_RSS_MB else 'FAIL'}); "
          f"peak while serving {rss_peak:.0f} MB")

    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "bench_features", "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "repeats": args.repeats,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                    "load_average_end": os.getloadavg()},
        "weights": {"source": loaded.source, "pretrained": loaded.pretrained, "load_s": load_s},
        "targets": {"end_to_end_ms": TARGET_MS, "rss_after_model_mb": TARGET_RSS_MB},
        "steps": rows, "extras": extras,
        "rss_mb": {"before_model": rss_start, "after_model": rss_model, "peak": rss_peak},
    }
    path = out_dir / "bench_features.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"wrote {path.relative_to(ROOT)}")

    ui_rows = page_rows(data, max(5, args.repeats // 2))
    if not args.skip_server:
        ui_rows += server_rows(args.sessions)
    return write_report("Group-features page: server time and memory", ui_rows, "features_ui")


# ---- part 2: the page itself, in AppTest -----------------------------------------------------

def page_rows(photo: bytes, repeats: int) -> list[Row]:
    """Return the page's rerun times: a new 12 MP upload, and a change of the group page only (cached)."""
    os.environ["RESNEXT_VIZ_OFFLINE"] = "1"  # the same random model as above; no download attempt
    from streamlit.testing.v1 import AppTest

    from resnext_viz import ui

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(FEATURES_PAGE).run()  # loads the model once (excluded, as the target says)
    uploads = []
    for i in range(repeats + 1):
        ui.clear_image_caches()  # every upload costs what a picture never seen before costs
        at.file_uploader[0].set_value((f"photo{i}.jpg", photo, "image/jpeg"))
        start = time.perf_counter()
        at.run()
        elapsed = (time.perf_counter() - start) * 1000.0
        assert not at.exception and at.session_state["img_upload"].original_size == (4000, 3000), at.exception
        if i:  # the first settles lazy imports
            uploads.append(elapsed)
    pages = []
    for i in range(repeats + 2):
        at.radio(key="feat_page").set_value(2 + i % 2)
        start = time.perf_counter()
        at.run()
        if i >= 2:
            pages.append((time.perf_counter() - start) * 1000.0)
    layers = []
    for i in range(repeats):
        ui.clear_image_caches()
        at.selectbox(key="img_layer").set_value(("layer4.2.conv2", "layer1.0.conv2")[i % 2])
        start = time.perf_counter()
        at.run()
        layers.append((time.perf_counter() - start) * 1000.0)
    return [
        Row("features page rerun after a new 12 MP JPEG upload", statistics.median(uploads), "ms", TARGET_MS,
            note=f"AppTest, median of {len(uploads)}, caches emptied; min {min(uploads):.0f}"),
        Row("features page rerun after changing only the group page", statistics.median(pages), "ms",
            note=f"median of {len(pages)}; per-image results read back from st.cache_data"),
        Row("features page rerun after a layer change (not cached)", statistics.median(layers), "ms",
            note="layer1.0.conv2 <-> layer4.2.conv2 (1024 channels)"),
    ]


# ---- part 3: a real server and real browser sessions ------------------------------------------

def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def server_rows(sessions: int) -> list[Row]:
    """Return the server's RSS with the model loaded and the growth per extra browser session."""

    from playwright.sync_api import sync_playwright

    from tests.conftest import chromium_path, wait_idle

    chromium = chromium_path()
    if chromium is None:
        print("part 3 skipped: no Chromium")
        return []
    srv = Server(env={"RESNEXT_VIZ_OFFLINE": "1"}).start()
    proc, url = srv.proc, srv.url
    try:
        rss_started = _rss_mb(proc.pid)
        readings = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            pages = []
            for i in range(sessions):
                page = browser.new_page(viewport={"width": 1400, "height": 1800})
                page.goto(f"{url}/")
                wait_idle(page, 120_000)
                page.goto(f"{url}/group_features")
                wait_idle(page, 120_000)
                photo = big_jpeg(1600, 1200, quality=88) if i == 0 else _photo(i)
                page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
                    files=[{"name": f"photo{i}.jpg", "mimeType": "image/jpeg", "buffer": photo}])
                page.wait_for_function("() => document.querySelector('[data-testid=\"stMain\"]').innerText"
                                       ".includes('Original, 1600×1200')", timeout=120_000)
                wait_idle(page, 120_000)
                pages.append(page)
                time.sleep(2.0)  # let the server settle (release uploads, finish writes)
                readings.append(_rss_mb(proc.pid))
                print(f"  {i + 1} session(s): server RSS {readings[-1]:.0f} MB")
            browser.close()
    finally:
        srv.stop()
    per_session = (readings[-1] - readings[0]) / max(1, len(readings) - 1)
    worst = max([(r - readings[0]) / i for i, r in enumerate(readings) if i] or [0.0])  # RSS is noisy: the worst
    return [
        Row("server RSS, started (no session yet)", rss_started, "MB"),
        Row("server RSS, 1 session (ResNeXt-50 loaded, one upload)", readings[0], "MB", TARGET_RSS_MB),
        Row(f"server RSS, {len(readings)} sessions", readings[-1], "MB"),
        Row("server memory per extra session", per_session, "MB", TARGET_SESSION_MB,
            note=f"({readings[-1]:.0f} - {readings[0]:.0f}) / {len(readings) - 1}, each its own 1600x1200 JPEG"),
        Row("server memory per extra session, worst reading", worst, "MB", TARGET_SESSION_MB,
            note="max over k of (RSS with k+1 sessions - RSS with 1) / k; readings " +
                 ", ".join(f"{r:.0f}" for r in readings)),
    ]


def _photo(seed: int) -> bytes:
    """Return a distinct 1600x1200 photo-like JPEG (a different picture for every session)."""
    import io

    import numpy as np
    from PIL import Image

    from tests.imagecases import _photo_like

    pixels = np.roll(_photo_like(1600, 1200, seed=seed), seed * 97, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


if __name__ == "__main__":
    raise SystemExit(main())
