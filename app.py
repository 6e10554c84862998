"""resnext-viz entry point: routes between the lessons and draws the shared sidebar. Nothing else."""

import streamlit as st

from resnext_viz import ui

st.set_page_config(page_title="resnext-viz: grouped convolutions and cardinality", page_icon=":material/grid_view:",
                   layout="wide")
ui.warm_torch()

CONV_PAGES = [
    st.Page("pages/parameters.py", title="Parameter math", icon=":material/calculate:", url_path="parameters"),
    st.Page("pages/connectivity.py", title="Connectivity", icon=":material/hub:", url_path="connectivity"),
]
PAGES = {
    "": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
    "Grouped convolution": CONV_PAGES,
    "Inside a trained network": [
        st.Page("pages/group_features.py", title="Group features", icon=":material/grid_on:", url_path="features"),
        st.Page("pages/gradients.py", title="Gradients", icon=":material/trending_down:", url_path="gradients"),
    ],
}
page = st.navigation(PAGES)
ui.sidebar(CONV_PAGES)
page.run()
