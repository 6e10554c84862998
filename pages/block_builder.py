"""Block builder: configure one ResNeXt bottleneck, count it, time it on your device, copy its code."""

import streamlit as st

from resnext_viz.blocks import figures as fb
from resnext_viz import ui
from resnext_viz.blocks import builder
from resnext_viz.blocks.builder import MAC_NOTE
from resnext_viz.conv.arithmetic import fmt_bytes, fmt_int

ui.require_app()

st.title("Block builder")
st.markdown("A ResNeXt bottleneck is 1×1 reduce → grouped 3×3 → 1×1 expand, plus a shortcut. Its width is one "
            "line of arithmetic: `int(planes × base_width / 64) × cardinality`. Build one, check every count "
            "against PyTorch, and time it on your own hardware.")

device = ui.device_picker()
f = {x.key: x for x in ui.BLOCK_FIELDS}
dtype_field = ui.Field("blk_dtype", "dtype", "float32", label="dtype", options=("float32", "bfloat16", "float16"))
budget_field = ui.Field("blk_budget", "time_budget", 1.0, 0.5, 5.0, label="time budget")
ui.show_notices(ui.seed([budget_field]))
with ui.controls(ui.BLOCK_FIELDS + [dtype_field]):
    c = st.columns(4)
    for col, (key, label) in zip(c, [("blk_inplanes", "Input channels"), ("blk_planes", "Planes (output = 4 × planes)"),
                                     ("blk_cardinality", "Cardinality C"),
                                     ("blk_base_width", "Base width (d at planes = 64)")]):
        with col:
            ui.number(f[key], label=label)
    c = st.columns(4)
    c[0].segmented_control("Stride", [1, 2], persist_state="session", key="blk_stride", required=True)
    c[1].segmented_control("Downsample", list(f["blk_downsample"].options), persist_state="session",
                           key="blk_downsample", required=True,
                           help="auto: a 1×1 projection on the shortcut only when its shape must change.")
    with c[2]:
        ui.number(f["blk_batch"], label="Batch")
    c[3].selectbox("dtype", list(dtype_field.options), persist_state="session", key="blk_dtype")
    with st.expander("Input height and width"):
        h1, h2 = st.columns(2)
        with h1:
            ui.number(f["blk_height"], label="Height")
        with h2:
            ui.number(f["blk_width"], label="Width")

try:
    cfg = ui.current_block_config()
except ValueError as e:
    st.error(str(e), icon=":material/block:")
    st.stop()

table, torch_counts = ui.block_tables(cfg)
m = st.columns(4)
m[0].metric("d × C", f"{cfg.d} × {cfg.cardinality} = {cfg.bottleneck_width}", help="channels of the grouped 3×3")
m[1].metric("Parameters", fmt_int(table.params))
m[2].metric("MACs per image", fmt_int(table.macs_per_image))
m[3].metric("Output per image", f"{cfg.out_channels}×{cfg.out_height}×{cfg.out_width}",
            help=f"The batch of {cfg.batch} gives ({cfg.batch}, {cfg.out_channels}, {cfg.out_height}, {cfg.out_width}).")
ok = table.params == torch_counts["params"] and table.macs == torch_counts["macs"]
st.markdown(f"{':green[:material/check_circle:]' if ok else ':red[:material/error:]'} **PyTorch says** "
            f"{fmt_int(torch_counts['params'])} parameters (`sum(p.numel())`) and {fmt_int(torch_counts['macs'])} "
            f"MACs for the batch (`FlopCounterMode` / 2), counted on the meta device.")

ui.table(table.records())
st.caption(MAC_NOTE)
with ui.main_figure():  # presentation mode draws it under the title
    ui.figure(lambda: fb.layer_breakdown(list(table.rows)), "block_layers", "blk_layers", cache_key=tuple(table.rows))

st.subheader(f"Time it on the {device.upper()}", anchor=False)
budget = st.slider("Time budget (seconds, split between forward and forward+backward)", budget_field.lo,
                   budget_field.hi, step=0.5, persist_state="session", key="blk_budget")
ui.sync_url([budget_field])
key = (cfg, device, st.session_state["blk_dtype"])
st.button("Time this block", type="primary", key="blk_time", on_click=ui.request_run, args=("blk_time",))
if ui.run_requested("blk_time"):
    bar = st.progress(0.0, text="Warming up, then timing…")
    result, problem = ui.time_block(cfg, device, st.session_state["blk_dtype"], budget,
                                    lambda f: bar.progress(min(f, 1.0), text=f"Timing… {f:.0%}"))
    bar.empty()
    st.session_state["blk_result"] = (key, result, problem)
saved = st.session_state.get("blk_result")
if saved and saved[0] == key:
    _, result, problem = saved
    if problem:
        st.error(problem, icon=":material/memory:")
        if device != "cpu":
            st.button("Run on the CPU instead", key="blk_to_cpu", on_click=lambda: st.session_state.update(device="cpu"))
    else:
        t = st.columns(4)
        t[0].metric("Forward, median", f"{result.forward.median_ms:.2f} ms", help=result.forward.summary())
        t[1].metric("Forward + backward", f"{result.forward_backward.median_ms:.2f} ms",
                    help=result.forward_backward.summary())
        t[2].metric("Throughput", f"{result.images_per_s:,.0f} img/s", help="batch / forward median")
        peak = result.peak_forward_backward_bytes
        t[3].metric("Peak memory", fmt_bytes(peak) if peak is not None else "CUDA only")
        for n in (ui.CPU_TIMING_NOTE if device == "cpu" else "", *result.notes):  # notes hold each spread note
            if n:
                st.caption(n)
        if result.ordering_problem:
            st.warning(result.ordering_problem, icon=":material/warning:")
            st.button("Measure again", key="blk_again", on_click=ui.request_run, args=("blk_time",))
else:
    st.caption("Press the button to measure: warm-up first, then the median of repeats until the budget is spent.")

ui.show_code("block", lambda: builder.block_code(cfg), "PyTorch code for this block")
