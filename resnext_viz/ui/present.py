"""How the whole app is shown, set once per run by app.py: presentation mode, ?hide=, the theme, its CSS.

Three URL parameters, kept across page changes like every control (UrlState), but left out of
the URL while at their defaults so ordinary links stay short:
- `present=1`   presentation mode: no sidebar or toolbar, type ~40% larger, thicker lines, the
                 high-contrast light profile for figures (unless the theme is dark);
- `hide=a,b`    names from HIDE_NAMES, or any control's URL name (e.g. `groups`): hidden by CSS,
                 so the widget still exists and keeps the value the URL gave it;
- `theme=...`   light, dark or contrast: the page's CSS and every figure (plotting.style) follow.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from resnext_viz.palette import TEXT_MIN_CONTRAST, mix, reach_contrast
from resnext_viz.plotting import PRESENT_SCALE, THEMES, Theme

from .state import FIELDS_BY_URL, Field, show_notices, url_state

HIDE_NAMES = {
    "controls": "every input in the page (numbers, sliders, choices, toggles); their values still come from the link",
    "sidebar": "the sidebar (presets, device, navigation)",
    "export": "the Export menu under each figure",
    "code": "code snippets and 'Show the code' expanders",
}
PRESENT_FIELD = Field("view_present", "present", False, label="presentation mode")
THEME_FIELD = Field("view_theme", "theme", "light", label="theme", options=tuple(THEMES))
HIDE_FIELD = Field("view_hide", "hide", "", label="hide")
VIEW_FIELDS = [PRESENT_FIELD, THEME_FIELD, HIDE_FIELD]
# The inputs `hide=controls` hides (Streamlit's data-testid of each widget kind).
WIDGETS = ("stNumberInput", "stSlider", "stSelectbox", "stMultiSelect", "stRadio", "stCheckbox", "stToggle",
           "stTextInput", "stTextArea", "stButtonGroup", "stFileUploader", "stColorPicker", "stDateInput",
           "stTimeInput", "stSelectSlider")
CONTENT = ("stPlotlyChart", "stDataFrame", "stCode", "stImage", "stTable", "stMetric", "stMarkdown")


@dataclass(frozen=True)
class View:
    """How this run shows the app."""

    present: bool = False
    theme: str = "light"
    hide: frozenset = frozenset()

    @property
    def profile(self) -> str:
        """Return the theme figures and the page use: presenting turns light into high contrast."""
        return "contrast" if self.present and self.theme == "light" else self.theme

    def hides(self, name: str) -> bool:
        """Return True when `name` (a HIDE_NAMES entry or a control's URL name) is hidden."""
        return name in self.hide


def parse_hide(raw: str) -> frozenset:
    """Return the names in a `hide=` value (comma-separated, case and spaces ignored)."""
    return frozenset(x.strip().lower() for x in str(raw).split(",") if x.strip())


def current_view() -> View:
    """Return this run's View from the session (defaults outside app.py, e.g. a page run alone in a test)."""
    ss = st.session_state
    theme = ss.get(THEME_FIELD.key, "light")
    return View(bool(ss.get(PRESENT_FIELD.key, False)), theme if theme in THEMES else "light",
                parse_hide(ss.get(HIDE_FIELD.key, "")))


def view_settings() -> View:
    """Seed present / theme / hide from the link or this session, show the link's notices; return the View."""
    state = url_state()
    show_notices(state.seed(VIEW_FIELDS))
    return current_view()


def sync_view() -> None:
    """Mirror the view in the URL, leaving out a parameter at its default (and forgetting it was written)."""
    state = url_state()
    for f in VIEW_FIELDS:
        value = state.memory.chosen[f.key] = st.session_state.get(f.key, f.default)
        if value == f.default:
            state.memory.written.pop(f.url, None)
            if f.url in state.query:
                del state.query[f.url]
        else:
            text = state.memory.written[f.url] = f.dump(value)
            if state.query.get(f.url) != text:
                state.query[f.url] = text


def _toggle_present() -> None:
    st.session_state[PRESENT_FIELD.key] = not st.session_state.get(PRESENT_FIELD.key, False)


def view_controls(view: View) -> None:
    """Draw the theme choice and the presentation button (sidebar), and a leave button while presenting."""
    with st.sidebar:
        st.subheader("Display", anchor=False)
        st.selectbox("Theme", list(THEMES), key=THEME_FIELD.key, format_func=lambda n: THEMES[n].label,
                     persist_state="session", help="Light, dark or high contrast; kept in the link (theme=).")
        st.button("Presentation mode", key="view_present_on", icon=":material/slideshow:", on_click=_toggle_present,
                  width="stretch", help="For a projector: no sidebar, larger type, thicker lines (present=1).")
    if view.present:
        st.button("Leave presentation", key="view_present_off", icon=":material/close_fullscreen:",
                  on_click=_toggle_present, help="Back to the normal layout (the sidebar returns).")
    sync_view()


MOTION_COOKIE = "resnext_viz_reduced_motion"
KEPT_IN_LINKS = ("present", "theme", "hide")
# Runs in the page once: (1) tells the server the viewer's reduced-motion preference (a cookie); (2) a plain link
# to another page of the app (a markdown link reloads the page, a new session) keeps present / theme / hide.
_PAGE_JS = f"""<script>(function () {{
  document.cookie = "{MOTION_COOKIE}=" + (matchMedia("(prefers-reduced-motion: reduce)").matches ? "1" : "0")
    + "; path=/; SameSite=Lax";
  if (window.__resnextVizLinks) return;
  window.__resnextVizLinks = true;
  document.addEventListener("click", function (e) {{
    const a = e.target.closest && e.target.closest("a[href]");
    if (!a) return;
    const u = new URL(a.getAttribute("href"), location.href);
    if (u.origin !== location.origin) return;
    const here = new URLSearchParams(location.search);
    for (const k of {list(KEPT_IN_LINKS)})
      if (here.has(k) && !u.searchParams.has(k)) u.searchParams.set(k, here.get(k));
    a.setAttribute("href", u.pathname + u.search + u.hash);
  }}, true);
}})();</script>"""


def reduced_motion() -> bool:
    """Return True when the browser said it prefers reduced motion (a cookie set by inject's script; read on
    the next connection), or the link says `motion=reduce`: animated figures call plotting.reduce_motion then."""
    try:
        cookie = st.context.cookies.get(MOTION_COOKIE)
    except Exception:  # outside a browser session (AppTest)
        cookie = None
    return cookie == "1" or st.query_params.get("motion") == "reduce"


def inject(view: View) -> None:
    """Add this run's CSS to the page (a style-only st.html takes no space), and the page script (_PAGE_JS)."""
    st.html(f"<style>{view_css(view)}</style>")
    with st.sidebar:  # present even when hidden by CSS; runs once per page load
        st.html(_PAGE_JS, unsafe_allow_javascript=True, width=1)


# ---------------------------------------------------------------- CSS


def _hide_controls_css() -> str:
    main = '[data-testid="stMain"]'
    parts = [f'{main} .stElementContainer:has(> [data-testid="{w}"])' for w in WIDGETS]
    content = ", ".join(f'[data-testid="{c}"]' for c in CONTENT)
    widgets = ", ".join(f'[data-testid="{w}"]' for w in WIDGETS)
    parts.append(f'{main} [data-testid="stExpander"]:has({widgets}):not(:has({content}))')
    return ",\n".join(parts) + " { display: none !important; }\n"


def _theme_css(t: Theme) -> str:
    """Return CSS that paints Streamlit's page in a theme (light is Streamlit's own, so nothing)."""
    if t.name == "light":
        return ""
    return f"""
[data-testid="stApp"], [data-testid="stHeader"], [data-testid="stBottomBlockContainer"] {{
  background: {t.background} !important; color: {t.text} !important; }}
[data-testid="stSidebar"], [data-testid="stSidebarContent"] {{ background: {t.surface} !important; }}
[data-testid="stApp"] :is(h1, h2, h3, h4, h5, h6, p, li, label, summary, td, th, strong, em,
  [data-testid="stMarkdownContainer"], [data-testid="stMetricValue"], [data-testid="stMetricLabel"],
  [data-testid="stWidgetLabel"], [data-testid="stSidebarNavLink"] span) {{ color: {t.text} !important; }}
[data-testid="stApp"] :is([data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p,
  small) {{ color: {t.muted} !important; }}
[data-testid="stApp"] a, [data-testid="stApp"] a * {{ color: {t.link} !important; }}
[data-testid="stApp"] :is([data-baseweb="input"], [data-baseweb="base-input"], [data-baseweb="select"] > div,
  [data-baseweb="textarea"], input, textarea) {{
  background: {t.surface} !important; color: {t.text} !important; border-color: {t.border} !important; }}
[data-testid="stApp"] :is([data-testid="stExpander"] details, [data-testid="stPopover"] button,
  [data-testid^="stBaseButton"]) {{ border-color: {t.border} !important; }}
[data-testid="stApp"] :is([data-testid^="stBaseButton-secondary"],
  [data-testid="stButtonGroup"] [role="radiogroup"] button, [data-testid="stPopover"] button) {{
  background: {t.surface} !important; color: {t.text} !important; border-color: {t.border} !important; }}
[data-testid="stApp"] [data-testid="stButtonGroup"] button[data-selected="true"] {{
  border: 2px solid {t.link} !important; font-weight: 600; }}
[data-testid="stApp"] :is([data-testid="stNumberInputStepDown"], [data-testid="stNumberInputStepUp"]) {{
  background: {t.surface} !important; color: {t.text} !important; }}
[data-testid="stApp"] [data-testid="stCode"] pre {{ background: {t.surface} !important; }}
[data-testid="stApp"] :is([data-baseweb="input"], [data-baseweb="select"] > div, [data-baseweb="textarea"]) {{
  border: {2 if t.name == "contrast" else 1}px solid {t.border} !important; }}
[data-testid="stSidebar"] {{ border-right: 1px solid {t.border} !important; }}
[data-testid="stApp"] :is([data-testid="stAlertContainer"], [data-testid="stAlert"] > div) {{
  background: {t.surface} !important; border: 1px solid {t.border} !important; }}
"""


# Streamlit 1.67's own primary colour in the light theme (measured in the browser: tags, primary buttons, the slider's
# value, the selected choice of a segmented control); white on it is 5.2:1, the high-contrast theme's black 4.1:1.
ACCENT = "#C53948"
_TAG = ':is([data-baseweb="tag"], [data-tag])'
_PRIMARY = '[data-testid^="stBaseButton-primary"]'
_CHOSEN = '[data-testid="stButtonGroup"] button[data-selected="true"]'


def widget_colours(t: Theme) -> dict[str, tuple[str, str]]:
    """Return, for a theme, each Streamlit widget part whose colour this CSS sets: (text colour, its background).

    Every pair stands TEXT_MIN_CONTRAST (4.5:1) or more; tests/unit/test_present.py computes each ratio.
    """
    chosen_bg = mix(ACCENT, t.background, 0.9) if t.name == "light" else t.surface  # Streamlit: primary at 10%
    return {
        "multiselect tag": (t.background, t.text),
        "primary button": (t.background, t.text) if t.name == "contrast" else ("#FFFFFF", ACCENT),
        "slider value": (reach_contrast(ACCENT, t.background, TEXT_MIN_CONTRAST) if t.name == "light" else t.text,
                         t.background),
        "selected choice": ((reach_contrast(ACCENT, chosen_bg, TEXT_MIN_CONTRAST) if t.name == "light" else t.text),
                            chosen_bg),
    }


def _widget_css(t: Theme) -> str:
    """Return CSS pinning the widget colours of widget_colours(t), in every theme (light included); the
    `:is(p, span, ...)` lifts each rule to the specificity of _theme_css's text rule, which it follows, so it wins."""
    c = widget_colours(t)
    app = '[data-testid="stApp"]'
    (tag_fg, tag_bg), (btn_fg, btn_bg) = c["multiselect tag"], c["primary button"]
    (val_fg, _), (sel_fg, sel_bg) = c["slider value"], c["selected choice"]
    return f"""
{app} {_TAG} {{ background: {tag_bg} !important; color: {tag_fg} !important; }}
{app} {_TAG} :is(p, span, div, svg, *) {{ color: {tag_fg} !important; }}
{app} {_PRIMARY} {{ background: {btn_bg} !important; border-color: {btn_bg} !important; color: {btn_fg} !important; }}
{app} {_PRIMARY} :is(p, span, div, svg, *) {{ color: {btn_fg} !important; }}
{app} [data-testid="stSliderThumbValue"] {{ color: {val_fg} !important; }}
{app} {_CHOSEN} {{ background: {sel_bg} !important; }}
{app} {_CHOSEN} :is(p, span, div, svg, *) {{ color: {sel_fg} !important; }}
"""


MAIN_KEY = "present_main"  # the key of ui.main_figure's container (class .st-key-present_main)


def main_figure():
    """Return a container for the page's main figure (with its heading and own control, if any).

    In presentation mode the CSS draws it right under the page title, above the explanations and inputs, so it
    is above the fold at 1280×720; elsewhere it stays where the page puts it. Only the drawing order changes
    (CSS `order`), not the page's reading order for a screen reader.
    """
    return st.container(key=MAIN_KEY)


@st.cache_resource(show_spinner=False)
def _page_fields() -> dict[str, set[str]]:
    """Return URL name -> widget keys of the Fields the page files make (read from their source, once), so
    `hide=<name>` works on a page's very first run, before the page has made its Fields."""
    import ast
    from pathlib import Path

    found: dict[str, set[str]] = {}
    for path in (Path(__file__).resolve().parents[2] / "pages").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            args = [a.value for a in node.args[:2] if isinstance(a, ast.Constant)]
            if name == "Field" and len(args) == 2 and all(isinstance(a, str) for a in args):
                found.setdefault(args[1], set()).add(args[0])
    return found


def _keys(name: str) -> list[str]:
    return sorted(FIELDS_BY_URL.get(name, set()) | _page_fields().get(name, set()))


def view_css(view: View) -> str:
    """Return the page CSS for a View: focus rings and reduced motion always, then theme, hiding, presenting."""
    t = THEMES[view.profile]
    css = [f"""
*:focus-visible {{ outline: 3px solid {t.link} !important; outline-offset: 2px !important; }}
@media (prefers-reduced-motion: reduce) {{
  *, *::before, *::after {{ animation-duration: 0.01ms !important; animation-iteration-count: 1 !important;
    transition-duration: 0.01ms !important; scroll-behavior: auto !important; }} }}
""", _theme_css(t), _widget_css(t)]
    hidden = [f".st-key-{key}" for name in sorted(view.hide) for key in _keys(name)]
    if view.hides("controls"):
        css.append(_hide_controls_css())
    if view.hides("sidebar") or view.present:
        hidden += ['[data-testid="stSidebar"]', '[data-testid="stSidebarCollapsedControl"]',
                   '[data-testid="stExpandSidebarButton"]']
    if view.hides("code"):
        hidden += ['[data-testid="stMain"] .stElementContainer:has(> [data-testid="stCode"])',
                   '[data-testid="stMain"] [data-testid="stExpander"]:has([data-testid="stCode"])',
                   '[data-testid="stMain"] [class*="st-key-code_"]']  # ui.show_code's, closed and empty
    if hidden:
        css.append(",\n".join(hidden) + " { display: none !important; }\n")
    if view.present:
        css.append(f"""
html {{ font-size: {round(16 * PRESENT_SCALE)}px !important; }}
[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"] {{ display: none !important; }}
[data-testid="stMainBlockContainer"] {{ padding: 12px 28px 24px 28px !important; max-width: 100% !important; }}
[data-testid="stApp"] h1 {{ padding-top: 0 !important; }}
.st-key-view_present_off {{ position: fixed; bottom: 10px; right: 14px; z-index: 1000; width: auto !important; }}
[data-testid="stApp"] {{ line-height: 1.5; }}
[data-testid="stMainBlockContainer"] > [data-testid="stVerticalBlock"] > :is(.st-key-{MAIN_KEY},
  :has(.st-key-{MAIN_KEY})) {{ order: -1; }}
[data-testid="stMainBlockContainer"] > [data-testid="stVerticalBlock"] > :has([data-testid="stHeading"] h1) {{
  order: -2; }}
""")
    return "".join(css)
