"""The house rules, checked: where streamlit may be imported, which modules stay torch-free, file sizes."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from resnext_viz import lessons

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "resnext_viz"
# Modules that must import without torch (the page controls, figures and text that need no tensors).
PURE = ("resnext_viz.conv.arithmetic", "resnext_viz.conv.connectivity", "resnext_viz.conv.figures",
        "resnext_viz.lab.cost", "resnext_viz.lab.result", "resnext_viz.lab.figures", "resnext_viz.lab.reference",
        "resnext_viz.blocks.config", "resnext_viz.blocks.cardinality", "resnext_viz.blocks.figures",
        "resnext_viz.lessons", "resnext_viz.palette", "resnext_viz.plotting", "resnext_viz.serve",
        "resnext_viz.conv.stacks", "resnext_viz.conv.stepthrough", "resnext_viz.conv.separable",
        "resnext_viz.conv.mech_figures",
        "resnext_viz.lesson.steps", "resnext_viz.lesson.exercises", "resnext_viz.lesson.reading",
        "resnext_viz.lesson.worksheet", "resnext_viz.lesson.mech_kinds", "resnext_viz.lesson.kind",
        "resnext_viz.train.data", "resnext_viz.train.claims", "resnext_viz.train.figures",
        "resnext_viz.teaching", "resnext_viz.lesson.train_kinds", "resnext_viz.download")
PAGE_MAX_LINES = 120
MODULE_MAX_LINES = 450
UI_MODULE_MAX_LINES = 400


def _imported_roots(path: Path) -> set[str]:
    """Return the top-level names of every module a file imports (at any depth in the file)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_streamlit_only_in_ui_app_and_pages():
    offenders = [str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py")
                 if "streamlit" in _imported_roots(p) and (PACKAGE / "ui") not in p.parents]
    assert offenders == [], f"streamlit imported outside resnext_viz/ui/, app.py and pages/: {offenders}"


def test_the_check_itself_sees_a_streamlit_import(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text("def f():\n    import streamlit as st\n")
    assert "streamlit" in _imported_roots(sample)


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_import_without_torch(module):
    code = f"import sys, json; import {module}; print(json.dumps(sorted(m for m in sys.modules if m == 'torch' " \
           f"or m.startswith('torch.') or m == 'streamlit')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [], f"{module} pulls in torch or streamlit"


def test_page_files_stay_thin():
    long = {p.name: n for p in (ROOT / "pages").glob("*.py") if (n := len(p.read_text().splitlines())) > PAGE_MAX_LINES}
    assert long == {}, f"pages over {PAGE_MAX_LINES} lines: {long}"


def test_package_modules_stay_small():
    limits = {p: UI_MODULE_MAX_LINES if (PACKAGE / "ui") in p.parents else MODULE_MAX_LINES for p in PACKAGE.rglob("*.py")}
    long = {str(p.relative_to(ROOT)): n for p, hi in limits.items() if (n := len(p.read_text().splitlines())) > hi}
    assert long == {}, f"modules over their line limit ({MODULE_MAX_LINES}; ui/ {UI_MODULE_MAX_LINES}): {long}"


def test_every_page_file_is_registered_once():
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))
    registered = [lessons.HOME.file, *(x.file for x in lessons.LESSONS)]
    assert sorted(registered) == files
    assert len({x.url_path for x in lessons.LESSONS}) == len(lessons.LESSONS)
    assert all(x.url_path == Path(x.file).stem for x in lessons.LESSONS)  # a first visit by link resolves
