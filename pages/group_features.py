"""Group features: one grouped convolution's output on a real picture, group by group."""

import inspect
from functools import partial

import streamlit as st

from resnext_viz.inside import summaries as fp
from resnext_viz.inside import figures as ff
from resnext_viz.inside import grid_png as gpng
from resnext_viz import ui
from resnext_viz.inside import probes

ui.require_app()

st.title("Group features")
st.markdown("Run a picture through ResNeXt-50 and look inside one grouped convolution: each group's output "
            "channels side by side, how strongly each group responds, and how its channels relate to each other.")

with ui.plain_errors("showing the group features"):
    loaded = ui.image_model()
    chosen = ui.image_chooser(loaded)
    ui.weights_notice(loaded)
    ui.top5(loaded, chosen)

    SOURCES = {"resnext50": "A layer of ResNeXt-50", "builder": "The block from the Block builder"}
    fields = [ui.Field("feat_source", "source", "resnext50", label="source"), ui.LAYER_FIELD,
              ui.Field("feat_page", "page", 1, 1, 4096, label="page")]
    notices = ui.seed(fields)
    ui.fit_choice(fields[0], list(SOURCES), notices)
    notice_slot = st.container()
    c1, c2 = st.columns([2, 3], vertical_alignment="bottom")
    source = c1.radio("Grouped convolution to probe", list(SOURCES), persist_state="session", key="feat_source", format_func=SOURCES.get,
                      horizontal=True)
    if source == "resnext50":
        with c2:
            layer = ui.layer_select(loaded, notices)
        f = ui.features(loaded, chosen, layer)
    else:
        try:
            cfg = ui.current_block_config()
            f, feed = ui.builder_features(loaded, chosen, cfg)
        except ValueError as why:
            st.error(str(why), icon=":material/block:")
            ui.page_link_or_text("pages/block_builder.py", "Block builder")
            ui.show_notices(notices)
            ui.sync_url(fields)
            st.stop()
        c2.markdown(f"**{f.title}**, G = {f.groups}")
        st.caption(f"The picture goes through ResNeXt-50 up to {feed.source} ({cfg.inplanes} channels, "
                   f"{feed.source_hw[0]}×{feed.source_hw[1]})"
                   + (f", is resized to the block's {cfg.height}×{cfg.width}" if feed.resized else "")
                   + ", then through the block's own 1×1, batch norm, ReLU and grouped 3×3. The block has freshly "
                     "initialised weights (seed 0), whatever ResNeXt-50's are.")

    pages = probes.n_pages(f.groups, fp.GROUPS_PER_PAGE)
    ui.fit_choice(fields[2], list(range(1, pages + 1)), notices)
    with notice_slot:
        ui.show_notices(notices)

    def group_range(p: int) -> str:
        shown = probes.group_page(f.groups, p - 1, fp.GROUPS_PER_PAGE)
        return f"groups {shown[0]}–{shown[-1]}"

    st.subheader("Feature maps, group by group", anchor=False)
    helptext = f"{fp.GROUPS_PER_PAGE} groups at a time, so even 1024 channels stay quick to draw."
    if 1 < pages <= 8:
        st.radio("Groups shown", list(range(1, pages + 1)), persist_state="session", key="feat_page", format_func=group_range,
                 horizontal=True, help=helptext)
    elif pages > 8:
        st.select_slider("Groups shown", list(range(1, pages + 1)), persist_state="session", key="feat_page", format_func=group_range,
                         help=helptext)
    ui.sync_url(fields)
    shown = probes.group_page(f.groups, st.session_state["feat_page"] - 1, fp.GROUPS_PER_PAGE)
    st.caption(f"Output of the grouped convolution (before batch norm and ReLU), {f.channels} channels in {f.groups} "
               f"groups of {f.per_group}. Each frame holds one group's channels, left to right and top to bottom, "
               f"framed in that group's colour on every page. Blue is negative, red positive; every group has its "
               f"own scale (its largest |value| is full colour), so compare channels within a frame.")
    ui.figure(ff.feature_maps(f.act, f.groups, shown), "feature_maps", "feat_maps")
    png_name = f"feature_maps_{layer if source == 'resnext50' else 'block_builder'}_groups_{shown[0]}-{shown[-1]}.png"
    st.download_button("Download these maps as one PNG", data=partial(gpng.feature_grid_png, f.act, f.groups, shown,
                                                                      f.title), file_name=png_name,
                       mime="image/png", icon=":material/image:", on_click="ignore", key="feat_png")

    st.subheader("How strongly each group responds", anchor=False)
    ui.figure(ff.group_energy_bars(f.energy, shown), "group_energy", "feat_energy")

    st.subheader("Do the channels of a group work together?", anchor=False)
    base = ui.corr_baselines(loaded, chosen, layer) if source == "resnext50" else None
    if f.within is not None:
        m = st.columns(3)
        m[0].metric("Mean |corr| inside a group", f"{f.within:.3f}", help="between different channels of one group")
        m[1].metric("Mean |corr| across groups", f"{f.across:.3f}", help="between channels of different groups")
        m[2].metric("Inside ÷ across", f"{f.ratio:.2f}×")
        if base:
            m = st.columns(3)
            m[0].metric("Random-init baseline", f"{base.random_init:.2f}×", help="the same layer of ResNeXt-50 "
                        "with seeded random weights, same picture: what the wiring alone gives")
            m[1].metric("Dense layer cut into fake groups", f"{base.dense_fake:.2f}×", help="a dense 3×3 of this "
                        "shape, seeded random weights, same input, its outputs cut into the same groups: no wiring")
            m[2].metric("Inputs shuffled first", f"{base.shuffled:.2f}×", help="these weights, the layer's input "
                        f"channels permuted (seed {base.seed}) before grouping: each group reads scattered channels")
    ui.figure(ff.correlation_heatmap(f.corr, f.corr_step, f.channels, f.groups, f.within, f.across),
              "channel_correlation", "feat_corr")
    st.markdown(fp.correlation_text(base is not None))
    if f.corr_step > 1:
        st.caption(f"{f.channels} channels are too many to draw one by one: each cell averages {f.corr_step}×"
                   f"{f.corr_step} channel pairs; the numbers above use every pair.")

    st.subheader("What each group responds to most", anchor=False)
    ui.figure(ff.top_channels(f.act, f.groups, f.top_channel), "top_channel_per_group", "feat_top")

    with st.expander("Show the code"):
        st.code(inspect.getsource(probes.by_group) + "\n" + inspect.getsource(probes.channel_correlation),
                language="python")
