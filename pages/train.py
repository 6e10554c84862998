"""Train it yourself: dense vs grouped networks trained here, several seeds, live curves with their spread."""

import streamlit as st

from resnext_viz import ui

ui.require_app()
ui.warm_training()

st.title("Train it yourself")
st.markdown("Claims about what grouping does to *training* can be tested. Here three small ResNeXt-style networks "
            "(the app's own bottleneck block, two blocks deep) learn the same data from several seeds: a dense one "
            "(C = 1), a grouped one with **the same number of parameters** within 2 % (C = 8, the solver picks d, as "
            "in the ResNeXt paper's Table 2) and a grouped one with **the same width** (fewer parameters, the seed "
            "article's view). Every curve is the mean over seeds, with the range shaded.")

f = {x.key: x for x in ui.TRAIN_FIELDS}
with ui.controls(ui.TRAIN_FIELDS):
    preset = st.segmented_control("Experiment", list(ui.PRESET_LABELS), persist_state="session", key="train_preset",
                                  required=True, format_func=ui.PRESET_LABELS.get, on_change=ui.apply_preset)
    c1, c2, c3 = st.columns([2, 1, 1])
    dataset = c1.selectbox("Data set", list(ui.DATASET_LABELS), persist_state="session", key="train_dataset",
                           format_func=ui.DATASET_LABELS.get)
    with c2:
        epochs = ui.number(f["train_epochs"], label="Epochs")
    with c3:
        seeds = ui.number(f["train_seeds"], label="Seeds per variant")

if dataset == "cifar10" and not ui.cifar_ready():
    st.stop()
try:
    exp = ui.train_experiment(preset, dataset, epochs, seeds)
except ValueError as e:
    st.error(f"{e}", icon=":material/block:")
    st.stop()

if preset == "memorise":
    st.markdown("**Memorisation probe.** The training labels are shuffled (the same shuffle per seed), so nothing "
                "about the images predicts them: a network can only *memorise*. A regulariser would slow that down, "
                "but so would less capacity, so slower memorisation alone does not show regularisation. "
                "Test accuracy should stay near chance (10 %).")
elif preset == "lr_sweep":
    st.markdown("**Stability probe.** The dense and the matched-parameter grouped network at four learning rates: "
                "where does training diverge, and how far apart do the seeds end up?")

st.subheader("The networks", anchor=False)
ui.table(ui.param_records(exp))
st.caption("Parameters are counted by PyTorch (`sum(p.numel())` over the real model): stem, both blocks with their "
           "batch norms, and the classifier. The matched-parameter grouped net is within 2 % of the dense one.")

st.subheader("Training", anchor=False)
ui.train_buttons(exp)
ui.train_live(exp)
st.caption("SGD with momentum 0.9, weight decay 5·10⁻⁴, batch 64, cosine learning-rate decay, one CPU thread; "
           "the weights, the batches and the noise come from private generators seeded per run, so the same "
           "configuration and seed always give the same curves.")
