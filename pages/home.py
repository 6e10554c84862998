"""Home: what the app teaches and where each lesson is."""

import streamlit as st

from resnext_viz import lessons, ui

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

for lesson in lessons.LESSONS:
    with st.container(border=True):
        st.page_link(lesson.file, label=f"**{lesson.title}**", icon=":material/arrow_forward:")
        st.caption(lesson.blurb)

st.caption("Teachers: the **Lesson** leads a class through the pages in order, with questions and a printable "
           "worksheet; the sidebar has presets, every view's settings live in its URL (copy the link to share it), "
           "and every diagram exports as PNG, SVG, PDF or standalone HTML.")
