"""Cardinality: more, thinner paths at the same budget of weights (the ResNeXt paper's Table 2)."""

import streamlit as st

from resnext_viz.blocks import cardinality as card
from resnext_viz.blocks import figures as fb
from resnext_viz import ui

ui.require_app()

st.title("Cardinality")
st.markdown("A ResNeXt block is C parallel paths of width d. The paper's question: at the *same* number of "
            "weights, is it better to have more, thinner paths? Pick a budget and see the d each C can afford.")

CARDS = (1, 2, 4, 8, 16, 32, 64, 128)
FIELDS = [
    ui.Field("card_mode", "mode", "preserved", label="view", options=("preserved", "fixed")),
    ui.Field("card_budget", "budget", card.RESNET50_TEMPLATE_PARAMS, *card.BOUNDS["budget"], label="budget"),
    ui.Field("card_cs", "cardinalities", [1, 2, 4, 8, 16, 32, 64], label="cardinalities", options=CARDS),
    ui.Field("card_width", "width", 128, *card.BOUNDS["width"], label="width C·d"),
    ui.Field("card_io", "channels", 256, *card.BOUNDS["channels"], label="block input/output channels"),
    ui.Field("card_hw", "hw", 56, *card.BOUNDS["hw"], label="feature-map size"),
]
f = {x.key: x for x in FIELDS}
ui.show_notices(ui.seed(FIELDS))

mode = st.segmented_control(
    "View", ["preserved", "fixed"], persist_state="session", key="card_mode", required=True,
    format_func={"preserved": "Same weights, more paths (Table 2)", "fixed": "Same width, more groups"}.get)
c1, c2, c3 = st.columns([2, 1, 1])
with c1:
    if mode == "preserved":
        budget = st.number_input("Budget: weights in the block", f["card_budget"].lo, f["card_budget"].hi, step=1_000,
                                 persist_state="session", key="card_budget",
                                 help="69,632 = the ResNet-50 bottleneck 256→64→3×3 64→256 (C = 1, d = 64).")
        cs = st.multiselect("Cardinalities C", CARDS, persist_state="session", key="card_cs")
    else:
        width = ui.number(f["card_width"], label="Width C·d of the grouped 3×3")
with c2:
    io = ui.number(f["card_io"], label="Block in/out channels")
with c3:
    hw = ui.number(f["card_hw"], label="Feature map H = W")
ui.sync_url(FIELDS)

try:
    if mode == "preserved":
        fits, misfits = card.cardinalities_that_fit(budget, tuple(sorted(cs)), io, io)
        if misfits and not fits:
            raise ValueError(" ".join(misfits))
        for reason in misfits:  # named one by one; the others are still shown
            st.error(reason, icon=":material/block:")
        rows = ui.preserved_complexity(budget, fits, io, hw)
    else:
        rows = ui.fixed_width(width, io, hw)
except ValueError as e:
    st.error(str(e), icon=":material/block:")
    st.stop()

if mode == "preserved":
    st.markdown(f"Each path is 1×1 ({io}→d) → 3×3 (d→d) → 1×1 (d→{io}), so C paths hold "
                f"**C·({io}·d + 9·d² + d·{io})** weights (the paper's eq. 4). For each C the solver picks the whole "
                f"number d that lands closest to {budget:,}.")
    cited = {(r.C, r.d): r.top1_error for r in card.TABLE3_TOP1_ERROR if r.model in ("ResNet-50", "ResNeXt-50")}
    table = [{"C": r.C, "d": r.d, "width C·d": r.width, "weights": r.params, "vs budget": f"{r.rel_diff:+.1%}",
              f"GMACs at {hw}×{hw}": round(r.macs / 1e9, 4),
              "top-1 error % (paper, cited)": cited.get((r.C, r.d)) if io == 256 else None} for r in rows]
    ui.table(table)
    st.caption("Top-1 errors are the published ImageNet results of ResNeXt-50 with each setting — "
               f"{card.TABLE3_SOURCE} They are cited, not computed here: this page only counts weights.")
    with ui.main_figure():  # presentation mode draws it under the title
        ui.figure(lambda: fb.cardinality_chart(rows, budget), "cardinality_preserved", "card_chart",
                  cache_key=(tuple(rows), budget))
    st.info(card.preserved_claim(rows), icon=":material/lightbulb:")
else:
    st.markdown(f"Here the width C·d = {width} is held fixed and only the split changes. The two 1×1 convolutions "
                "do not depend on C; the grouped 3×3 has 9·(C·d)²/C weights, so it shrinks as 1/C.")
    table = [{"C": r.C, "d": r.d, "weights in the block": r.params, "of which the 3×3": r.grouped_params,
              f"GMACs at {hw}×{hw}": round(r.macs / 1e9, 4)} for r in rows]
    ui.table(table)
    with ui.main_figure():  # presentation mode draws it under the title
        ui.figure(lambda: fb.fixed_width_chart(rows), "cardinality_fixed_width", "card_chart", cache_key=tuple(rows))
    st.info("**Which claim is this?** \"Grouped convolutions reduce parameters\" describes *this* view: at a fixed "
            "width, more groups mean fewer weights. ResNeXt's own experiments use the other view, spending the "
            "saving on width.", icon=":material/lightbulb:")
