"""The article's claims, on trial: one row per claim, a verdict computed from a measurement or cited."""

import streamlit as st

from resnext_viz import ui

ui.require_app()
ui.warm_training()

st.title("The article's claims, on trial")
st.markdown("The seed article this app answers says that higher cardinality brings feature diversity, an implicit "
            "regularisation effect, efficiency, scalability, localized gradients, reduced interference, stable "
            "training, less overfitting, better generalisation, robust representations, 96.9 % fewer "
            "parameters at similar accuracy, and that ResNeXt differs from ResNet only in the groups argument. "
            "Each claim gets a verdict: **computed** from a run on this server (with 95 % intervals over seeds), "
            "**checked** exactly here, or **cited** with its source.")
st.caption("Verdicts: *holds*, *holds with a caveat*, *not supported here* (the intervals overlap, or one seed "
           "gives none) and *contradicted*; a claim with no run yet shows *not measured yet*. Measured verdicts are "
           "about these small networks on 8×8 digits; they do not speak for ImageNet-scale models.")

st.subheader("Live check: does a step on one group touch the others?", anchor=False)
fields = [ui.Field("claims_group", "group", 0, 0, 7, label="group")]
with ui.controls(fields):
    group = ui.number(fields[0], label="Group g whose filters take one SGD step (block1's 3×3, C = 8)",
                      note_bound=False)
res = ui.interference_result(int(group))
ui.table([{"group": g, "max |Δ output| at block1.conv2": f"{d:.2e}" if d else "0",
           "changed": "yes" if d > 0 else "no, exactly 0"} for g, d in enumerate(res.group_change)])
moved = sum(c > 0 for c in res.logit_change)
st.markdown(f"One SGD step (learning rate 0.1) on group {group}'s filters only, on a fresh grouped network and "
            f"{ui.claims.CHECK_IMAGES} digits: the other {len(res.group_change) - 1} groups' outputs at that layer "
            f"changed by **{'exactly 0' if res.others_exactly_zero else 'more than 0'}**; group {group}'s by up to "
            f"{res.group_change[group]:.2e}. **{moved} of {len(res.logit_change)} logits changed** (largest "
            f"{max(res.logit_change):.2e})" + (": the next 1×1 convolution mixes every group, so the step reaches "
            "the whole output." if moved == len(res.logit_change) else "."))

st.subheader("Every claim", anchor=False)
st.caption(ui.runs_used())
ui.claim_rows(ui.measurements_now((res.others_exactly_zero, res.every_logit_moved)))
