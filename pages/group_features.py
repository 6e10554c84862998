"""Group features: one grouped convolution's output on a real picture, group by group."""

import inspect

import streamlit as st

from resnext_viz.inside import summaries as fp
from resnext_viz import ui
from resnext_viz.inside import probes

ui.require_app()

st.title("Group features")
st.markdown("Run a picture through ResNeXt-50 (or a network trained here) and look inside one grouped convolution: "
            "each group's output channels side by side, how strongly each group responds, and how its channels relate to each other.")

with ui.plain_errors("showing the group features"):
    SOURCES = {"resnext50": "A layer of ResNeXt-50", "builder": "The block from the Block builder",
               ui.TRAINED_SOURCE: ui.TRAINED_LABEL}
    fields = [ui.Field("feat_source", "source", "resnext50", label="source"), ui.LAYER_FIELD,
              ui.Field("feat_page", "page", 1, 1, 4096, label="page")]
    notices = ui.seed(fields)
    ui.fit_choice(fields[0], list(SOURCES), notices)
    source = st.radio("Grouped convolution to probe", list(SOURCES), persist_state="session", key="feat_source",
                      format_func=SOURCES.get, horizontal=True)
    if source == ui.TRAINED_SOURCE:
        trained = ui.trained_source(notices)
        ui.sync_url(fields)
        if trained is not None:
            f, init = ui.trained_features(trained)
            st.subheader(f"Feature maps of {f.title}, group by group", anchor=False)
            ui.group_feature_sections(f, range(f.groups), png_name=f"feature_maps_trained_{f.title}.png",
                                      init_ratio=init, init_seed=trained.run.seed)
        st.stop()
    loaded = ui.image_model()
    chosen = ui.image_chooser(loaded)
    ui.weights_notice(loaded)
    ui.top5(loaded, chosen)
    notice_slot = st.container()
    if source == "resnext50":
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
        st.markdown(f"**{f.title}**, G = {f.groups}")
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
    png_name = f"feature_maps_{layer if source == 'resnext50' else 'block_builder'}_groups_{shown[0]}-{shown[-1]}.png"
    base = ui.corr_baselines(loaded, chosen, layer) if source == "resnext50" else None
    ui.group_feature_sections(f, shown, base, png_name,  # figures kept per picture and layer (not the builder's)
                              data_key=("resnext50", chosen.key, loaded.source, layer) if source == "resnext50" else None)

    ui.show_code("features", lambda: inspect.getsource(probes.by_group) + "\n"
                 + inspect.getsource(probes.channel_correlation))
