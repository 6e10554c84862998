"""ResNet vs ResNeXt: the same skeleton, stage by stage, counted from the real models (the paper's Table 1)."""

import streamlit as st

from resnext_viz.blocks import depth, stages
from resnext_viz.blocks import figures as fb
from resnext_viz import ui
from resnext_viz.blocks.stages import two_settings
from resnext_viz.conv.arithmetic import fmt_int

ui.require_app()

st.title("ResNet vs ResNeXt")
st.markdown("ResNeXt keeps ResNet's skeleton — stem, four stages, the same number of blocks — and changes "
            "two settings inside each bottleneck: `groups=32` makes the 3×3 a grouped convolution and "
            "`width_per_group=4` widens it (stage 1 is 256 → 128 → 128 → 256 instead of 256 → 64 → 64 → 256). "
            "Every number here is counted from the models themselves, built on PyTorch's meta device.")
counts = two_settings()
st.caption("Parameters of ResNet-50's skeleton, with torchvision's width formula "
           "`int(planes * width_per_group / 64) * groups`: "
           + "; ".join(f"{label}: **{fmt_int(n)}**" for label, n in counts.items())
           + ". `groups=32` alone would make the model 26× larger; it is the pair of settings that keeps the size. "
             "(torchvision's BasicBlock refuses `groups != 1` with a ValueError.)")

PAIRS = {
    "50": ("resnet50", "resnext50_32x4d", "ResNet-50", "ResNeXt-50 (32×4d)"),
    "101-32x4d": ("resnet101", "resnext101_32x4d", "ResNet-101", "ResNeXt-101 (32×4d)"),
    "101-32x8d": ("resnet101", "resnext101_32x8d", "ResNet-101", "ResNeXt-101 (32×8d)"),
    "101-64x4d": ("resnet101", "resnext101_64x4d", "ResNet-101", "ResNeXt-101 (64×4d)"),
}
FIELDS = [ui.Field("rvr_pair", "pair", "50", label="comparison", options=tuple(PAIRS)),
          ui.Field("rvr_size", "size", 224, 32, 1024, label="image size")]
ui.show_notices(ui.seed(FIELDS))
c1, c2 = st.columns([3, 1])
pair = c1.selectbox("Compare", list(PAIRS), persist_state="session", key="rvr_pair", format_func=lambda k: f"{PAIRS[k][2]} vs {PAIRS[k][3]}")
size = c2.number_input("Image size", 32, 1024, step=32, persist_state="session", key="rvr_size")
ui.sync_url(FIELDS)

base_name, next_name, base_label, next_label = PAIRS[pair]
base, nxt = ui.stage_table(base_name, size), ui.stage_table(next_name, size)

m = st.columns(4)
m[0].metric(f"{base_label} parameters", fmt_int(base.params))
m[1].metric(f"{next_label} parameters", fmt_int(nxt.params), f"{(nxt.params - base.params) / base.params:+.1%}",
            delta_color="off")
m[2].metric(f"{base_label} GMACs", f"{base.macs / 1e9:.2f}")
m[3].metric(f"{next_label} GMACs", f"{nxt.macs / 1e9:.2f}", f"{(nxt.macs - base.macs) / base.macs:+.1%}",
            delta_color="off")
st.caption(f"At {size}×{size}, one image; MACs count convolutions and the classifier (FlopCounterMode / 2), "
           "the convention behind the paper's \"4.1 vs 4.2 GFLOPs\".")

with ui.main_figure():  # presentation mode draws it under the title
    ui.figure(lambda: fb.stage_comparison([base_label, next_label], [base, nxt]), f"{base_name}_vs_{next_name}", "rvr_chart",
              cache_key=(base_label, next_label, base_name, next_name, size))
rows = stages.side_by_side(base, nxt, base_label, next_label)
ui.table(rows[:-1], columns=["stage", "output", base_label, next_label])
ui.table(rows, columns=["stage"] + [k for k in rows[0] if k.startswith(("params", "GMACs"))])

st.subheader("Why split-transform-merge needs depth ≥ 3", anchor=False)
dc = depth.depth_comparison()
st.markdown(
    f"ResNet-18/34 use blocks of two 3×3 convolutions. Split such a block into C = {dc.C} paths of width "
    f"d = {dc.d} and sum them: each path's first 3×3 reads *all* {dc.c_in} input channels, so stacking the paths "
    f"is just one dense 3×3 of width {dc.C * dc.d}, and summing after the second 3×3 is one dense 3×3 reading all "
    f"{dc.C * dc.d} channels. Weights: {fmt_int(dc.depth2_branches)} as paths, {fmt_int(dc.depth2_dense)} as a wide "
    f"dense block — identical, and the outputs agree to {ui.depth2_check():.0e} in float64. The paper calls this "
    f"\"trivially a wide, dense module\".")
st.markdown(
    f"With three layers the middle 3×3 sits *between* two 1×1s, so each path's 3×3 only sees its own d channels: "
    f"that is a grouped convolution. The bottleneck with C = {dc.C}, d = {dc.d} has {fmt_int(dc.depth3_branches)} "
    f"weights against {fmt_int(dc.depth3_dense)} for the same width with a dense 3×3 — "
    f"{fmt_int(dc.depth3_saving)} saved. That is why ResNeXt is built from bottlenecks. (Setting `groups` on a "
    f"basic block's two 3×3s is something else: a sparser module that is not split-transform-merge; "
    f"torchvision's BasicBlock raises ValueError for groups != 1.)")
