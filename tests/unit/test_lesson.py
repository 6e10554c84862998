"""The guided lesson, pure: the steps as data, every exercise kind's generator and checker, the worksheet PDF."""

from __future__ import annotations

import csv
import io
import re

import pytest

from resnext_viz import lessons
from resnext_viz.blocks import cardinality as card
from resnext_viz.conv import arithmetic as cm
from resnext_viz.conv import connectivity as cx
from resnext_viz.conv import separable as sep
from resnext_viz.conv import stacks
from resnext_viz.conv import stepthrough as sv
from resnext_viz.lesson import exercises as ex
from resnext_viz.lesson import mech_kinds as mk
from resnext_viz.lesson import steps as ls
from resnext_viz.lesson import worksheet as ws

SEEDS = range(150)


# ---------------------------------------------------------------- steps


def test_steps_are_data_for_pages_that_exist():
    assert 10 <= ls.count() <= 20
    assert len({s.id for s in ls.STEPS}) == ls.count()
    paths = {x.url_path for x in lessons.LESSONS}
    for s in ls.STEPS:
        assert s.page in paths and s.page != "lesson", s
        assert ls.page_problem(s) is None
        assert s.exercise is None or s.exercise in ex.KINDS, s
        sentences = [x for x in re.split(r"(?<=[.!?])\s+(?=[A-Z*(])", s.text) if x]
        assert 2 <= len(sentences) <= 3, (s.id, sentences)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in s.state.items())
    assert sum(1 for s in ls.STEPS if s.exercise) >= 9


def test_the_lesson_is_registered_and_first():
    assert lessons.LESSONS[0].url_path == "lesson" and lessons.LESSONS[0].title == "Lesson"
    assert lessons.by_path("lesson").file == "pages/lesson.py"


@pytest.mark.parametrize("raw, expected, complains", [
    (None, 1, False), ("", 1, False), ("6", 6, False), (" 14 ", 14, False), ("0", 1, True), ("99", 1, True),
    ("-3", 1, True), ("six", 1, True), ("6.5", 1, True)])
def test_parse_step(raw, expected, complains):
    n, why = ls.parse_step(raw)
    assert n == expected and (why is not None) == complains
    if complains:
        assert f"1–{ls.count()}" in why


def test_a_missing_page_is_named():
    bad = ls.Step("x", "Gone", "no_such_page", "One. Two.")
    assert "no_such_page" in ls.page_problem(bad)


def test_page_url_carries_the_state():
    s = next(s for s in ls.STEPS if s.id == "valid_groups")
    assert ls.page_url(s).startswith("parameters?") and "c_in=96" in ls.page_url(s) and "c_out=144" in ls.page_url(s)


def _step(step_id: str) -> ls.Step:
    return next(s for s in ls.STEPS if s.id == step_id)


def _conv(step_id: str) -> cm.ConvSpec:
    st = _step(step_id).state
    get = lambda k, d: int(st.get(k, d))  # noqa: E731
    return cm.ConvSpec(c_in=get("c_in", 64), c_out=get("c_out", 128), kh=get("kh", 3), kw=get("kh", 3),
                       groups=get("groups", 32), h=get("h", 56), w=get("w", 56), stride=get("stride", 1),
                       padding=get("padding", 0))


