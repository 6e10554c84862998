"""Performance lab: measured time against FLOPs for grouped convolutions, here and on an H100."""

import inspect

import streamlit as st

from resnext_viz import ui
from resnext_viz.lab import figures as figures_lab
from resnext_viz.lab import sweep as lab
from resnext_viz.lab import reference as lab_reference

ui.require_app()

st.title("Performance lab")
st.markdown("A grouped convolution does 1/G of the dense arithmetic. Does it take 1/G of the time? Measure it on "
            "the machine running this app and set your numbers beside an H100's.")

device = ui.device_picker()
cfg, problem = ui.lab_controls(device)
anchor = lab_reference.load_anchor()
if problem:
    st.error(problem, icon=":material/block:")
st.button("Run", type="primary", icon=":material/speed:", key="lab_run", disabled=cfg is None,
          help="Times every configuration, in two passes, within the budget. Results stay until the next run.",
          on_click=ui.request_run, args=("lab_run",))
if ui.run_requested("lab_run") and cfg is not None:
    ui.run_lab(cfg)
result = ui.lab_result()

if result is None:
    st.info("Press **Run** to measure. Until then the charts show the H100 reference alone.",
            icon=":material/info:")
else:
    if cfg is not None and result.config != cfg:
        st.info(f"Showing the last run ({result.config.describe()}). Press **Run** to measure the current "
                "settings.", icon=":material/history:")
    grouped = result.part("conv3x3", "grouped kernel")
    m = st.columns(4)
    m[0].metric("Configurations timed", f"{len(result.rows)} of {len(result.rows) + len(result.skipped)}")
    m[1].metric("Run time", f"{result.seconds:.1f} s", help=f"budget {result.config.budget_s:g} s")
    if grouped:
        m[2].metric("Dense 3×3 (G = 1)", f"{grouped[0].median_ms:.3g} ms")
        m[3].metric("Dense speed", f"{grouped[0].gflops_per_s:,.1f} GFLOP/s")
    st.markdown("\n".join(f"- {line}" for line in lab.findings(result)))
    st.caption(f"Measured on {result.device_name} ({result.config.device}, {result.config.dtype}, "
               f"{'channels_last' if result.config.channels_last else 'NCHW'}"
               + (f", {result.threads} CPU thread{'s' if result.threads > 1 else ''}" if result.config.device == "cpu"
                  else "") + f"), PyTorch {result.torch_version}.")
    if result.spread_note():
        st.caption(f":material/warning: {result.spread_note()}")

dtype = result.config.dtype if result else (cfg.dtype if cfg else "float32")
with ui.main_figure():  # presentation mode draws it under the title
    st.subheader("Time against FLOPs", anchor=False)
    ui.figure(figures_lab.time_vs_flops(result, anchor, dtype), "lab_time_vs_flops", "lab_time_chart")
ui.figure(figures_lab.speed_vs_intensity(result, anchor, dtype), "lab_speed_vs_intensity", "lab_speed_chart")
if result is None or result.part("bottleneck"):
    ui.figure(figures_lab.bottleneck_ratio(result, anchor), "lab_bottleneck", "lab_block_chart")
st.caption(f"Dotted lines, open markers: **{lab_reference.ANCHOR_LABEL}**, not your machine and never mixed with your "
           f"runs. {lab_reference.ANCHOR_SOURCE}")

if result is not None:
    st.subheader("Measurements", anchor=False)
    st.markdown(f"**3×3 convolution {result.config.channels} → {result.config.channels}**, one row per group count "
                "(times are the median of one call).")
    ui.table(lab.conv_table(result))
    if result.part("bottleneck"):
        st.markdown("**Bottleneck at preserved complexity** (Table 2: 256 → C·d → grouped 3×3 → 256).")
        ui.table(lab.bottleneck_table(result))
    pair = ui.lab_format_pair()
    if pair:
        st.markdown("**Memory format:** your last NCHW and channels_last runs of these settings, side by side.")
        ui.table(lab.format_table(*pair))
    else:
        st.caption("On a CPU the memory format matters as much as G: run once with channels_last off and once on "
                   "(same settings) to see both here.")
    st.download_button("Download CSV", lab.to_csv(result), file_name="performance_lab.csv", mime="text/csv",
                       icon=":material/download:", key="lab_csv", on_click="ignore")

st.subheader("Why fewer FLOPs is not less time", anchor=False)
for heading, text in lab_reference.lesson(anchor).items():
    st.markdown(f"**{heading}.** {text}")

with st.expander("How the timing works"):
    st.markdown(lab.HOW_IT_IS_TIMED)
ui.show_code("lab", lambda: inspect.getsource(lab.GroupLoop) + "\n\n" + inspect.getsource(lab.time_callable))
