"""One exercise kind as data: how to draw, solve, ask, work out, hint at and read a question (pure)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Kind:
    """One exercise kind: its generator, solver, question, worked answer, hint and answer reader."""

    generate: Callable[[random.Random], dict]
    solve: Callable[[dict], Any] | None        # None: measured when answered
    ask: Callable[[dict], str]
    worked: Callable[[dict, Any], str]
    hint: str
    form: str
    read: Callable[[str], Any]
