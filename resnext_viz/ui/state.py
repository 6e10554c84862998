"""URL state and page plumbing: every control in the URL, kept across pages, and action requests."""

from __future__ import annotations

from collections.abc import MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

# ---------------------------------------------------------------- routing


def require_app() -> None:
    """Make sure this page runs inside app.py's st.navigation; call first in every page.

    Because the product keeps its lessons in a folder named `pages/`, Streamlit starts in
    its legacy "pages directory" mode and, until app.py has called st.navigation once, a
    link straight to a lesson (e.g. /parameters after a restart) would run the page file
    on its own: no shared sidebar, no page config. Switching the mode off and rerunning
    sends that first request through app.py like every other.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


# ---------------------------------------------------------------- URL state


FIELDS_BY_URL: dict[str, set[str]] = {}  # URL name -> the widget keys of every Field made with it


@dataclass(frozen=True)
class Field:
    """One control: its session key, URL name, default and allowed values."""

    key: str                  # session_state key of the widget
    url: str                  # query-parameter name
    default: Any
    lo: int | None = None     # bounds for ints
    hi: int | None = None
    label: str = ""
    options: tuple = ()       # allowed values of a text field, or of each item of a list field

    def __post_init__(self) -> None:
        FIELDS_BY_URL.setdefault(self.url, set()).add(self.key)  # so ?hide=<url name> finds the widget

    def parse(self, raw: str) -> Any:
        """Return the value of a URL string, or raise ValueError with a sentence for the notice."""
        if isinstance(self.default, (list, tuple)):
            try:
                items = [int(x) for x in raw.split(",") if x.strip()]
            except ValueError:
                raise ValueError(f"'{raw}' is not a comma-separated list of whole numbers") from None
            bad = [x for x in items if self.options and x not in self.options]
            if bad or not items:
                raise ValueError(f"'{raw}' has values outside {', '.join(map(str, self.options))}")
            return items
        if isinstance(self.default, bool):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"'{raw}' is not on/off")
        if isinstance(self.default, float):
            try:
                value = float(raw.strip())
            except ValueError:
                raise ValueError(f"'{raw}' is not a number") from None
            if value != value or not (self.lo is None or value >= self.lo) or not (self.hi is None or value <= self.hi):
                raise ValueError(f"{raw} is outside {self.lo:g}–{self.hi:g}")
            return value
        if isinstance(self.default, int):
            try:
                value = int(raw.strip())
            except ValueError:
                raise ValueError(f"'{raw}' is not a whole number") from None
            if not (self.lo is None or value >= self.lo) or not (self.hi is None or value <= self.hi):
                raise ValueError(f"{value} is outside {self.lo}–{self.hi}")
            return value
        if self.options and raw not in self.options:
            raise ValueError(f"'{raw}' is not one of {', '.join(map(str, self.options))}")
        return raw

    def dump(self, value: Any) -> str:
        """Return the URL string of a value."""
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, (list, tuple)):
            return ",".join(str(x) for x in value)
        return str(value)


def current_page_id() -> str:
    """Return an id of the page being run (its script hash), '' outside a Streamlit run."""
    ctx = get_script_run_ctx()
    return ctx.page_script_hash if ctx else ""


@dataclass
class UrlMemory:
    """What one browser session remembers about its controls (kept in its session state)."""

    chosen: dict = field(default_factory=dict)     # widget key -> the value last chosen, on any page
    written: dict = field(default_factory=dict)    # URL name -> the text this session last wrote there
    seeded_on: dict = field(default_factory=dict)  # widget key -> the page whose widget was last seeded


class UrlState:
    """Every control's value, mirrored in the URL and kept across pages; plain mappings in, so testable.

    session: the widgets' values by key (st.session_state in the app, a dict in tests);
    query: the URL's parameters (st.query_params, or a dict); page: the page being run.
    """

    MEMORY_KEY = "_url_state"

    def __init__(self, session: MutableMapping, query: MutableMapping, page: str = "") -> None:
        self.session, self.query, self.page = session, query, page
        if not isinstance(session.get(self.MEMORY_KEY), UrlMemory):
            session[self.MEMORY_KEY] = UrlMemory()
        self.memory: UrlMemory = session[self.MEMORY_KEY]

    def last(self, f: Field) -> Any:
        """Return the field's current value: the widget's, else the last chosen, else the default."""
        return self.session.get(f.key, self.memory.chosen.get(f.key, f.default))

    def remember(self, key: str, value: Any) -> None:
        """Set a control's value from code (a preset, an upload), as if the learner had chosen it."""
        self.session[key] = value
        self.memory.chosen[key] = value

    def foreign(self, f: Field) -> str | None:
        """Return the URL's text for the field when this session did not write it itself (a link), else None."""
        raw = self.query.get(f.url)
        return None if raw is None or self.memory.written.get(f.url) == raw else raw

    def seed(self, fields: list[Field], consistent: Callable[[dict], str | None] | None = None) -> list[str]:
        """Put every field's value in the session before its widget is drawn; return notices for the page.

        A value comes from the URL when the link carries one this session has not written
        itself (a shared link, an edited address), else from what this session last chose
        (kept across page switches), else the default. A bad value, or values that do not
        fit together (`consistent` returns a sentence), fall back to the defaults with a notice.
        """
        notices: list[str] = []
        from_url: dict[str, Any] = {}
        for f in fields:
            raw = self.foreign(f)
            if raw is None:
                continue
            try:
                from_url[f.key] = f.parse(raw)
            except ValueError as why:
                shown = f.default if isinstance(f.default, bool) else f.dump(f.default)
                notices.append(f"The link's **{f.label or f.url}** value was ignored ({why}); "
                               f"using the default, {shown}.")
                from_url[f.key] = f.default
        if from_url and consistent is not None:
            problem = consistent({f.key: from_url.get(f.key, self.last(f)) for f in fields})
            if problem:
                notices.append(f"The link's settings do not fit together — {problem} "
                               "Showing the default configuration instead.")
                from_url = {f.key: f.default for f in fields}
        # A widget drawn on another page is a different widget to Streamlit: re-seed its key
        # from the remembered value whenever the page changes.
        for f in fields:
            if f.key in from_url:
                self.session[f.key] = from_url[f.key]
            elif f.key not in self.session or self.memory.seeded_on.get(f.key) != self.page:
                self.session[f.key] = self.memory.chosen.get(f.key, f.default)
            self.memory.seeded_on[f.key] = self.page
        return notices

    def sync(self, fields: list[Field]) -> None:
        """Remember the fields' current values across pages and mirror them in the URL."""
        for f in fields:
            value = self.memory.chosen[f.key] = self.session.get(f.key, f.default)
            text = self.memory.written[f.url] = f.dump(value)
            if self.query.get(f.url) != text:
                self.query[f.url] = text


