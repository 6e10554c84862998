"""Three equivalent forms: C summed branches = early concatenation = one grouped convolution."""

import streamlit as st

from resnext_viz import ui
from resnext_viz.blocks import forms
from resnext_viz.conv import figures
from resnext_viz.blocks import figures as fb

ui.require_app()

st.title("Three equivalent forms")
st.markdown("The ResNeXt paper draws one block three ways (its Fig. 3). Here all three are built from the *same* "
            "weights, copied across, and run on the same random input: their outputs agree to rounding.")

FIELDS = [
    ui.Field("forms_c_in", "c_in", 256, *forms.BOUNDS["c_in"], label="input channels"),
    ui.Field("forms_C", "C", 32, *forms.BOUNDS["C"], label="cardinality C"),
    ui.Field("forms_d", "d", 4, *forms.BOUNDS["d"], label="width per path d"),
    ui.Field("forms_c_out", "c_out", 256, *forms.BOUNDS["c_out"], label="output channels"),
    ui.Field("forms_stride", "stride", 1, *forms.BOUNDS["stride"], label="stride"),
    ui.Field("forms_h", "h", 14, *forms.BOUNDS["height"], label="input height"),
    ui.Field("forms_w", "w", 14, *forms.BOUNDS["width"], label="input width"),
    ui.Field("forms_dtype", "dtype", "float64", label="dtype", options=("float64", "float32")),
]
ui.show_notices(ui.seed(FIELDS))
device = ui.device_picker()
cols = st.columns(4)
for col, key in zip(cols * 2, [f.key for f in FIELDS[:7]]):
    f = next(x for x in FIELDS if x.key == key)
    with col:
        if key == "forms_stride":
            st.segmented_control("Stride", [1, 2], persist_state="session", key=key, required=True)
        else:
            st.number_input(f.label[0].upper() + f.label[1:], f.lo, f.hi, persist_state="session", key=key)
with cols[3]:
    st.segmented_control("Precision", ["float64", "float32"], persist_state="session", key="forms_dtype", required=True,
                         help="float64 shows the agreement is exact up to rounding (about 1e-15).")
ui.sync_url(FIELDS)

values = {f.key.removeprefix("forms_"): st.session_state[f.key] for f in FIELDS}
try:
    spec = ui.form_spec(values)
except ValueError as e:
    st.error(str(e), icon=":material/block:")
    st.stop()

with st.spinner("Building the three forms and timing them…"):
    result, problem = ui.compare_forms(spec, device, values["dtype"], st.session_state.get("forms_nonce", 0))
if problem:
    st.error(problem, icon=":material/memory:")
    st.stop()

diff_ac, diff_ab = result.max_abs_diff["a-c"], result.max_abs_diff["a-b"]
m = st.columns(4)
m[0].metric("max |(a) − (c)|", f"{diff_ac:.1e}")
m[1].metric("max |(a) − (b)|", f"{diff_ab:.1e}")
m[2].metric("largest output |y|", f"{result.output_max_abs:.2f}", help="For scale: the differences are rounding.")
m[3].metric("weights in each form", f"{result.params['c']:,}",
            help=f"(a) {result.params['a']:,} · (b) {result.params['b']:,} · (c) {result.params['c']:,}")

with ui.main_figure():  # presentation mode draws it under the title
    ui.figure(fb.forms_diagram(spec.c_in, spec.C, spec.d, spec.c_out), "three_forms", "forms_diagram")

st.subheader("Why (a) and (c) are the same function", anchor=False)
st.markdown(f"Stack branch i's 1×1 reduce (i = 1 … C, as in the formula) as rows "
            f"{spec.d}·(i−1) … {spec.d}·i−1 of one big 1×1, put its 3×3 "
            f"on the diagonal of one {spec.C * spec.d}×{spec.C * spec.d} block matrix (that *is* a grouped 3×3 with "
            f"{spec.C} groups), and its 1×1 expand as columns of one big 1×1. ReLU acts element by element, so it "
            "never mixes blocks:")
st.latex(r"W_3\,\sigma\!\left(\mathrm{blockdiag}\big(W_2^{(1)},\dots,W_2^{(C)}\big) * \sigma\!\left("
         r"\begin{bmatrix}W_1^{(1)}\\ \vdots\\ W_1^{(C)}\end{bmatrix} x\right)\right)"
         r"= \sum_{i=1}^{C} W_3^{(i)}\,\sigma\!\left(W_2^{(i)} * \sigma\!\left(W_1^{(i)} x\right)\right)")
st.caption(r"Left: form (c), with $W_3 = [\,W_3^{(1)}\ \cdots\ W_3^{(C)}\,]$ side by side. Right: form (a). "
           r"Form (b) is the middle step: the branches up to the 3×3, concatenated, then the one 1×1 $W_3$.")
left, right = st.columns(2, gap="large")
with left:
    st.markdown("**Where each branch lives inside form (c).** Branch i is group i of the grouped 3×3, so it gets "
                "group i's colour on every page.")
    st.code("\n".join(s.describe() for s in forms.branch_slices(spec)[:8]) + ("\n…" if spec.C > 8 else ""),
            language="text", wrap_lines=True)
with right:
    ui.figure(figures.connection_mask(spec.C * spec.d, spec.C * spec.d, spec.C), "forms_blockdiag", "forms_mask")

st.subheader(f"Time on the {result.device.upper()}", anchor=False)
t = result.times
ui.figure(fb.forms_times({k: (v.q1_s * 1e3, v.median_s * 1e3, v.q3_s * 1e3) for k, v in t.items()},
                         {"a": "(a) branches", "b": "(b) concatenation", "c": "(c) grouped"}), "forms_times",
          "forms_times")
st.caption(ui.CPU_TIMING_NOTE if result.device == "cpu" else "Median of repeated calls after warm-up, synchronised.")
for k, v in t.items():
    if v.wide_spread:
        st.caption(f"Form ({k}): {v.note}")
st.button("Measure again", key="forms_again",
          on_click=lambda: st.session_state.update(forms_nonce=st.session_state.get("forms_nonce", 0) + 1))
st.markdown(f"**Why the paper chose (c).** Form (a) launches {3 * spec.C} small convolutions and a sum from Python; "
            f"(b) launches {2 * spec.C} ({spec.C} 1×1s and {spec.C} 3×3s) and one 1×1; (c) is three calls "
            "whatever C is, with its weights in one contiguous tensor — the simplest to write and the one "
            "frameworks optimise. A grouped kernel still does less work per byte than a dense one: see the "
            "Performance lab. With batch norm the forms stay equivalent only when form (a)'s last BN comes after "
            "the sum (one BN on the aggregated output, where (b) and (c) put it after their last 1×1); the forms "
            "compared here have no BN.")