def test_the_numbers_in_the_step_texts_are_the_functions_numbers():
    """Every number a step's text states, recomputed from the state the step opens."""
    assert cm.fmt_int(cm.weight_count(_conv("dense"))) in _step("dense").text
    grouped = _conv("grouped")
    assert f"{cm.fmt_int(cm.dense_weight_count(grouped))} / 32 = {cm.fmt_int(cm.weight_count(grouped))}" \
        in _step("grouped").text
    assert cm.fmt_pct(cm.report(grouped).weight_reduction) in _step("grouped").text
    assert "gcd(96, 144) = 48" in _step("valid_groups").text and cm.valid_groups(96, 144)[-1] == 48
    assert cx.output_range(32, 4, 1) == (8, 16) and cx.input_range(16, 4, 1) == (4, 8)
    wt = _conv("weight_tensor")
    assert cx.edge_count(16, 32, 1) == 512 and cx.edge_count(16, 32, 4) == 128
    assert str(cm.weight_shape(wt)) in _step("weight_tensor").text
    shape = _conv("output_shape")
    assert str(cm.output_shape(shape)) in _step("output_shape").text
    assert cm.fmt_int(cm.macs(shape)) in _step("output_shape").text
    assert cm.macs(shape) // (128 * 28 * 28) == 18
    dw = _conv("depthwise")
    assert cm.weight_count(dw) == 576 and cm.macs(dw) * 64 == cm.macs(dw.with_(groups=1))
    rows = card.solve_preserved_complexity(69_632, (1, 2, 4, 8, 32))
    assert [(r.C, r.d) for r in rows] == [(1, 64), (2, 40), (4, 24), (8, 14), (32, 4)]
    assert all(abs(r.rel_diff) < 0.03 for r in rows) and rows[0].width == 64 and rows[-1].width == 128
    assert card.template_params(32, 4) - 9 * 4 * 4 * 32 == 2 * 256 * 128 == 65_536  # the 1x1s at width 128
    assert cm.fmt_int(65_536) in _step("fixed_width").text
    assert 128 // 32 * 3 * 3 == 36 and "4·9 = 36" in _step("gradients").text  # layer1.0.conv2: 128 in, G = 32


def _inside_spec(step_id: str) -> tuple[sv.StepSpec, int, int, int]:
    st = _step(step_id).state
    spec = sv.StepSpec(**{k: int(st[f"sc_{k}"]) for k in ("c_in", "c_out", "groups", "h", "w", "k", "stride",
                                                              "padding", "seed")})
    assert st["sc_dense"] == "0"
    return spec, int(st["sc_o"]), int(st["sc_i"]), int(st["sc_j"])


def test_the_inside_conv_step_states_the_stepthroughs_numbers_and_pytorchs():
    from resnext_viz.conv import mech_torch

    s, o, i, j = _inside_spec("inside_conv")
    text = _step("inside_conv").text
    one = sv.step(s, sv.tensors(s), o, i, j)
    assert f"{s.c_in} → {s.c_out} channels, G = {s.groups}, a {s.k}×{s.k} kernel on a {s.h} × {s.w} input" in text
    assert f"Output channel {o} is in group {one.group}" in text
    assert f"w[{o}] of shape ({s.per_in}, {s.k}, {s.k}) reads input channels {one.channels[0]} and " \
           f"{one.channels[1]} only" in text and len(one.channels) == 2
    assert f"y[{o}, {i}, {j}] out as its {s.per_in}·{s.k}·{s.k} = {one.products.size} products" in text
    sums = " + ".join(f"{v:g}" for v in one.channel_sums)
    assert f"{sums} − {-one.bias:g} = {one.value:g}" in text and one.bias < 0
    torch_y = mech_torch.conv2d(s, sv.tensors(s))            # F.conv2d on the same tensors
    assert torch_y[o, i, j] == one.value and f"the same {one.value:g} from F.conv2d" in text
    assert f"all {torch_y.size} output values" in text and (torch_y == sv.output(s, sv.tensors(s))).all()


def test_the_separable_step_states_the_pages_counts():
    spec = _conv("separable").with_(padding=int(_step("separable").state["padding"]))
    d, text, n = sep.designs(spec), _step("separable").text, cm.fmt_int
    assert f"the depthwise 3×3 holds 3·3·64 = {n(d.depthwise.params)} weights" in text
    assert f"64·128 = {n(d.pointwise.params)}, together {n(d.separable_params)}" in text
    assert f"the standard layer's {n(d.standard.params)}" in text
    assert f"= {d.ratio.numerator}/{d.ratio.denominator} ≈ {float(d.ratio):.4f}" in text
    from fractions import Fraction
    assert Fraction(d.separable_params, d.standard.params) == d.ratio == Fraction(d.separable_macs, d.standard.macs)
    assert f"{n(d.standard.params)} / {spec.groups} = {n(d.grouped.params)}" in text
    assert f"each read {spec.c_in // spec.groups} channels" in text


