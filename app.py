"""resnext-viz entry point: routes between the lessons and draws the shared sidebar. Nothing else."""

import streamlit as st

from resnext_viz import lessons, ui

st.set_page_config(page_title="resnext-viz: grouped convolutions and cardinality", page_icon=":material/grid_view:",
                   layout="wide")
ui.warm_torch()


def page(lesson: lessons.Lesson) -> st.Page:
    """Return the st.Page of a lesson, served at its file's name (so a first visit by link resolves)."""
    if not lesson.url_path:
        return st.Page(lesson.file, title=lesson.title, icon=lesson.icon, default=True)
    return st.Page(lesson.file, title=lesson.title, icon=lesson.icon, url_path=lesson.url_path)


PAGES = {section: [page(x) for x in group] for section, group in lessons.sections().items()}
current = st.navigation(PAGES)
ui.sidebar([p for group in PAGES.values() for p in group if p.url_path in lessons.CONV_LESSONS])
current.run()
