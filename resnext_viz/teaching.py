"""Pure: a teacher's link to one view of the app, its QR code and a printable one-page tips sheet.

The link is the page's URL with the view's parameters: a preset's convolution values, `hide=`,
`present=1`, `theme=` and an exercise `seed=`. Nothing here imports streamlit or torch.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import segno

from resnext_viz import lessons

PARAMS_EXPLAINED = {
    "present": "present=1: presentation mode (no sidebar or toolbar, larger type, thicker lines, high contrast)",
    "hide": "hide=…: parts hidden for the lesson (controls, sidebar, export, code, or a control's URL name); "
            "hidden controls keep the link's values",
    "theme": "theme=…: light, dark or contrast (high contrast)",
    "seed": "seed=…: the exercise seed, so every learner gets the same exercise on pages that draw one",
    "step": "step=…: the lesson step to open",
}
# Questions a teacher can ask in front of each page (questions, so they assert nothing); '' = Home.
QUESTIONS: dict[str, tuple[str, ...]] = {
    "": ("What does a convolution with groups = G not connect?", "Which lesson answers your own question first?"),
    "parameters": ("Halve G: what happens to the weight count, and why?",
                   "Which numbers does G leave unchanged (output shape, bias)?",
                   "Why must G divide both C_in and C_out?"),
    "connectivity": ("How many input channels does one output channel see, dense and grouped?",
                     "Highlight one group: which outputs can it never influence?"),
    "cardinality": ("At a fixed budget of weights, what does each path lose when C doubles?",
                    "Which cardinality has the lowest cited error (the paper's Table 3)?"),
    "three_forms": ("Why do the three forms give the same output?", "Why is their speed not the same?"),
    "block_builder": ("Which layer of the bottleneck holds most of the weights?",
                      "What changes when the stride is 2?"),
    "resnet_vs_resnext": ("Which two settings make ResNet-50 into ResNeXt-50?",
                          "Why does split-transform-merge need a depth of at least 3?"),
    "group_features": ("Are channels more alike inside a group than across groups? Compare with the baselines.",),
    "gradients": ("Which gradients are exactly zero, and which of those only grouping gives?",),
    "performance_lab": ("Does the time fall as fast as the FLOPs when G grows? Why not?",),
}


@dataclass(frozen=True)
class TeacherLink:
    """One view to share: which page, with which parameters."""

    base_url: str                       # where the app is served, e.g. https://school.example/resnext
    page: str                           # the lesson's url_path ('' for Home)
    values: dict = field(default_factory=dict)   # control URL name -> value (a preset's convolution)
    hide: tuple[str, ...] = ()
    present: bool = False
    theme: str = "light"
    seed: int | None = None
    step: str | None = None             # a lesson step id, when the lesson page provides them

    def params(self) -> dict[str, str]:
        """Return the link's query parameters, in a stable order; defaults are left out."""
        out = {k: str(int(v) if isinstance(v, bool) else v) for k, v in self.values.items()}
        if self.step:
            out["step"] = self.step
        if self.hide:
            out["hide"] = ",".join(self.hide)
        if self.present:
            out["present"] = "1"
        if self.theme != "light":
            out["theme"] = self.theme
        if self.seed is not None:
            out["seed"] = str(self.seed)
        return out

    def url(self) -> str:
        """Return the short link: base URL, page path and the parameters (commas left readable)."""
        parts = urlsplit(self.base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"'{self.base_url}' is not a web address: start it with http:// or https://")
        path = parts.path.rstrip("/") + "/" + quote(self.page)
        return urlunsplit((parts.scheme, parts.netloc, path, urlencode(self.params(), safe=","), ""))


def base_url_of(page_url: str) -> str:
    """Return the app's base address from the address of one of its pages (scheme, host and base path)."""
    parts = urlsplit(page_url or "")
    if not parts.scheme or not parts.netloc:
        return "http://localhost:8501"
    path = parts.path.rstrip("/")
    known = {x.url_path for x in lessons.LESSONS} | {"teacher"}
    head, _, last = path.rpartition("/")
    return urlunsplit((parts.scheme, parts.netloc, head if last in known else path, "", ""))