def test_the_stacks_step_states_reachability_and_autograd_agrees():
    from resnext_viz.conv import mech_torch

    st = _step("stacks").state
    c, layers = int(st["stk_c"]), [x.strip() for x in st["stk_layers"].split(",")]
    text = _step("stacks").text
    assert layers == ["g4", "shuffle4", "g4"] and f"width c = {c}" in text
    apart = stacks.reachability(c, ["g4", "g4"]).sum(axis=1)
    assert set(apart.tolist()) == {4} and f"reached by only 4 of the {c} input channels" in text
    r = stacks.reachability(c, layers)
    assert r.all() and f"influenced by all {c}" in text
    jac = mech_torch.jacobian_pattern(c, layers)
    assert (jac == r).all() and f"{int(jac.sum())} of {c * c} entries nonzero" in text


# ---------------------------------------------------------------- exercises


def _perturb(q: ex.Question) -> str:
    e = q.expected
    if isinstance(e, str):
        return {"yes": "no", "no": "yes"}[e]
    if isinstance(e, set):
        if q.kind == "feeds":
            return ", ".join(map(str, sorted(e | {max(e) + 1}) if max(e) + 1 < q.params["c_in"] else sorted(e)[1:]))
        return ", ".join(map(str, sorted(e)[:-1] or [2]))
    if isinstance(e, tuple):
        return ", ".join(map(str, (*e[:-1], e[-1] + 1)))
    return str(e + 1)


KINDS = [k for k, kind in ex.KINDS.items() if kind.solve is not None]


@pytest.mark.parametrize("kind", KINDS)
def test_checker_accepts_the_worked_answer_and_rejects_a_perturbed_one(kind):
    for seed in SEEDS:
        q = ex.question(seed, "s", kind)
        right = ex.check(q, ex.answer_text(q))
        assert right.status == "right", (seed, q.prompt, ex.answer_text(q), right.message)
        assert right.worked and right.worked == q.worked
        wrong = ex.check(q, _perturb(q))
        assert wrong.status == "wrong", (seed, q.prompt, _perturb(q))
        assert wrong.worked == q.worked  # shown after a second wrong try


@pytest.mark.parametrize("kind", list(ex.KINDS))
def test_same_seed_same_question_and_seeds_differ(kind):
    assert ex.question(7, "s", kind) == ex.question(7, "s", kind)
    assert len({ex.question(seed, "s", kind).prompt for seed in SEEDS}) > 3
    assert ex.KINDS[kind].hint and ex.KINDS[kind].form


def test_questions_of_a_seed_follow_the_steps():
    qs = ex.questions(123)
    assert [n for n, _ in qs] == [i for i, s in enumerate(ls.STEPS, 1) if s.exercise]
    assert qs == ex.questions(123) and qs != ex.questions(124)


def test_a_step_keeps_its_question_when_other_steps_move():
    s = _step("table2")
    assert ex.question(5, s.id, s.exercise) == dict(ex.questions(5))[ls.STEPS.index(s) + 1]


def test_answers_are_solved_by_the_figure_functions():
    q = ex.question(3, "x", "feeds")
    row = cx.dense_mask(q.params["c_in"], q.params["c_out"], q.params["groups"])[q.params["o"]]
    assert q.expected == {i for i, on in enumerate(row) if on}
    g = q.params["o"] // (q.params["c_out"] // q.params["groups"])
    assert q.expected == set(range(*cx.input_range(q.params["c_in"], q.params["groups"], g)))
    q = ex.question(3, "x", "valid_groups")
    assert all(q.params["c_in"] % g == 0 and q.params["c_out"] % g == 0 for g in q.expected)


@pytest.mark.parametrize("kind, text", [("weights", "about a thousand"), ("weights", "2.5"), ("feeds", "7-3"),
                                        ("output_shape", ""), ("speed", "maybe"), ("valid_groups", "all of them")])
