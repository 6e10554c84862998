"""The one lesson registry: every page's file, URL path, title, icon, section and blurb.

app.py routes from it, the Home page lists it, bench/ and the tests walk it. Adding a lesson
means adding a page file and one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lesson:
    """One page of the app."""

    file: str       # the page script, relative to the repository root
    url_path: str   # served at /<url_path> ('' for Home); the file's stem, so a first visit by link resolves
    title: str
    icon: str       # a Material Symbols name as Streamlit spells it
    section: str    # the navigation group ('' for Home)
    blurb: str      # one sentence for the Home page


def _lesson(name: str, title: str, icon: str, section: str, blurb: str) -> Lesson:
    return Lesson(f"pages/{name}.py", name, title, f":material/{icon}:", section, blurb)


HOME = Lesson("pages/home.py", "", "Home", ":material/home:", "", "What the app teaches and where each lesson is.")
LESSONS: tuple[Lesson, ...] = (
    _lesson("parameters", "Parameter math", "calculate", "Grouped convolution",
            "Pick channels, kernel and groups; watch the weight count, the shape of the weight tensor and the MACs "
            "change."),
    _lesson("connectivity", "Connectivity", "hub", "Grouped convolution",
            "See which input channels feed which outputs, group by group, and why a group shares nothing with the "
            "others."),
    _lesson("inside_conv", "Inside one grouped convolution", "play_circle", "Grouped convolution",
            "Step through a small grouped convolution: the whole layer, one output channel filling in, one value "
            "written out with its numbers and checked against PyTorch."),
    _lesson("stacked_layers", "Stacks and channel shuffle", "stacks", "Grouped convolution",
            "Stack grouped convolutions and ShuffleNet's channel shuffle: which inputs can reach which outputs, "
            "checked against autograd."),
    _lesson("separable", "Depthwise-separable", "layers", "Grouped convolution",
            "MobileNet's depthwise + 1×1 against a standard and a grouped convolution: parameters, MACs and the "
            "1/C_out + 1/k² ratio, checked against PyTorch."),
    _lesson("cardinality", "Cardinality", "call_split", "ResNeXt",
            "At the same number of weights, trade width per path for more paths: the ResNeXt paper's Table 2, "
            "solved live."),
    _lesson("three_forms", "Three equivalent forms", "join", "ResNeXt",
            "Summed branches, early concatenation and one grouped convolution: same weights, same outputs, "
            "different speed."),
    _lesson("block_builder", "Block builder", "construction", "ResNeXt",
            "Build a ResNeXt bottleneck, check each layer against PyTorch, time it on your CPU or GPU, copy its code."),
    _lesson("resnet_vs_resnext", "ResNet vs ResNeXt", "compare", "ResNeXt",
            "ResNet-50 and ResNeXt-50 stage by stage, counted from the real models, and why split-transform-merge "
            "needs depth ≥ 3."),
    _lesson("group_features", "Group features", "grid_on", "Inside a trained network",
            "Run a picture through ResNeXt-50 and look inside a grouped convolution: what each group's channels "
            "respond to, and how alike they are."),
    _lesson("gradients", "Gradients", "trending_down", "Inside a trained network",
            "Backpropagate one number to a grouped layer: which exact zeros a dense layer has too, which only "
            "grouping gives (on other groups' inputs), and why a class score still reaches every group."),
    _lesson("performance_lab", "Performance lab", "speed", "Speed",
            "Time grouped convolutions on your own machine and find out that fewer FLOPs is not always less time."),
    _lesson("train", "Train it yourself", "model_training", "Claims on trial",
            "Train dense and grouped networks here, several seeds each, and watch accuracy, loss and the "
            "generalisation gap with their spread."),
    _lesson("claims", "The article's claims, on trial", "gavel", "Claims on trial",
            "Every claim of the article this app answers, with a verdict computed from a run here, checked "
            "exactly, or cited, and a link to the view that shows it."),
    _lesson("teacher", "Teacher's link builder", "qr_code_2", "For teachers",
            "Build a short link to one view (preset, hidden controls, presentation mode, theme), its QR code and a "
            "printable tips sheet."),
)
# The guided lesson: first on Home, alone in its navigation section.
LESSONS = (_lesson("lesson", "Lesson", "school", "Guided lesson",
                   "A 60–90 minute path through the app, step by step: each opens a page in the right state, asks you "
                   "to predict a number, then checks it; with a printable worksheet and its answer key."),
           *LESSONS)
CONV_LESSONS = ("parameters", "connectivity", "separable")  # the pages a sidebar preset sets (a preset elsewhere opens the first)


def sections() -> dict[str, list[Lesson]]:
    """Return the lessons by navigation section, in order, Home first under ''."""
    out: dict[str, list[Lesson]] = {"": [HOME]}
    for lesson in LESSONS:
        out.setdefault(lesson.section, []).append(lesson)
    return out


def by_path(url_path: str) -> Lesson:
    """Return the lesson served at /<url_path>; KeyError if there is none."""
    for lesson in (HOME, *LESSONS):
        if lesson.url_path == url_path:
            return lesson
    raise KeyError(url_path)
