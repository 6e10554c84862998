"""Benchmark: a 12-megapixel JPEG upload to per-group feature statistics, on this machine's CPU.

Run from the repository root:  python bench/bench_features.py [--repeats 15]
Prints a table beside the targets (<= 500 ms server time per upload, model load excluded;
<= 700 MB resident after loading the model) and writes bench/results/bench_features.json.
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
sys.path.insert(0, str(ROOT))  # run as a script: make resnext_viz and tests importable

import torch  # noqa: E402

from resnext_viz.images import decode_image, preprocess  # noqa: E402
from resnext_viz.probes import (GradTarget, block_diagonality, by_group, capture_activation,  # noqa: E402
                                channel_correlation, gradient_locality, group_energy, layer_gradients)
from resnext_viz.weights import load_model  # noqa: E402
from tests.imagecases import big_jpeg  # noqa: E402

TARGET_MS = 500.0  # server time per upload, decode to statistics, model load excluded
TARGET_RSS_MB = 700.0  # resident memory after the model is loaded
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
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"median_ms": statistics.median(ordered), "min_ms": ordered[0],
            "p90_ms": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
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


if __name__ == "__main__":
    main()
