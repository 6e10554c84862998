"""Depthwise-separable: the G = C_in extreme plus a 1×1, against a standard and a grouped convolution."""

from fractions import Fraction

import streamlit as st

from resnext_viz import ui
from resnext_viz.conv import arithmetic as cm
from resnext_viz.conv import figures, separable

ui.require_app()

st.title("Depthwise-separable convolution")
st.markdown("MobileNet (Howard et al., 2017) replaces a standard k×k convolution by two layers: a *depthwise* k×k "
            "convolution, one filter per input channel (a grouped convolution with G = C_in), then a *pointwise* "
            "1×1 convolution that mixes the channels. Xception (Chollet, CVPR 2017) is built from "
            "depthwise-separable convolutions too. The layer below is the one on Parameter math and Connectivity.")

spec, problem = ui.conv_controls()
if problem:
    ui.group_fix(problem)
    st.stop()
d = separable.designs(spec)
n = cm.fmt_int
std, k2 = d.standard, spec.kh * spec.kw
with st.spinner("Loading PyTorch…"):
    meta = ui.separable_torch(spec)


def check(layer) -> str:
    ok = meta[layer.name] == (layer.params, layer.macs)
    return "✓ equal" if ok else f"✗ PyTorch: {meta[layer.name]}"


rows = [{"design": x.name, "shape": f"{x.spec.c_in} → {x.spec.c_out}, {x.spec.kh}×{x.spec.kw}, G = {x.spec.groups}",
         "parameters": x.params, "MACs": x.macs, "of standard (params = MACs)": f"{x.params / std.params:.4f}",
         "PyTorch (meta device)": check(x)} for x in (d.standard, d.grouped, d.depthwise, d.pointwise)]
rows.append({"design": "depthwise-separable (depthwise + pointwise)", "shape": "both layers above",
             "parameters": d.separable_params, "MACs": d.separable_macs,
             "of standard (params = MACs)": f"{d.separable_params / std.params:.4f}", "PyTorch (meta device)": ""})
ui.table(rows)
st.caption(f"Bias off. MACs for one {spec.h} × {spec.w} image; the depthwise layer takes the stride and padding, "
           f"the pointwise 1×1 runs on its {cm.output_hw(d.depthwise.spec)[0]} × {cm.output_hw(d.depthwise.spec)[1]} "
           "output. PyTorch's counts: `sum(p.numel())` and `FlopCounterMode` FLOPs / 2 of `nn.Conv2d(..., "
           "device='meta')`.")

st.subheader("The cost ratio, written out", anchor=False)
r = d.ratio
st.markdown(
    f"**Depthwise-separable / standard** = (k²·C_in + C_in·C_out) / (k²·C_in·C_out) = 1/C_out + 1/k² "
    f"= 1/{spec.c_out} + 1/{k2} = {1 / spec.c_out:.4f} + {1 / k2:.4f} = **{float(r):.4f}** "
    f"(exactly {r.numerator}/{r.denominator}).\n\n"
    f"From the counts: parameters {n(d.separable_params)} / {n(std.params)} = {d.separable_params / std.params:.4f}, "
    f"MACs {n(d.separable_macs)} / {n(std.macs)} = {d.separable_macs / std.macs:.4f}"
    + (" — the same fraction, exactly." if Fraction(d.separable_params, std.params) == r ==
       Fraction(d.separable_macs, std.macs) else ".")
    + (f" Here that is {1 / float(r):.2f}× fewer" if r < 1 else f" Here that is {float(r):.2f}× more" if r > 1
       else " Here that is as many") + " parameters and MACs than the standard layer; MobileNet writes the ratio "
      "1/N + 1/D_K² (sec. 3.1). With many output channels the 1/k² term dominates.")
st.markdown(f"**Grouped with G = {spec.groups}** (ResNeXt-style, one layer): {n(d.grouped.params)} / {n(std.params)} "
            f"= 1/G = {1 / spec.groups:.4f} of the standard layer's parameters and MACs. It keeps k×k filters that "
            f"read {spec.c_in // spec.groups} channels each; the depthwise-separable pair reads one channel "
            f"spatially, then mixes all {spec.c_in} with 1×1 weights.")

with ui.main_figure():  # presentation mode draws it under the title
    st.subheader("Connectivity of each layer", anchor=False)
    tabs = st.tabs(["depthwise k×k", "pointwise 1×1", f"grouped, G = {spec.groups}", "standard"])
    layers = [(spec.c_in, spec.c_in, spec.c_in, "dw"), (spec.c_in, spec.c_out, 1, "pw"),
              (spec.c_in, spec.c_out, spec.groups, "grp"), (spec.c_in, spec.c_out, 1, "std")]
    for tab, (c_in, c_out, g, key) in zip(tabs, layers):
        with tab:
            draw = figures.bipartite_fan_in if figures.uses_fan_in(c_in, c_out, g) else figures.bipartite
            fig = draw(c_in, c_out, g)
            ui.figure_alt(fig, f"separable_{key}", f"sep_{key}",
                          f"Connections of a {c_in} to {c_out} layer with {g} groups.")
st.caption("The pointwise 1×1 connects like the standard layer (every input to every output) with a 1×1 filter "
           "per connection instead of a k×k one; the depthwise layer connects each channel to itself only.")
