"""Pure helpers for app.py's routing: which page a URL asked for, and the notice for one that does not exist."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit


def requested_path(url: str | None, base_path: str = "") -> str:
    """Return the page part of a browser URL ('' for the app's root), without the server's base path or slashes."""
    if not url:
        return ""
    path = unquote(urlsplit(url).path).strip("/")
    base = base_path.strip("/")
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base):].strip("/")
    return path


def unknown_page_notice(url: str | None, known: list[str] | set[str], base_path: str = "",
                        home: str = "Home") -> str | None:
    """Return the notice for a URL naming no page ('no page named …; here is Home'), or None for a known page."""
    path = requested_path(url, base_path)
    if path == "" or path in set(known):
        return None
    shown = path if len(path) <= 60 else path[:57] + "..."
    return (f"There is no page named “{shown}”; here is {home}. The lessons are listed in the sidebar, "
            f"e.g. /{sorted(p for p in known if p)[0]}." if any(known) else
            f"There is no page named “{shown}”; here is {home}.")
