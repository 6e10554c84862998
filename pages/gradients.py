"""Gradients: backpropagate one number to a grouped convolution and see which groups it reaches."""

import inspect

import streamlit as st

from resnext_viz import ui
from resnext_viz.inside import figures as ff
from resnext_viz.inside import gradients as gp
from resnext_viz.inside import summaries as fp

ui.require_app()

st.title("Gradients, group by group")
st.markdown("Pick one number the network computes and backpropagate it to a grouped convolution. Which groups' "
            "weights receive gradient, and can blame cross from one group to another?")

with ui.plain_errors("computing the gradients"):
    TARGETS = {"class": "a class score", "group": "group g's energy", "channel": "one channel of g"}
    SOURCES = {"resnext50": "A layer of ResNeXt-50", ui.TRAINED_SOURCE: ui.TRAINED_LABEL}
    src = [ui.Field("grad_source", "grad_source", "resnext50", label="source")]
    src_notices = ui.seed(src)
    ui.fit_choice(src[0], list(SOURCES), src_notices)
    if st.radio("Network", list(SOURCES), persist_state="session", key="grad_source", format_func=SOURCES.get,
                horizontal=True) == ui.TRAINED_SOURCE:
        trained = ui.trained_source(src_notices)
        ui.sync_url(src)
        if trained is not None:
            ui.trained_gradients_view(trained, TARGETS)
        st.stop()
    ui.show_notices(src_notices)
    ui.sync_url(src)
    loaded = ui.image_model()
    chosen = ui.image_chooser(loaded, compact=True)
    ui.weights_notice(loaded)

    fields = [ui.LAYER_FIELD, ui.Field("grad_group", "group", 0, 0, 4095, label="group"),
              ui.Field("grad_target", "target", "group", label="target"),
              ui.Field("grad_class", "class", -1, -1, 999, label="class"),
              ui.Field("grad_channel", "channel", -1, -1, 8191, label="channel")]
    notices = ui.seed(fields)
    notice_slot = st.container()
    layer = ui.layer_select(loaded, notices)
    c2, c3, c4 = st.columns([2, 3, 5], vertical_alignment="bottom")
    info = ui.layer_infos(loaded)[layer]
    G, per = info.groups, info.out_per_group
    ui.fit_choice(fields[1], list(range(G)), notices)
    ui.fit_choice(fields[2], list(TARGETS), notices)
    g = c2.selectbox("Output group g", list(range(G)), persist_state="session", key="grad_group", format_func=lambda k: f"group {k}")
    kind = c3.selectbox("Backpropagate", list(TARGETS), persist_state="session", key="grad_target", format_func=TARGETS.get)
    if kind == "class":
        top1 = ui.predictions(loaded, chosen)[1]
        names = loaded.class_names
        ui.fit_choice(fields[3], [-1, *range(len(names))], notices)
        c4.selectbox("Class" + ("" if loaded.pretrained else " (random weights: the class means nothing)"),
                     [-1, *range(len(names))], persist_state="session", key="grad_class",
                     format_func=lambda k: f"top-1: {names[top1]}" if k == -1 else f"{k}: {names[k]}")
        index = top1 if st.session_state["grad_class"] == -1 else st.session_state["grad_class"]
    elif kind == "channel":
        ui.fit_choice(fields[4], list(range(g * per, (g + 1) * per)), notices)
        index = c4.selectbox(f"Channel of group {g}", list(range(g * per, (g + 1) * per)), persist_state="session", key="grad_channel",
                             format_func=lambda c: f"channel {c}")
    else:
        index = g
        c4.caption(f"E = sum of squares of channels {g * per}–{(g + 1) * per - 1} over every position.")
    with notice_slot:
        ui.show_notices(notices)
    ui.sync_url(fields)

    def grouped_vs_dense() -> None:  # drawn only while its tab is open
        st.subheader(f"Grouped vs dense: where can the gradient of group {g}'s energy go?", anchor=False)
        rep = ui.locality(loaded, chosen, layer, g)
        gs, ds = rep.grouped, rep.dense
        left, right = st.columns(2, gap="large")
        left.markdown(f"**Grouped layer (G = {G})**")
        left.metric("Other groups' weights: gradient exactly 0",
                    f"{gs.zero_other_filters:,} of {gs.other_filter_weights:,}")
        left.metric(f"Input values outside group {g}: gradient exactly 0", f"{gs.zero_inputs_outside:,} of "
                    f"{gs.inputs_outside:,}", help="these zeros are what grouping buys")
        left.metric(f"Group {g}'s weights on other input groups", "none exist")
        right.markdown("**Dense twin (G = 1, same shape)**")
        right.metric("Other groups' weights: gradient exactly 0",
                     f"{ds.zero_other_filters:,} of {ds.other_filter_weights:,}", help="a dense layer has these zeros too")
        right.metric(f"Input values outside group {g}: gradient exactly 0", f"{ds.zero_inputs_outside:,} of "
                     f"{ds.inputs_outside:,}", help="measured with autograd on the dense twin")
        right.metric(f"Group {g}'s weights on other input groups: gradient exactly 0",
                     f"{ds.zero_cross_weights:,} of {ds.cross_weights:,}",
                     help=f"{ds.cross_weights_on_dead:,} of them read one of the {ds.dead_channels_outside:,} input "
                          "channels that are exactly 0 everywhere in this picture (a ReLU that never fired)")
        ui.figure(ff.locality_heatmaps(gs.block_norms.numpy(), gs.connected.numpy(), ds.block_norms.numpy(),
                                       ds.connected.numpy(), g), "gradient_locality", "grad_loc")
        st.markdown(fp.locality_text(rep))
        st.caption(f"The dense twin has the grouped filters on its diagonal blocks and small seeded random weights "
                   f"(std {rep.off_diagonal_scale} × the grouped weights' std, seed {rep.seed}) everywhere else.")

    grads = ui.gradients(loaded, chosen, layer, kind, index)
    ui.gradient_sections(grads, layer, G, kind, index,
                         detail=f" ({info.in_per_group} input channels × {info.kernel_size[0]}×{info.kernel_size[1]} = "
                                "C_in/G·k·k)" if kind == "channel" else "", dense=grouped_vs_dense)

    ui.show_code("gradients", lambda: inspect.getsource(gp.layer_gradients))