def test_unreadable_answers_say_why_and_do_not_count(kind, text):
    q = ex.question(1, "s", kind)
    v = ex.check(q, text, measure=lambda p: pytest.fail("an unreadable answer must not be measured"))
    assert v.status == "unreadable" and v.message.startswith("Could not read that")


def test_answers_are_read_as_learners_type_them():
    q = ex.question(11, "s", "weights")
    for typed in (str(q.expected), f"{q.expected:,}", f"{q.expected:,}".replace(",", " "), f" {q.expected} "):
        assert ex.check(q, typed).right
    assert ex.read_channels("4–7") == ex.read_channels("4..7") == ex.read_channels("4, 5, 6, 7") == {4, 5, 6, 7}
    assert ex.read_ints("(1, 128, 28, 28)") == [1, 128, 28, 28]


def _m(dense_ms: float, grouped_ms: float, spread: float = 0.02) -> ex.SpeedMeasurement:
    d, g = dense_ms / 1e3, grouped_ms / 1e3
    return ex.SpeedMeasurement(d, d * (1 - spread), d * (1 + spread), g, g * (1 - spread), g * (1 + spread), "test")


def test_speed_is_answered_by_the_measurement_not_a_constant():
    q = ex.question(1, "speed", "speed")
    assert q.expected is None and q.worked == ""
    slower = lambda p: _m(1.0, 2.0)  # noqa: E731
    faster = lambda p: _m(2.0, 1.0)  # noqa: E731
    assert ex.check(q, "no", slower).right and not ex.check(q, "yes", slower).right
    assert ex.check(q, "yes", faster).right and not ex.check(q, "no", faster).right
    assert "G = 1 1 ms, G = 32 2 ms" in ex.check(q, "no", slower).worked
    tie = lambda p: _m(1.0, 1.01, spread=0.05)  # noqa: E731
    assert ex.check(q, "yes", tie).right and ex.check(q, "no", tie).right
    assert "within noise" in ex.check(q, "yes", tie).worked
    assert ex.check(q, "yes", lambda p: None).status == "unreadable"


def test_speed_measures_with_the_lab_sweep():
    m = ex.measure_speed({"channels": 64, "size": 28}, budget_s=1.0)
    assert m is not None and m.dense_s > 0 and m.grouped_s > 0
    assert m.dense_q1_s <= m.dense_s <= m.dense_q3_s and m.grouped_q1_s <= m.grouped_s <= m.grouped_q3_s
    assert m.accepted() <= {"yes", "no"} and m.accepted()


# ---------------------------------------------------------------- worksheet and answers


def _pages_text(data: bytes) -> str:
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(p.extract_text() for p in reader.pages)


@pytest.mark.parametrize("seed", [0, 123, 98765])
def test_worksheet_and_key_parse_and_agree_with_the_checkers(seed):
    qs = ex.questions(seed)
    sheet, key = _pages_text(ws.worksheet_pdf(seed)), _pages_text(ws.answer_key_pdf(seed))
    for text in (sheet, key):
        assert re.findall(r"Question (\d+) \(step", text) == [str(i) for i in range(1, len(qs) + 1)]
        assert f"seed {seed}" in text
    assert "Answer:" not in sheet and sheet.count("Your answer:") == len(qs)
    answers = re.findall(r"Answer: ([^\n]*)", key)
    assert len(answers) == len(qs)
    for (_, q), line in zip(qs, answers):
        if q.expected is None:
            assert line.startswith("measured")
            continue
        verdict = ex.check(q, line.replace("-", "–") if q.kind == "feeds" else line)
        assert verdict.right, (q.prompt, line)
        if isinstance(q.expected, str):
            assert line == q.expected
            continue
        numbers = [int(x) for x in re.findall(r"\d+", line.replace(",", ""))]
        exp = q.expected
        expected = sorted(exp) if isinstance(exp, set) else list(exp) if isinstance(exp, tuple) else [exp]
        if q.kind == "feeds":
            expected = [min(exp), max(exp)]
        assert numbers == expected