def url_state() -> UrlState:
    """Return the UrlState of this browser session and page."""
    return UrlState(st.session_state, st.query_params, current_page_id())


def seed(fields: list[Field], consistent: Callable[[dict], str | None] | None = None) -> list[str]:
    """Seed the fields' widgets from the URL or this session's memory; return notices (see UrlState.seed)."""
    return url_state().seed(fields, consistent)


def sync_url(fields: list[Field]) -> None:
    """Remember the fields' current values across pages and mirror them in the URL."""
    url_state().sync(fields)


def show_notices(notices: list[str]) -> None:
    """Show the URL fallback notices, if any, at the top of the page."""
    for n in notices:
        st.warning(n, icon=":material/link_off:")


@contextmanager
def controls(fields: list[Field], consistent: Callable[[dict], str | None] | None = None):
    """Seed the fields and show the link's notices; draw the widgets inside; mirror them in the URL after."""
    show_notices(seed(fields, consistent))
    try:
        yield
    finally:
        sync_url(fields)


# ---------------------------------------------------------------- action buttons


def request_run(name: str) -> None:
    """Button callback: remember that the action `name` was asked for (read once by run_requested)."""
    st.session_state[f"_run_{name}"] = True


def run_requested(name: str) -> bool:
    """Return True once after the action's button was pressed.

    Action buttons go through a callback rather than st.button's return value: the callback
    is handled before the script runs, so the request survives however the page was reached.
    """
    return bool(st.session_state.pop(f"_run_{name}", False))
