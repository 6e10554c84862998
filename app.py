"""resnext-viz entry point: routes between the lessons, sets how the app is shown (presentation mode, hide,
theme) and draws the shared sidebar. Nothing else."""

from pathlib import Path

import streamlit as st

from resnext_viz import lessons, routing, ui

ICON = Path(__file__).parent / "resnext_viz" / "data" / "icon.png"  # served by this server, not a font CDN
st.set_page_config(page_title="resnext-viz: grouped convolutions and cardinality", page_icon=str(ICON),
                   layout="wide")
view = ui.view_settings()  # ?present= / ?hide= / ?theme=, kept across pages
ui.inject(view)


def page(lesson: lessons.Lesson) -> st.Page:
    """Return the st.Page of a lesson, served at its file's name (so a first visit by link resolves)."""
    if not lesson.url_path:
        return st.Page(lesson.file, title=lesson.title, icon=lesson.icon, default=True)
    return st.Page(lesson.file, title=lesson.title, icon=lesson.icon, url_path=lesson.url_path)


PAGES = {section: [page(x) for x in group] for section, group in lessons.sections().items()}
current = st.navigation(PAGES, expanded=True)  # every lesson listed: 17 pages would fold to 10 behind "View more"
notice = routing.unknown_page_notice(st.context.url, [p.url_path for ps in PAGES.values() for p in ps],
                                     st.get_option("server.baseUrlPath"))
if notice:  # st.navigation falls back to Home silently; say so
    st.warning(notice, icon=":material/warning:")
ui.sidebar([p for group in PAGES.values() for p in group if p.url_path in lessons.CONV_LESSONS])
ui.view_controls(view)
ui.lesson_bar(current.url_path)  # a step's page opened from the lesson: the step's text above it
current.run()
# After the page has run, not before: importing torch beside the first run slowed its first paint (bench_browser).
ui.warm_image_model()  # torch, FlopCounterMode and the image model, in the background, once per process
