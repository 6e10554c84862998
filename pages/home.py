"""Home: what the app teaches and where each lesson is."""

import streamlit as st

from resnext_viz import ui

ui.require_app()

st.title("Grouped convolutions and ResNeXt's cardinality")
st.markdown(
    """
A grouped convolution splits its channels into **G** independent slices: each slice reads
only its own block of input channels and writes only its own block of output channels.
That one change divides the weights and the multiply-adds by G. ResNeXt builds on it: a
block of **C** parallel paths (its *cardinality*) is computed as 1×1 → grouped 3×3 (G = C)
→ 1×1, and at about twice ResNet-101's complexity, more paths gave lower ImageNet error than a
deeper or a wider ResNet (the paper's Table 4: ResNeXt-101 64×4d 20.4% top-1 error, ResNet-200
21.7%, ResNet-101 1×100d 21.3%; single runs).

Every number here is computed live and checked against PyTorch itself.
"""
)

LESSONS = [
    ("pages/parameters.py", "Parameter math",
     "Pick channels, kernel and groups; watch the weight count, the shape of the weight tensor and the MACs change."),
    ("pages/connectivity.py", "Connectivity",
     "See which input channels feed which outputs, group by group, and why a group shares nothing with the others."),
    ("pages/cardinality.py", "Cardinality",
     "At the same number of weights, trade width per path for more paths: the ResNeXt paper's Table 2, solved live."),
    ("pages/three_forms.py", "Three equivalent forms",
     "Summed branches, early concatenation and one grouped convolution: same weights, same outputs, different speed."),
    ("pages/block_builder.py", "Block builder",
     "Build a ResNeXt bottleneck, check each layer against PyTorch, time it on your CPU or GPU, copy its code."),
    ("pages/resnet_vs_resnext.py", "ResNet vs ResNeXt",
     "ResNet-50 and ResNeXt-50 stage by stage, counted from the real models, and why split-transform-merge needs depth ≥ 3."),
    ("pages/group_features.py", "Group features",
     "Run a picture through ResNeXt-50 and look inside a grouped convolution: what each group's channels respond to, "
     "and how alike they are."),
    ("pages/gradients.py", "Gradients",
     "Backpropagate one number and watch it stay inside its group: exact zeros everywhere else, unlike a dense layer."),
    ("pages/performance_lab.py", "Performance lab",
     "Time grouped convolutions on your own machine and find out that fewer FLOPs is not always less time."),
]
for path, title, blurb in LESSONS:
    with st.container(border=True):
        st.page_link(path, label=f"**{title}**", icon=":material/arrow_forward:")
        st.caption(blurb)

st.caption("Teachers: the sidebar has presets, every view's settings live in its URL (copy the link to share it), "
           "and every diagram exports as PNG, SVG, PDF or standalone HTML.")