def qr(url: str) -> segno.QRCode:
    """Return the QR code of a URL (error correction M at least; segno raises it when space allows)."""
    return segno.make(url, error="m", micro=False)


def qr_svg(url: str, scale: int = 8, sized: bool = True) -> bytes:
    """Return the URL's QR code as an SVG file (black on white, 4-module quiet zone); sized=False leaves out
    width and height (a viewBox only), so CSS can scale it."""
    buf = io.BytesIO()
    qr(url).save(buf, kind="svg", scale=scale, border=4, dark="#000000", light="#FFFFFF", xmldecl=True,
                 omitsize=not sized)
    return buf.getvalue()


def qr_png(url: str, scale: int = 10) -> bytes:
    """Return the URL's QR code as a PNG file (black on white, 4-module quiet zone)."""
    buf = io.BytesIO()
    qr(url).save(buf, kind="png", scale=scale, border=4, dark="#000000", light="#FFFFFF")
    return buf.getvalue()


def lesson_steps() -> list[tuple[str, str]]:
    """Return the guided lesson's steps as (the value of `step=`, a title), or [] when there is no lesson.

    Read from resnext_viz.lesson.steps: its `link_choices()` (id, title) pairs if it defines one, else
    its STEPS, whose 1-based positions are what the lesson page reads from `?step=`.
    """
    try:
        from resnext_viz.lesson import steps  # type: ignore[import-not-found]
    except ImportError:
        return []
    choices = getattr(steps, "link_choices", None)
    if callable(choices):
        return [(str(a), str(b)) for a, b in choices()]
    return [(str(i), f"{i}. {getattr(s, 'title', s)}") for i, s in enumerate(getattr(steps, "STEPS", ()), 1)]


def tips_html(link: TeacherLink, title: str, blurb: str) -> str:
    """Return a one-page printable HTML sheet for a link: what the view shows, questions, the URL parameters."""
    url = link.url()
    svg = qr_svg(url, scale=4, sized=False).decode("utf-8").split("?>", 1)[-1]
    params = link.params()
    used = [PARAMS_EXPLAINED[k] for k in PARAMS_EXPLAINED if k in params]
    values = [f"{k}={v}" for k, v in params.items() if k not in PARAMS_EXPLAINED]
    if values:
        used.insert(0, "the control values " + ", ".join(values) + " (the page opens with these numbers)")
    li = "".join(f"<li>{html.escape(x)}</li>" for x in used) or "<li>none: the page's defaults</li>"
    qs = "".join(f"<li>{html.escape(q)}</li>" for q in QUESTIONS.get(link.page, ()))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Teacher tips: {html.escape(title)}</title>
<style>@page {{ size: A4; margin: 16mm; }} body {{ font-family: Helvetica, Arial, sans-serif; color: #000;
background: #fff; max-width: 180mm; margin: auto; font-size: 11pt; line-height: 1.4; }}
h1 {{ font-size: 18pt; margin: 0 0 4pt; }} h2 {{ font-size: 12pt; margin: 12pt 0 4pt; }}
.top {{ display: flex; gap: 12pt; align-items: flex-start; }} .qr svg {{ width: 42mm; height: 42mm; }}
code {{ word-break: break-all; font-size: 9.5pt; }}</style></head><body>
<div class="top"><div><h1>Teacher tips: {html.escape(title)}</h1><p>{html.escape(blurb)}</p>
<p><b>Link:</b> <code>{html.escape(url)}</code></p></div><div class="qr">{svg}</div></div>
<h2>Questions to ask</h2><ol>{qs or "<li>What changes when you change one number?</li>"}</ol>
<h2>URL parameters in this link</h2><ul>{li}</ul>
<p>Print this page (Ctrl+P / ⌘P). The link reopens the same view on any device; learners can change
the numbers unless the controls are hidden.</p></body></html>"""
