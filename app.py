"""resnext-viz entry point: routes between the lessons (a notice for an unknown page), draws the shared sidebar."""

from pathlib import Path

import streamlit as st

from resnext_viz import routing, ui

ICON = Path(__file__).parent / "resnext_viz" / "data" / "icon.png"  # served by this server, not a font CDN
st.set_page_config(page_title="resnext-viz: grouped convolutions and cardinality", page_icon=str(ICON),
                   layout="wide")
ui.warm_torch()


def lesson(name: str, title: str, icon: str) -> st.Page:
    """Return the page pages/<name>.py served at /<name> (the same name, so a first visit by link resolves)."""
    return st.Page(f"pages/{name}.py", title=title, icon=icon, url_path=name)


CONV_PAGES = [lesson("parameters", "Parameter math", ":material/calculate:"),
              lesson("connectivity", "Connectivity", ":material/hub:")]
PAGES = {
    "": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
    "Grouped convolution": CONV_PAGES,
    "ResNeXt": [lesson("cardinality", "Cardinality", ":material/call_split:"),
                lesson("three_forms", "Three equivalent forms", ":material/join:"),
                lesson("block_builder", "Block builder", ":material/construction:"),
                lesson("resnet_vs_resnext", "ResNet vs ResNeXt", ":material/compare:")],
    "Inside a trained network": [lesson("group_features", "Group features", ":material/grid_on:"),
                                 lesson("gradients", "Gradients", ":material/trending_down:")],
    "Speed": [lesson("performance_lab", "Performance lab", ":material/speed:")],
}
page = st.navigation(PAGES)
notice = routing.unknown_page_notice(st.context.url, [p.url_path for ps in PAGES.values() for p in ps],
                                     st.get_option("server.baseUrlPath"))
if notice:  # st.navigation falls back to Home silently; say so
    st.warning(notice, icon=":material/warning:")
ui.sidebar(CONV_PAGES)
page.run()
