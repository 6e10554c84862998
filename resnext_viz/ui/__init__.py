"""The only package that imports streamlit: URL state, shared widgets, cached loaders, export menu.

Pages stay thin by calling into here (`from resnext_viz import ui`; every name below is
re-exported). Rules kept here so every page follows them:
- every control lives under a session key and is mirrored in the URL (`st.query_params`);
- a value from a link that is not a number, out of range or inconsistent falls back to
  the default with a notice on the page;
- cached objects (st.cache_resource / st.cache_data) are shared by all sessions and never
  mutated.

Modules: state (URL state, routing, action requests), present (presentation mode, ?hide=, theme, CSS),
widgets (figures, tables, export, device picker, plain errors), conv, blocks, inside, lab, mechanics, train,
trained (a network trained here as the source of Group features and Gradients),
claims (each lesson family's controls and cached calls), lesson (the guided lesson's step, timeline, exercise
and downloads).
"""

from .state import *  # noqa: F401,F403
from .present import *  # noqa: F401,F403
from .widgets import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .blocks import *  # noqa: F401,F403
from .inside import *  # noqa: F401,F403
from .inside import _blocks_code, _image_model  # noqa: F401  (benchmarks and tests clear or count them)
from .lab import *  # noqa: F401,F403
from .mechanics import *  # noqa: F401,F403
from .lesson import *  # noqa: F401,F403
from .warm import *  # noqa: F401,F403

# The training lab's modules import torch (the runner, the small models): they load on the first use of one
# of their names (PEP 562), so a page that draws math first does not wait ~1.4 s for torch (bench_browser's
# cold start). `ui.claims` is the module itself (the claims page reads CHECK_IMAGES).
_LAZY = ("train", "claims", "trained")


def __getattr__(name: str):
    import importlib

    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    for sub in _LAZY:
        module = importlib.import_module(f"{__name__}.{sub}")
        if name in module.__all__:
            value = getattr(module, name)
            globals()[name] = value
            return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
