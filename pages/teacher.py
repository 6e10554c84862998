"""For teachers: build a short link to one view (page, preset, what to hide, presentation, seed), its QR code
and a printable tips sheet."""

import streamlit as st

from resnext_viz import lessons, teaching, ui
from resnext_viz.plotting import THEMES

ui.require_app()

st.title("Teacher's link builder")
st.markdown("Choose what the class sees; copy the link, project its QR code, print the tips sheet. "
            "The link carries every setting chosen here, so it opens the same view on any device.")
# This page's own choices stay in the session only: in the URL they would collide with the link's own
# present=, theme= and hide= (which govern this page while it is open).
S = dict(persist_state="session")
pages = {x.url_path: x for x in (lessons.HOME, *lessons.LESSONS) if x.url_path != "teacher"}
left, right = st.columns(2, gap="large")
with left:
    lesson = pages[st.selectbox("Page", list(pages), format_func=lambda p: pages[p].title, key="tch_page", **S)]
    steps = teaching.lesson_steps() if lesson.url_path == "lesson" else []
    step = st.selectbox("Lesson step", [s for s, _ in steps], key="tch_step", **S,
                        format_func=dict(steps).get) if steps else None
    conv = lesson.url_path in lessons.CONV_LESSONS
    preset = st.selectbox("Preset", ["", *ui.PRESETS], key="tch_preset", disabled=not conv, **S,
                          format_func=lambda n: ui.PRESETS[n].label if n else "none (the page's defaults)",
                          help="The convolution presets set Parameter math and Connectivity.")
    hide = st.multiselect("Hide", list(ui.HIDE_NAMES), key="tch_hide", **S, help="; ".join(
        f"{k}: {v}" for k, v in ui.HIDE_NAMES.items()))
    more = st.text_input("Also hide these controls (URL names, comma-separated)", key="tch_hide_more", **S,
                         placeholder="e.g. c_in,c_out,kh", help="A control's URL name is the name before = in "
                         "its page's address, e.g. groups in ?groups=32.")
with right:
    present = st.toggle("Presentation mode", key="tch_present", **S, help="present=1")
    theme = st.selectbox("Theme", list(THEMES), key="tch_theme", format_func=lambda n: THEMES[n].label, **S)
    use_seed = st.toggle("Exercise seed", key="tch_use_seed", **S, help="seed=…: the same exercise for everyone "
                         "on pages that draw one.")
    seed = st.number_input("Seed", 0, 2**31 - 1, 1, key="tch_seed", disabled=not use_seed, **S)
    base = st.text_input("The app's address (as learners reach it)", key="tch_base", **S,
                         value=teaching.base_url_of(st.context.url),
                         help="Defaults to this server's address as your browser sees it; type the public one "
                              "if learners use another.")

extra = [x for x in ui.parse_hide(more) if x not in hide]
values = {}
if conv and preset:
    v = ui.PRESETS[preset].values
    values = {**v, "kw": v["kh"], "square": 1}
link = teaching.TeacherLink(base, lesson.url_path, values, tuple(hide) + tuple(sorted(extra)), present, theme,
                            int(seed) if use_seed else None, step)
try:
    url = link.url()
except ValueError as e:
    st.error(str(e), icon=":material/link_off:")
    st.stop()

st.subheader("The link", anchor=False)
st.code(url, language=None, wrap_lines=True)
st.link_button("Open it in a new tab", url, icon=":material/open_in_new:")
qr_col, tips_col = st.columns([1, 2], gap="large")
with qr_col:
    png = teaching.qr_png(url)
    st.image(png, caption="QR code of the link (scan to open)", width=260)
    a, b = st.columns(2)
    a.download_button("PNG", png, "resnext-viz-link.png", "image/png", key="tch_png", on_click="ignore")
    b.download_button("SVG", teaching.qr_svg(url), "resnext-viz-link.svg", "image/svg+xml", key="tch_svg",
                      on_click="ignore")
with tips_col:
    st.subheader("Teacher tips sheet", anchor=False)
    sheet = teaching.tips_html(link, lesson.title, lesson.blurb)
    st.download_button("Download the printable sheet (HTML, one page)", sheet, "teacher-tips.html", "text/html",
                       key="tch_sheet", icon=":material/print:", on_click="ignore")
    st.markdown("**Questions to ask**\n" + "".join(f"\n- {q}" for q in teaching.QUESTIONS.get(lesson.url_path, ())))
    st.markdown("**URL parameters**\n" + "".join(f"\n- `{k}={v}`" for k, v in link.params().items()))
