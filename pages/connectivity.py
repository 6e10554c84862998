"""Connectivity: which input channels feed which outputs, group by group."""

import streamlit as st

from resnext_viz.conv import connectivity as cx
from resnext_viz.conv import arithmetic as cm
from resnext_viz import ui
from resnext_viz.conv import figures

ui.require_app()

st.title("Connectivity")
st.markdown("Each group reads one contiguous block of input channels and writes one contiguous block of output "
            "channels. Nothing crosses between groups: that is where the savings come from.")

spec, problem = ui.conv_controls()
if problem:
    ui.group_fix(problem)
    st.stop()


@st.fragment
def view(spec):
    """The highlight, the side-by-side toggle and everything they change: a change here reruns only this part."""
    G = spec.groups
    fields = [ui.Field("view_highlight", "highlight", -1, -1, G - 1, label="highlighted group"),
              ui.Field("view_compare", "compare", False, label="dense vs grouped")]
    ui.show_notices(ui.seed(fields))
    c1, c2 = st.columns([2, 1])
    with c1:
        hl = st.selectbox("Highlight a group", [-1, *range(G)], persist_state="session", key="view_highlight",
                          format_func=lambda g: "none (all groups in colour)" if g == -1 else f"group {g}")
    with c2:
        compare = st.toggle("Dense vs grouped, side by side", persist_state="session", key="view_compare")
    ui.sync_url(fields)  # a fragment run updates the URL too
    highlight = None if hl == -1 else hl

    g = 0 if highlight is None else highlight
    (i0, i1), (o0, o1) = cx.input_range(spec.c_in, G, g), cx.output_range(spec.c_out, G, g)
    st.markdown(f"**Group {g}** owns output channels [{o0}, {o1}) and reads input channels [{i0}, {i1}) — in general "
                f"group g owns outputs [g·{spec.c_out // G}, (g+1)·{spec.c_out // G}) and reads inputs "
                f"[g·{spec.c_in // G}, (g+1)·{spec.c_in // G}). Each output channel sees {spec.c_in // G} of the "
                f"{spec.c_in} inputs: {cm.fmt_int(cx.edge_count(spec.c_in, spec.c_out, G))} connections in all, "
                f"against {cm.fmt_int(cx.edge_count(spec.c_in, spec.c_out, 1))} dense.")
    if cx.draws_bands(spec.c_in, spec.c_out, G):
        st.info(f"This layer has {cm.fmt_int(cx.edge_count(spec.c_in, spec.c_out, G))} connections, more than the "
                f"{cm.fmt_int(cx.EDGE_LIMIT)} drawn one by one, so each group is drawn as one band from its input block "
                "to its output block. Hover a band for its channels.", icon=":material/info:")

    wiring = (spec.c_in, spec.c_out, G, highlight)  # what the figures below depend on (their cache key)
    with ui.main_figure():  # presentation mode draws it under the title
        if compare:
            ui.figure(lambda: figures.bipartite_compare(*wiring), "connectivity_dense_vs_grouped", "bip",
                      cache_key=wiring)
        elif figures.uses_fan_in(spec.c_in, spec.c_out, G, highlight):
            ui.figure(lambda: figures.bipartite_fan_in(*wiring), "connectivity", "bip", cache_key=("fan", wiring))
        else:
            ui.figure(lambda: figures.bipartite(*wiring), "connectivity", "bip", cache_key=wiring)

    left, right = st.columns(2, gap="large")
    with left:
        st.subheader("Connection mask", anchor=False)
        st.caption("Row = output channel, column = input channel, coloured where a weight connects them. "
                   "Block-diagonal for G > 1: everything off the blocks is a weight that does not exist.")
        ui.figure(lambda: figures.connection_mask(*wiring), "connection_mask", "mask", cache_key=wiring)
    with right:
        st.subheader("The weight tensor", anchor=False)
        st.caption(f"PyTorch stores the weights as one tensor of shape {cm.weight_shape(spec)}. Its rows are cut into "
                   + (f"{G} slices; slice g belongs to group g alone and is applied only to input block g." if G > 1 else
                      "one slice: with G = 1 every filter reads every input channel."))
        ui.figure(lambda: figures.weight_slices(spec, highlight), "weight_tensor", "wslices", cache_key=(spec, highlight))

    # Built only while open: the closed table was still sent and laid out on every change (~85 ms, bench_browser).
    # One label whatever G is: a label that changed closed the open table on the next change of G.
    box = st.expander("The groups as a table", icon=":material/table:", key="conn_table", on_change="rerun")
    if not box.open:
        return
    with box:
        rows = [{"group": b.group, "input channels": f"{b.in_start}–{b.in_stop - 1}",
                 "output channels": f"{b.out_start}–{b.out_stop - 1}", "weight rows": f"W[{b.out_start}:{b.out_stop}]",
                 "connections": b.edges} for b in cx.bands(spec.c_in, spec.c_out, G)]
        ui.table(rows)


view(spec)
