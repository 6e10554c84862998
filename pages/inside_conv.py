"""Inside one grouped convolution: the whole layer, one output channel position by position, one value by hand."""

import inspect

import streamlit as st

from resnext_viz import ui
from resnext_viz.conv import mech_figures as mf
from resnext_viz.conv import stepthrough as sv

ui.require_app()

st.title("Inside one grouped convolution")
st.markdown("A grouped convolution is many small dot products. Here the layer is small enough to see every one: "
            "the whole layer, one output channel filling in, and one output value written out with its numbers, "
            "beside what `torch.nn.functional.conv2d` computes on the same tensors.")

spec, problem = ui.step_controls()
if problem:
    st.error(problem, icon=":material/block:")
    st.stop()
t = sv.tensors(spec)
y = sv.output(spec, t)
G, ho, wo = spec.groups, *spec.out_hw

st.header("1. The whole layer", anchor=False)
st.markdown(
    f"The input is {spec.c_in} planes of {spec.h} × {spec.w}, the output {spec.c_out} planes of {ho} × {wo}. "
    + (f"With G = {G}, input planes {0}–{spec.per_in - 1} form group 0, the next {spec.per_in} group 1, and so on; "
       f"the weight tensor ({spec.c_out}, {spec.per_in}, {spec.k}, {spec.k}) is {G} slabs, slab g holding the "
       f"{spec.per_out} filter{'s' if spec.per_out > 1 else ''} of output group g, each "
       f"({spec.per_in}, {spec.k}, {spec.k}): it reads group g's {spec.per_in} plane"
       f"{'s' if spec.per_in > 1 else ''} only." if G > 1 else
       f"With G = 1 there is one group: the weight tensor ({spec.c_out}, {spec.c_in}, {spec.k}, {spec.k}) is one "
       f"slab, and every filter reads all {spec.c_in} input planes."))
with ui.main_figure():  # presentation mode draws it under the title
    ui.figure_alt(mf.overview(spec, y), "conv_overview", "sc_overview",
                  f"Input of {spec.c_in} channel planes, {G} weight slabs and output of {spec.c_out} planes, "
                  "each coloured by its group.")

st.header("2. One output channel", anchor=False)
o = ui.step_pick(spec, "o")
i, j = ui.step_position(spec)   # chosen in part 3; the animation starts there
chans = sv.in_channels(spec, o)
st.markdown(
    f"Output channel {o} is in group {sv.group_of(spec, o)}: its filter w[{o}] has shape "
    f"({spec.per_in}, {spec.k}, {spec.k}), one {spec.k} × {spec.k} slice per input channel it reads "
    f"({', '.join(map(str, chans))}), drawn under that channel. "
    + ("The other input channels are greyed out: this filter has no weight for them. " if G > 1 else "")
    + f"Press **▶ Play** or drag the slider: the window moves by the stride ({spec.stride}) over the "
    + (f"input padded with {spec.padding} zero{'s' if spec.padding > 1 else ''} on every side (the dotted line "
       "marks the real input) " if spec.padding else
       "input ")
    + f"and each position fills in one of the {ho * wo} output values.")
ui.figure_alt(mf.one_channel(spec, t, o, (i, j)), f"output_channel_{o}", "sc_channel",
              f"Animation of output channel {o}: a {spec.k} by {spec.k} window slides over input channels "
              f"{chans.start} to {chans.stop - 1}, filling in the {ho} by {wo} output plane.")
st.caption("The animation is Plotly frames: it also plays in the exported standalone HTML.")

st.header("3. One output value", anchor=False)
i, j = ui.step_pick(spec, "ij")
one = sv.step(spec, t, o, i, j)
left, right = st.columns([3, 1], gap="large")
with left:
    st.markdown(f"y[{o}, {i}, {j}]: the window starts at row {i} × {spec.stride} = {i * spec.stride}, column "
                f"{j} × {spec.stride} = {j * spec.stride} of the padded input. Multiply each window by the kernel "
                "element by element, add everything, add the bias:")
    st.code(sv.matrices_text(one), language=None)
    st.code("\n".join(sv.written_out(one)), language=None, wrap_lines=True)
with right:
    st.subheader("PyTorch says", anchor=False)
    with st.spinner("Loading PyTorch…"):
        ref = ui.step_torch(spec)
    ok = ref[o, i, j] == one.value
    st.markdown(f"{':green[:material/check_circle:]' if ok else ':red[:material/error:]'} "
                f"**{ref[o, i, j]:g}** — `F.conv2d(x, w, b, stride={spec.stride}, padding={spec.padding}, "
                f"groups={G})[0, {o}, {i}, {j}]`")
    same = int((ref == y).sum())
    st.markdown(f"{':green[:material/check_circle:]' if same == y.size else ':red[:material/error:]'} "
                f"{same:,} of {y.size:,} output values equal, the whole ({spec.c_out}, {ho}, {wo}) output.")
    st.caption("Same float64 tensors of small integers, so the sums are exact and compared with ==.")

ui.show_code("inside_conv", lambda: inspect.getsource(sv.step))
