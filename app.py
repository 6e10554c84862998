"""resnext-viz entry point: routes between the lessons and draws the shared sidebar. Nothing else."""

import streamlit as st

from resnext_viz import ui

st.set_page_config(page_title="resnext-viz: grouped convolutions and cardinality", page_icon=":material/grid_view:",
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
ui.sidebar(CONV_PAGES)
page.run()