def test_pdf_text_is_latin1():
    assert ws.pdf_text("⌊(56 + 2·1 − 3) / 2⌋ → **28**") == "floor((56 + 2·1 - 3) / 2) -> 28"


def test_answers_csv_has_the_answers_and_the_score():
    qs = ex.questions(42)
    (s1, q1), (s2, q2) = qs[0], qs[1]
    records = [dict(step=s1, answer=ex.answer_text(q1), result="right", attempts=1),
               dict(step=s2, answer="1", result="wrong", attempts=2)]
    rows = list(csv.reader(io.StringIO(ws.answers_csv(42, records))))
    assert rows[0] == list(ws.CSV_COLUMNS)
    assert rows[1][1] == str(s1) and rows[1][6] == "right" and rows[1][8] == ex.answer_text(q1)
    assert rows[2][6] == "wrong" and rows[2][7] == "2"
    assert rows[-1][1:3] == ["score", f"1 of {len(qs)} right"]


# ---------------------------------------------------------------- the mechanics pages' kinds


def test_reachability_is_solved_by_the_stack_and_the_walk_back_agrees():
    answers = set()
    for seed in SEEDS:
        q = ex.question(seed, "stacks", "reachability")
        c, layers, o, i = q.params["c"], q.params["layers"], q.params["o"], q.params["i"]
        stacks.parse_layers(c, layers)                         # codes the page accepts
        row = stacks.reachability(c, layers)[o]
        assert q.expected == ("yes" if row[i] else "no")
        walk = mk.walk_back(c, layers, o)
        assert walk[-1][1] == row.nonzero()[0].tolist()         # the worked answer's last set is row o
        assert f"are: {mk.runs(walk[0][1])} before layer {len(layers)} ({layers[-1]})" in q.worked
        assert f"Input {i} is {'among' if row[i] else 'not among'} those last ones, so {q.expected}" in q.worked
        assert ex.check(q, "Yes" if q.expected == "yes" else "N").right
        assert " → ".join(layers) in q.prompt and f"input channel {i} influence output channel {o}" in q.prompt
        answers.add(q.expected)
    assert answers == {"yes", "no"}
    assert ex.check(ex.question(1, "stacks", "reachability"), "perhaps").status == "unreadable"


def test_runs_writes_channel_runs():
    assert mk.runs([0, 1, 2, 3, 8, 9, 10, 11]) == "0–3, 8–11"
    assert mk.runs([0, 4, 8, 12]) == "0, 4, 8, 12" and mk.runs([2, 3]) == "2, 3" and mk.runs(range(16)) == "0–15"


