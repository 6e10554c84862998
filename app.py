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
    "ResNeXt": [
        st.Page("pages/cardinality.py", title="Cardinality", icon=":material/call_split:", url_path="cardinality"),
        st.Page("pages/three_forms.py", title="Three equivalent forms", icon=":material/join:", url_path="forms"),
        st.Page("pages/block_builder.py", title="Block builder", icon=":material/construction:", url_path="block_builder"),
        st.Page("pages/resnet_vs_resnext.py", title="ResNet vs ResNeXt", icon=":material/compare:", url_path="resnet_vs_resnext"),
    ],
    "Speed": [st.Page("pages/performance_lab.py", title="Performance lab", icon=":material/speed:", url_path="lab")],
}
page = st.navigation(PAGES)
ui.sidebar(CONV_PAGES)
page.run()
