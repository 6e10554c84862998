"""The floor page: the least a Streamlit page can do (one number input, one line of text, one small Plotly chart).

bench/bench_browser.py times every interaction of the app against the same change here, in the same
run, so the ratio says how far a page is from Streamlit's own floor on this machine, whatever the load.
"""

import plotly.graph_objects as go
import streamlit as st

st.set_page_config(page_title="floor", layout="wide")
st.title("Floor page")
x = st.number_input("Floor value", 1, 1000, value=16, step=1, key="floor_x")
st.write(f"The value is {x}; its square is {x * x}.")
fig = go.Figure(go.Scatter(x=list(range(8)), y=[x * i for i in range(8)], mode="lines+markers"))
fig.update_layout(height=260, margin=dict(l=30, r=10, t=10, b=30))
st.plotly_chart(fig, key="floor_chart")
