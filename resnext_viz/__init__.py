"""resnext-viz: an interactive explainer for grouped convolutions and ResNeXt's cardinality.

Everything here except `ui/` is plain Python (no Streamlit) and testable on its own.
"""
