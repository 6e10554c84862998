"""The worksheet of one seed as a printable PDF, its separate answer key, and a learner's answers as CSV.

The PDFs are made with fpdf2 and its built-in Helvetica, which covers Latin-1 only: the few
symbols outside it (→, −, ⌊ ⌋, …) are written out in ASCII, so a printed sheet reads the same
as the page. Nothing is stored: every file is built on request from the seed (and, for the
CSV, from the answers this session holds).
"""

from __future__ import annotations

import csv
import io
import re

from resnext_viz.lesson import exercises as ex
from resnext_viz.lesson.steps import STEPS

_ASCII = {"→": "->", "−": "-", "–": "-", "—": "-", "⌊": "floor(", "⌋": ")", "≈": "~", "…": "...", "“": '"',
          "”": '"', "‘": "'", "’": "'", "≥": ">=", "≤": "<=", "∝": "~", "\u202f": " ", "\u2009": " "}
CSV_COLUMNS = ("seed", "step", "title", "kind", "question", "your answer", "result", "attempts", "expected")


def pdf_text(text: str) -> str:
    """Return text the PDF's Latin-1 font can draw: markdown stars dropped, other symbols in ASCII."""
    text = text.replace("**", "").replace("*", "")
    for a, b in _ASCII.items():
        text = text.replace(a, b)
    return text.encode("latin-1", errors="replace").decode("latin-1")


def _pdf(title: str, intro: str, blocks: list[tuple[str, list[str]]]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_title(pdf_text(title))
    pdf.set_creator("resnext-viz")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 9, pdf_text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(0, 5, pdf_text(intro), new_x="LMARGIN", new_y="NEXT")
    for heading, lines in blocks:
        pdf.ln(4)
        if pdf.will_page_break(40):  # never a question's heading alone at the foot of a page
            pdf.add_page()
        pdf.set_font("Helvetica", "B", 11)
        pdf.multi_cell(0, 6, pdf_text(heading), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10.5)
        for line in lines:
            pdf.multi_cell(0, 5.5, pdf_text(line), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _heading(number: int, step_no: int, q: ex.Question) -> str:
    return f"Question {number} (step {step_no}: {STEPS[step_no - 1].title})"


def worksheet_pdf(seed: int) -> bytes:
    """Return the PDF of the seed's questions, one per exercise of the lesson, with room to answer."""
    qs = ex.questions(seed)
    intro = (f"Seed {seed}: {len(qs)} questions. Predict each answer before you open the step in the app. To check "
             f"your sheet, open the Lesson page with seed {seed} (the link ends in ?seed={seed}) and type your "
             "answers there.")
    blocks = [(_heading(i, s, q), [q.prompt, f"Type: {q.form}.", "Your answer: ______________________________"])
              for i, (s, q) in enumerate(qs, 1)]
    return _pdf(f"Grouped convolutions and ResNeXt: worksheet (seed {seed})", intro, blocks)


def key_answer(q: ex.Question) -> str:
    """Return the answer-key line of a question."""
    if q.expected is None:
        return ("Answer: measured on the machine running the app when the question is answered; this key cannot "
                "know it. (On the project's H100 reference, 128 -> 128, 56 x 56, batch 64, float32, G = 32 "
                "took 0.198 ms against 0.202 ms for G = 1.)")
    return f"Answer: {ex.answer_text(q)}"


def answer_key_pdf(seed: int) -> bytes:
    """Return the PDF of the seed's answers, each with its worked solution."""
    qs = ex.questions(seed)
    blocks = [(_heading(i, s, q), [q.prompt, key_answer(q)] + ([f"Worked: {q.worked}."] if q.worked else []))
              for i, (s, q) in enumerate(qs, 1)]
    return _pdf(f"Answer key (seed {seed})", f"The answers to the {len(qs)} questions of worksheet seed {seed}, "
                "computed by the same functions that draw the app's figures.", blocks)


def answers_csv(seed: int, records: list[dict]) -> str:
    """Return a learner's answers as CSV (one row per question answered) and a last row with the score.

    A record has the keys step, answer, result ('right' or 'wrong') and attempts; the other
    columns come from the seed's questions.
    """
    by_step = dict(ex.questions(seed))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for r in records:
        q = by_step[r["step"]]
        w.writerow((seed, r["step"], STEPS[r["step"] - 1].title, q.kind, _plain(q.prompt), r["answer"], r["result"],
                    r["attempts"], ex.answer_text(q)))
    right = sum(r["result"] == "right" for r in records)
    w.writerow((seed, "score", f"{right} of {len(by_step)} right", "", "", "", "", "", ""))
    return buf.getvalue()


def _plain(text: str) -> str:
    return re.sub(r"\*+", "", text)
