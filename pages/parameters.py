"""Parameter math: the weight count, weight shape, MACs and memory of one grouped convolution."""

import inspect

import streamlit as st

from resnext_viz.conv import arithmetic as cm
from resnext_viz import ui
from resnext_viz.conv import figures

ui.require_app()

st.title("Parameter math")
st.markdown("A grouped convolution splits C_in and C_out into G equal blocks and convolves each block pair on its "
            "own. Change any number and watch what it costs, checked against PyTorch.")

spec, problem = ui.conv_controls()
if problem:
    ui.group_fix(problem)
    st.stop()

r = cm.report(spec)
n = cm.fmt_int
k = f"{spec.kh} × {spec.kw}"
G = spec.groups

m1, m2, m3, m4 = st.columns(4)
m1.metric("Dense weights (G = 1)", n(r.dense_weights))
m2.metric(f"Grouped weights (G = {G})", n(r.weights))
m3.metric("Weight reduction", cm.fmt_pct(r.weight_reduction), help="1 − 1/G, bias not counted")
m4.metric("Times fewer", f"{r.factor:g}×")
st.caption(f"This reduction ({cm.fmt_pct(r.weight_reduction)}) is at a *fixed width*: the same C_in and C_out, "
           "split into groups. ResNeXt spends that saving on width instead, keeping the weights fixed: compare "
           "the two views on [Cardinality, same width](/cardinality?mode=fixed) and "
           "[same weights](/cardinality?mode=preserved). Papers' \"FLOPs\" (ResNet's 4.1 G, ResNeXt's 4.2 G) "
           "are multiply-adds, the MACs below; PyTorch's FlopCounterMode counts 2 FLOPs per MAC.")

left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("The formula", anchor=False)
    st.markdown(f"**Dense:** C_in × C_out × kH × kW = {spec.c_in} × {spec.c_out} × {k} = **{n(r.dense_weights)}**")
    st.markdown(f"**Grouped:** {n(r.dense_weights)} / G = {n(r.dense_weights)} / {G} = **{n(r.weights)}**")
    st.markdown(
        f"**Per group:** each of the {G} group{'s' if G > 1 else ''} takes {r.in_per_group} input "
        f"channel{'s' if r.in_per_group > 1 else ''} and produces {r.out_per_group} output "
        f"channel{'s' if r.out_per_group > 1 else ''}: {r.in_per_group} × {r.out_per_group} × {k} = "
        f"**{n(r.weights_per_group)} weights per group**; × {G} groups = **{n(r.weights)}**.")
    if spec.bias:
        st.markdown(
            f"**Bias** adds C_out = {n(r.bias)} parameters whatever G is: {n(r.params)} in all against "
            f"{n(r.dense_params)} dense, so the reduction is {cm.fmt_pct(r.param_reduction)} "
            f"rather than {cm.fmt_pct(r.weight_reduction)}.")
    st.subheader("Shapes and cost for one image", anchor=False)
    st.markdown(
        f"- weight tensor (C_out, C_in/G, kH, kW) = **{r.weight_shape}**\n"
        f"- output (N, C_out, H_out, W_out) = **{r.output_shape}**\n"
        f"- MACs = C_out × H_out × W_out × (C_in/G) × kH × kW = **{n(r.macs)}** ({cm.fmt_count(r.macs)}), "
        f"dense {n(r.dense_macs)}\n"
        f"- FLOPs (2 per MAC) = **{n(r.flops)}**\n"
        f"- output activation memory (float32) = **{cm.fmt_bytes(r.output_bytes)}**")

with ui.main_figure():  # presentation mode draws it under the title
    st.subheader("Every valid group count", anchor=False)
    ui.figure(lambda: figures.params_vs_groups(cm.sweep_groups(spec), G), "params_vs_groups", "params_chart",
              cache_key=spec)
    ui.group_slider(spec)

ui.show_code("parameters", lambda: "".join(inspect.getsource(f) for f in (cm.weight_count, cm.output_hw, cm.macs)))

# PyTorch's check comes last: a first visit waits for torch to load; all above is drawn by then.
with right:
    st.subheader("PyTorch says", anchor=False)
    with st.spinner("Loading PyTorch…"):
        t = ui.pytorch_counts(spec)
    checks = [
        ("parameters, sum(p.numel())", r.params, t.params),
        ("weight shape", r.weight_shape, t.weight_shape),
        ("output shape", r.output_shape, t.output_shape),
        ("MACs, FlopCounterMode FLOPs / 2", r.macs, t.macs),
    ]
    for label, ours, theirs in checks:
        ok = ours == theirs
        shown = n(theirs) if isinstance(theirs, int) else str(theirs)
        st.markdown(f"{':green[:material/check_circle:]' if ok else ':red[:material/error:]'} **{shown}** — {label}"
                    + ("" if ok else f" (formula: {ours})"))
    st.caption(f"From `nn.Conv2d({spec.c_in}, {spec.c_out}, ({spec.kh}, {spec.kw}), stride={spec.stride}, "
               f"padding={spec.padding}, groups={G}, bias={spec.bias}, device='meta')`: shapes without memory.")
