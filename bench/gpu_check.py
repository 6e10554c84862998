"""GPU check for the block builder, the three forms and the performance lab: our timings vs a CUDA-event reference.

Run on a CUDA machine (torch, numpy and the standard library only; no Streamlit, no Plotly):

    python bench/gpu_check.py                    # CUDA, about three minutes on an H100
    python bench/gpu_check.py --device cpu --quick   # the same logic on a CPU, small sizes (< 60 s)

It times the Table 2 bottlenecks (C/d = 1/64 ... 32/4; 32/4 is ResNeXt-50's stage-1 block)
with time_block in float32 and bfloat16, and the performance lab's sweep (a 3x3 convolution
128 -> 128 at batch 64 on 56x56 at every G, grouped kernel and per-group Python loop, plus
the Table 2 bottlenecks; channels_last, float32 and bfloat16): lab.run_sweep once, then each
callable in paired rounds, timed by the lab's own path (lab.time_callable) and right after by
a plain reference (CUDA events around each call on a GPU, a bare perf_counter loop on a CPU). It also checks that the three forms agree in
float64 on the device, prints one table (with the shipped H100 anchor's time beside each
lab convolution) and writes JSON to $OUT/gpu_check.json when OUT is set, else to
bench/results/. Target: lab timings within 10% of the CUDA-event reference.
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

import torch  # noqa: E402

from resnext_viz.blocks.builder import BlockConfig  # noqa: E402
from resnext_viz.blocks.timing import BlockStep, time_block  # noqa: E402
from resnext_viz.blocks.forms import FORM_NAMES, FormSpec, build_forms, compare_forms  # noqa: E402
from resnext_viz.lab import sweep as lab
from resnext_viz.lab import reference as lab_reference  # noqa: E402
from resnext_viz.timing import Timing, bare_loop, measure_cuda_events, steady_cpu_allocator  # noqa: E402

TABLE2 = ((1, 64), (2, 40), (4, 24), (8, 14), (32, 4))  # (C, d); planes 64 makes base_width = d
FORMS_TOLERANCE = 1e-10  # float64: the forms differ only by summation order
LAB_TOLERANCE = 0.10  # issue 5: lab timings within 10% of the CUDA-event reference


def reference(fn, device: str, repeats: int) -> Timing:
    """Return a plain reference timing: CUDA events on a GPU, a bare perf_counter loop on a CPU."""
    if device == "cuda":
        return measure_cuda_events(fn, warmup=5, repeats=repeats)
    return Timing.from_samples(bare_loop(fn, repeats=repeats, warmup=2), "cpu", 2)


def environment(device: str) -> dict:
    env = {"python": platform.python_version(), "torch": torch.__version__, "device": device,
           "threads": torch.get_num_threads()}
    if device == "cuda":
        env.update(gpu=torch.cuda.get_device_name(0), cuda=torch.version.cuda,
                   cudnn=torch.backends.cudnn.version(), cudnn_allow_tf32=torch.backends.cudnn.allow_tf32,
                   cudnn_benchmark=torch.backends.cudnn.benchmark)
    else:
        env["cpu"] = platform.processor() or platform.machine()
    return env


def check_blocks(device: str, quick: bool) -> list[dict]:
    batch, hw = (2, 28) if quick else (64, 56)
    budget, repeats = (0.2, 10) if quick else (0.6, 50)
    rows = []
    for dtype in (torch.float32, torch.bfloat16):
        for C, d in TABLE2:
            cfg = BlockConfig(inplanes=256, planes=64, cardinality=C, base_width=d, batch=batch, height=hw, width=hw)
            ours = time_block(cfg, device, dtype, budget_s=budget)
            step = BlockStep(cfg, device, dtype)  # same config and seed: the same block and input
            for phase, mine, fn in (("fwd", ours.forward, step.forward),
                                    ("fwd+bwd", ours.forward_backward, step.forward_backward)):
                ref = reference(fn, device, repeats)
                peak = ours.peak_forward_bytes if phase == "fwd" else ours.peak_forward_backward_bytes
                name = f"C={C} d={d}" + (" (ResNeXt-50 stage 1)" if (C, d) == (32, 4) else "")
                rows.append({"item": f"block {name} bs{batch} {str(dtype)[6:]} {phase}",
                             "ours_ms": mine.median_ms, "ours_iqr_ms": mine.iqr_s * 1e3, "ours_n": mine.n,
                             "ref_ms": ref.median_ms, "ref_n": ref.n, "ratio": mine.median_s / ref.median_s,
                             "peak_MiB": None if peak is None else peak / 2**20, "params": ours.params,
                             "GMACs": ours.macs / 1e9, "note": mine.note})
            del step
    return rows


def check_forms(device: str, quick: bool) -> tuple[dict, list[dict]]:
    spec64 = FormSpec(batch=2 if quick else 8, height=14 if quick else 56, width=14 if quick else 56)
    exact = compare_forms(spec64, device, torch.float64, time_forms=False)
    spec = FormSpec(batch=2 if quick else 64, height=14 if quick else 56, width=14 if quick else 56)
    timed = compare_forms(spec, device, torch.float32, budget_s=0.2 if quick else 0.5)
    forms = build_forms(spec, device=device, dtype=torch.float32)
    x = torch.randn(spec.batch, spec.c_in, spec.height, spec.width, device=device)
    rows = []
    with torch.inference_mode():
        for key, form in forms.items():
            ref = reference(lambda f=form: f(x), device, 10 if quick else 50)
            mine = timed.times[key]
            rows.append({"item": f"form {FORM_NAMES[key]} bs{spec.batch} float32", "ours_ms": mine.median_ms,
                         "ours_iqr_ms": mine.iqr_s * 1e3, "ours_n": mine.n, "ref_ms": ref.median_ms,
                         "ref_n": ref.n, "ratio": mine.median_s / ref.median_s, "peak_MiB": None,
                         "params": timed.params[key], "GMACs": spec.macs / 1e9, "note": mine.note})
    identity = {"spec": vars(spec64), "max_abs_diff": exact.max_abs_diff, "output_max_abs": exact.output_max_abs,
                "tolerance": FORMS_TOLERANCE, "ok": max(exact.max_abs_diff.values()) < FORMS_TOLERANCE}
    return identity, rows


def check_lab(device: str, quick: bool) -> list[dict]:
    """Run the lab's sweep, then time each of its callables with the lab's path and the reference, paired.

    lab.run_sweep exercises the whole device path (budget, passes, threads); its medians go
    to the JSON. The compared figure is paired, as in bench_block_timing: in each of a few
    rounds the same callable is timed by lab.time_callable (what every sweep step does)
    and right after by the reference, and the verdict is the median of the rounds' ratios,
    so a burst of load from other programs hits both alike.
    """
    channels, size, batch = (16, 14, 2) if quick else (lab_reference.Anchor.conv_channels, lab_reference.Anchor.conv_size,
                                                        lab_reference.Anchor.conv_batch)
    budget, step_s, repeats, rounds = (3.0, 0.05, 10, 3) if quick else (20.0, 0.3, 50, 3)
    anchor = lab_reference.load_anchor()
    rows = []
    for dtype in ("float32", "bfloat16"):
        cfg = lab.LabConfig(channels=channels, size=size, batch=batch, device=device, dtype=dtype,
                            channels_last=True, threads=None, budget_s=budget)
        swept = {(r.part, r.method, r.groups): r for r in lab.run_sweep(cfg).rows}
        for case in lab.cases(cfg):
            fn = lab.build_callable(case, cfg, device)
            ours, refs = [], []
            for _ in range(rounds):
                ours.append(lab.time_callable(fn, device, step_s)[0])
                refs.append(reference(fn, device, repeats))
            ratio = statistics.median(o.median_s / r.median_s for o, r in zip(ours, refs))
            mine = statistics.median(o.median_s for o in ours)
            ref_s = statistics.median(r.median_s for r in refs)
            anchor_ms = None
            if not quick and case.part == "conv3x3":
                a = anchor.conv_at(dtype, case.groups)
                anchor_ms = a.ms if case.method == "grouped kernel" else a.loop_ms
            elif not quick and dtype == "float32":
                anchor_ms = next((b.fwd_ms for b in anchor.block_rows(64) if b.C == case.groups), None)
            what = (f"lab {case.method} G={case.groups} {channels}ch" if case.part == "conv3x3"
                    else f"lab bottleneck {case.groups}x{case.d}d {lab.TEMPLATE_CHANNELS}ch")
            sweep_row = swept.get((case.part, case.method, case.groups))
            rows.append({"item": f"{what} bs{batch} {size}x{size} {dtype} CL", "ours_ms": mine * 1e3,
                         "ours_iqr_ms": statistics.median(o.iqr_s for o in ours) * 1e3,
                         "ours_n": sum(o.n for o in ours), "ref_ms": ref_s * 1e3, "ref_n": sum(r.n for r in refs),
                         "ratio": ratio, "peak_MiB": None, "params": case.params, "GMACs": case.flops / 2e9,
                         "note": next((o.note for o in ours if o.note), ""), "anchor_ms": anchor_ms, "lab": True,
                         "sweep_ms": None if sweep_row is None else sweep_row.median_ms,
                         "rounds_ms": [[o.median_s * 1e3, r.median_s * 1e3] for o, r in zip(ours, refs)]})
            del fn
    return rows


def print_table(rows: list[dict], ref_name: str) -> None:
    print(f"{'item':<62} {'ours ms':>9} {ref_name + ' ms':>10} {'ratio':>6} {'peak MiB':>9} {'anchor ms':>10}")
    for r in rows:
        peak = "" if r["peak_MiB"] is None else f"{r['peak_MiB']:.0f}"
        anchor = "" if r.get("anchor_ms") is None else f"{r['anchor_ms']:.3f}"
        flag = "  <- wide spread" if r["note"] else ""
        if r.get("lab") and abs(r["ratio"] - 1) > LAB_TOLERANCE:
            flag += "  <- outside ±10%"
        print(f"{r['item']:<62} {r['ours_ms']:9.3f} {r['ref_ms']:10.3f} {r['ratio']:6.2f} {peak:>9} {anchor:>10}{flag}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--quick", action="store_true", help="small sizes and short budgets (for a CPU)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for torch (1 is steadier on a busy shared machine)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cpu":
        steady_cpu_allocator()  # no page faults on every call: see its docstring
    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu_check: CUDA is not available here (torch %s, built with CUDA %s); run it on a CUDA machine, "
              "or try --device cpu --quick." % (torch.__version__, torch.version.cuda), file=sys.stderr)
        return 2

    start = time.perf_counter()
    torch.manual_seed(0)
    blocks = check_blocks(args.device, args.quick)
    identity, forms = check_forms(args.device, args.quick)
    lab_rows = check_lab(args.device, args.quick)
    ref_name = "event" if args.device == "cuda" else "loop"
    print_table(blocks + forms + lab_rows, ref_name)
    ratios = [r["ratio"] for r in blocks + forms + lab_rows]
    print(f"\nratio ours/{ref_name}: median {statistics.median(ratios):.3f}, range {min(ratios):.3f}-{max(ratios):.3f}")
    lab_ratios = [r["ratio"] for r in lab_rows]
    within = sum(abs(x - 1) <= LAB_TOLERANCE for x in lab_ratios)
    print(f"lab rows within ±{LAB_TOLERANCE:.0%} of the {ref_name} reference: {within} of {len(lab_ratios)} "
          f"(median ratio {statistics.median(lab_ratios):.3f})")
    print(f"forms float64 max abs diff on {args.device}: "
          + ", ".join(f"{k} {v:.2e}" for k, v in identity["max_abs_diff"].items())
          + f" (outputs up to {identity['output_max_abs']:.2f}) -> {'OK' if identity['ok'] else 'FAILED'}")
    elapsed = time.perf_counter() - start
    print(f"total {elapsed:.1f} s")

    result = {"environment": environment(args.device), "quick": args.quick, "seconds": elapsed,
              "reference": "CUDA events around each call" if args.device == "cuda" else "perf_counter loop",
              "blocks": blocks, "forms_timing": forms, "forms_identity": identity, "lab": lab_rows,
              "lab_tolerance": LAB_TOLERANCE, "lab_within": within}
    out_dir = Path(os.environ["OUT"]) if os.environ.get("OUT") else ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    name = "gpu_check.json" if args.device == "cuda" else "gpu_check_cpu.json"
    (out_dir / name).write_text(json.dumps(result, indent=1))
    print(f"wrote {out_dir / name}")
    if not identity["ok"]:
        print("gpu_check: the three forms disagree beyond float64 rounding.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
