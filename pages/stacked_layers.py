"""Stacked layers and channel shuffle: can information cross groups? Reachability, checked by autograd."""

import numpy as np
import streamlit as st

from resnext_viz import ui
from resnext_viz.conv import mech_figures as mf
from resnext_viz.conv import stacks

ui.require_app()

st.title("Stacked layers and channel shuffle")
st.markdown("One grouped layer keeps its groups apart. Does a second one? Stack layers of the same width c and "
            "see which input channels can influence which output channels after each layer, then let autograd "
            "confirm it on a real PyTorch stack.")

c, codes = ui.stack_controls()
try:
    layers = stacks.parse_layers(c, codes)
except ValueError as e:
    st.error(str(e), icon=":material/block:")
    st.stop()
names = [lay.code for lay in layers]
grouped = [lay.groups for lay in layers if lay.groups > 1]
ref = grouped[0] if grouped else 1
st.caption("Codes: g4 is a grouped convolution with 4 groups (g1 is dense: any 1×1 or k×k convolution with one "
           "group); shuffle4 is ShuffleNet's channel shuffle (Zhang et al., CVPR 2018), reshape (G, c/G), transpose, "
           "flatten. Each layer keeps the width c. Which channels connect does not depend on the kernel size.")

r = stacks.reachability(c, names)
with ui.main_figure():  # presentation mode draws it under the title
    ui.figure_alt(mf.reach_steps(c, names, ref), "reachability_steps", "stk_steps",
                  f"Reachability matrices after each of the {len(names)} layers, output rows by input columns.")
full = bool(r.all())
per_row = r.sum(axis=1)
st.markdown(
    f"After all {len(names)} layer{'s' if len(names) > 1 else ''}, "
    + ("**every output channel can be influenced by every input channel**." if full else
       f"each output channel is reached by {int(per_row.min())}"
       + (f" to {int(per_row.max())}" if per_row.min() != per_row.max() else "")
       + f" of the {c} input channels: {int(r.sum()):,} of {c * c:,} (output, input) pairs.")
    + " Colours mark the input channels' group"
    + (f" among {ref} blocks of {c // ref} (the first grouped layer's)." if ref > 1 else "s (one group here)."))
if all(lay.kind == "grouped" for lay in layers) and len({lay.groups for lay in layers}) == 1 and ref > 1:
    st.info("Grouped layers alone, with no shuffle and no dense layer between them, never let a group read "
            "another group's channels: every group stays its own narrow network. ShuffleNet (Zhang et al., CVPR "
            "2018) adds a channel shuffle; ResNeXt puts dense 1×1 convolutions around its grouped 3×3.",
            icon=":material/info:")

shuffles = [lay for lay in layers if lay.kind == "shuffle"]
if shuffles:
    st.subheader("The channel shuffle", anchor=False)
    sh = shuffles[0]
    perm = stacks.shuffle_permutation(c, sh.groups)
    st.markdown(f"Output channel k of the shuffle is input channel perm[k] = {', '.join(map(str, perm[:12]))}"
                + (", …" if c > 12 else "") + f": one channel from each of the {sh.groups} groups in turn, so "
                "the next grouped layer's every group receives channels from every group before it.")
    ui.figure_alt(mf.shuffle_diagram(c, sh.groups), "channel_shuffle", "stk_shuffle",
                  f"Channel shuffle with {sh.groups} groups over {c} channels, lines from each input to its "
                  "new position.")

st.subheader("The same fact by autograd", anchor=False)
target_groups = grouped[-1] if grouped else 1
g = ui.stack_target(target_groups)
target = stacks.target_channels(c, target_groups, g)
with st.spinner("Loading PyTorch…"):
    jac, measured = ui.stack_torch(c, tuple(names), tuple(int(x) for x in target))
left, right = st.columns(2, gap="large")
with left:
    ui.figure_alt(mf.pattern(r, "Reachability (from the wiring)", ref, "reach_final"), "reachability", "stk_r",
                  "The final reachability matrix.")
with right:
    ui.figure_alt(mf.pattern(jac, "Nonzero entries of autograd's Jacobian", ref, "jacobian"), "jacobian",
                  "stk_jac", "The nonzero pattern of the Jacobian of a random-weight PyTorch stack.")
same = bool(np.array_equal(jac, r))
st.markdown(f"{':green[:material/check_circle:]' if same else ':red[:material/error:]'} The two are "
            f"{'equal' if same else 'different'}: `torch.autograd.functional.jacobian` of a float64 stack of "
            f"`nn.Conv2d(c, c, 1, groups=G)` with random normal weights (and reshape/transpose shuffles) on a "
            f"1×1 input is nonzero at exactly {int(jac.sum()):,} of {c * c:,} entries"
            + ("" if same else f", the wiring predicts {int(r.sum()):,}") + ".")

ours = stacks.zero_gradients(c, names, target)
st.markdown(
    f"**A target that reads one output group.** Backpropagate the sum of output channels {target[0]}–{target[-1]} "
    f"(group {g} of {target_groups}). Exactly zero: **{measured.input_zeros} of {c}** input-gradient entries "
    f"(the wiring predicts {ours.input_zeros})"
    + "".join(f"; **{m:,} of {n:,}** weights of the {code} at layer {k + 1} (predicted {p:,})"
              for (k, code), m, n, p in zip([(k, x.code) for k, x in enumerate(layers) if x.kind == "grouped"],
                                            measured.weight_zeros, measured.weight_counts, ours.weight_zeros))
    + ". A weight's gradient is zero exactly when its output channel cannot reach the target.")
st.caption("A linear stack (no ReLU, no batch norm), so the pattern shows which channels can influence which. "
           "A ReLU can make more gradients zero for a particular input, but it never connects channels the "
           "wiring keeps apart.")
