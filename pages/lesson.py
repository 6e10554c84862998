"""Lesson: a guided path through the app, one step at a time, with predict-then-check questions."""

import streamlit as st

from resnext_viz import ui
from resnext_viz.lesson import steps as ls

ui.require_app()

number, seed, notices = ui.lesson_position()
step = ls.STEPS[number - 1]

st.title("Lesson: grouped convolutions and ResNeXt")
ui.lesson_notices(notices)
timeline, main = st.columns([1, 3], gap="large")
with main:
    ui.lesson_nav(number)
    st.subheader(f"{number}. {step.title}", anchor=False)
    if ui.lesson_step(step):
        ui.lesson_exercise(seed, number, step)
    st.caption("Keyboard: ← and → move between steps (when the answer box is not focused). "
               "The step number and the seed are in the address: copy it to send a class to this step.")
    st.divider()
    ui.lesson_downloads(seed)
with timeline:  # drawn after the exercise, so an answer just checked is already marked
    ui.lesson_timeline(number, seed)