def test_dot_terms_is_the_stepthroughs_count_and_the_formula():
    for seed in SEEDS:
        q = ex.question(seed, "inside_conv", "dot_terms")
        p = q.params
        s = sv.StepSpec(**{k: p[k] for k in ("c_in", "c_out", "groups", "h", "w", "k", "stride", "padding", "seed")})
        sv.validate(s)                                          # a layer the page can show
        one = sv.step(s, sv.tensors(s), p["o"], p["i"], p["j"])
        assert q.expected == one.products.size == (p["c_in"] // p["groups"]) * p["k"] ** 2
        assert len(sv.written_out(one)[0].split(" + ")) == p["k"] ** 2  # one channel's line: k·k products


def test_separable_weights_is_the_pages_count():
    for seed in SEEDS:
        q = ex.question(seed, "separable", "separable_weights")
        p = q.params
        assert q.expected == p["k"] ** 2 * p["c_in"] + p["c_in"] * p["c_out"]
        d = sep.designs(cm.ConvSpec(c_in=p["c_in"], c_out=p["c_out"], kh=p["k"], kw=p["k"], groups=1))
        assert q.expected == d.separable_params and f"{float(d.ratio):.4f}" in q.worked


def test_every_kind_is_on_the_worksheet():
    asked = {s.exercise for s in ls.STEPS if s.exercise}
    assert {"dot_terms", "separable_weights", "reachability"} <= asked
    sheet, key = (_pages_text(f(4)).replace("\n", " ") for f in (ws.worksheet_pdf, ws.answer_key_pdf))
    for _, q in ex.questions(4):
        if q.kind in ("dot_terms", "separable_weights", "reachability"):
            assert ws.pdf_text(q.prompt)[:60] in sheet and ws.pdf_text(q.prompt)[:60] in key
            assert f"Answer: {ex.answer_text(q)}" in key


# ---------------------------------------------------------------- the training lab and the claims


def test_train_step_numbers_are_the_models_own():
    from resnext_viz.train import models as M
    from resnext_viz.train import runner as R

    s = _step("train")
    dense, grouped, thin = M.variants(1, 10)  # the digits: 1 channel, 10 classes
    counts = [M.param_count(v, 1, 10) for v in (dense, grouped, thin)]
    assert (dense.C, dense.d, grouped.C, grouped.d, thin.C, thin.d) == (1, 16, 8, 4, 8, 2)
    for v, c in zip((dense, grouped, thin), counts):
        assert f"(C = {v.C}, d = {v.d}" in s.text and f"{c:,}" in s.text
    assert f"{(counts[0] - counts[1]) / counts[0]:.1%} fewer" in s.text
    exp = R.PRESETS["default"]
    assert s.state == {"preset": "default", "dataset": "digits", "epochs": str(exp.epochs),
                       "seeds": str(len(exp.seeds))}
    assert f"from {len(exp.seeds)} seeds for {exp.epochs} epochs" in s.text


def test_matched_d_kind_agrees_with_the_labs_solver_on_the_whole_network():
    from resnext_viz.train import models as M

    seen = set()
    for seed in SEEDS:
        q = ex.question(seed, "train", "train_matched_d")
        p = q.params
        assert p["budget"] == card.template_params(1, p["d0"], M.STEM, M.STEM)
        if p["d0"] == M.DENSE_D:  # the lab's own dense block: matched_d checks the real network, BN and head included
            dense = M.Variant("dense", 1, M.DENSE_D, "")
            assert q.expected == M.matched_d(p["C"], M.param_count(dense))
            seen.add(p["C"])
        near = [abs(card.template_params(p["C"], d, M.STEM, M.STEM) - p["budget"]) for d in (q.expected - 1,
                                                                                             q.expected + 1)]
        best = abs(card.template_params(p["C"], q.expected, M.STEM, M.STEM) - p["budget"])
        assert all(best <= x for x in near), q.worked
    assert seen == {2, 4, 8, 16}
    q8 = ex.question(0, "train", "train_matched_d")
    assert ex.check(q8, str(q8.expected)).right and not ex.check(q8, str(q8.expected + 1)).right


def test_claims_step_says_what_the_page_computes():
    from resnext_viz.train import claims as C
    from resnext_viz.train import models as M
    from resnext_viz.train import probes as P
    from resnext_viz.train import runner as R
    import torch

    s = _step("claims")
    assert s is ls.STEPS[-1] and s.state == {"group": "0"}
    assert "twelve claims" in s.text and len(C.CLAIMS) == 12
    for source in ("sec. 5.1", "Tables 3", "Deep Roots", "G2", "timm"):
        assert source in C.RESNEXT_51 + C.RESNEXT_T3 + C.DEEP_ROOTS + C.SHUFFLE_G2 + C.TIMM and source in s.text
    assert C.NOT_SUPPORTED in s.text and "not measured yet" in s.text
    ds = R.load_dataset("digits")
    net = M.build(M.variants()[1], 1, 10, 0)
    x, y = torch.from_numpy(ds.x_test[:64]), torch.from_numpy(ds.y_test[:64])  # the page's check (ui.claims)
    res = P.interference_check(net, x, y, 0)
    assert res.others_exactly_zero and res.every_logit_moved and len(res.group_change) - 1 == 7
    assert "other 7 groups" in s.text
