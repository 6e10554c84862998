"""AppTest: the group-features and gradients pages, every odd upload, URL state, the shared picture."""

from __future__ import annotations

import json
import logging

import pytest

from resnext_viz.inside import summaries as fp
from resnext_viz import ui
from resnext_viz.inside import images
from resnext_viz.inside import gradients as gp
from resnext_viz.inside import weights
from tests.conftest import run_page
from tests.imagecases import ACCEPTED, big_jpeg, image_cases

FEAT = "pages/group_features.py"
GRAD = "pages/gradients.py"
CASES = image_cases()


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No test here may wait for a download: random weights, said so on the page."""
    monkeypatch.setenv(weights.OFFLINE_ENV, "1")
    monkeypatch.delenv(weights.WEIGHTS_ENV, raising=False)


def figures(at) -> list[dict]:
    """Return the layout.meta of every Plotly chart on the page, in order."""
    return [json.loads(c.proto.spec)["layout"].get("meta", {}) for c in at.get("plotly_chart")]


def kinds(at) -> list[str]:
    return [m.get("figure") for m in figures(at)]


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def text(at) -> str:
    return " ".join(x.value for x in (*at.markdown, *at.caption))


def qp(at, name: str) -> str:
    """Return one query parameter as a string (AppTest may hold a list)."""
    value = at.query_params[name]
    return value[-1] if isinstance(value, list) else value


def upload(at, case):
    at.file_uploader[0].set_value((case.filename, case.data, case.mime))
    return at.run()


def expected_input(name: str = "shapes"):
    """Return the network input the pages build for a sample, computed straight from the package."""
    spec = weights.WEIGHTS[ui.IMAGE_VARIANT]
    x, _ = images.preprocess(images.sample_images()[name], spec.resize, spec.crop)
    return x


@pytest.fixture(scope="module")
def model():
    """The model the offline pages use (seeded random weights, or the hub cache's file where there is one)."""
    return weights.load_model(ui.IMAGE_VARIANT, allow_download=False).model


@pytest.fixture(scope="module")
def features_page():
    """One features page shared by the upload cases (each case checks only what its own upload did)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(weights.OFFLINE_ENV, "1")
        at = run_page(FEAT)
    assert not at.exception
    return at


# ---------------------------------------------------------------- defaults


def test_features_page_defaults_to_a_sample_and_says_the_weights_are_random():
    at = run_page(FEAT)
    assert not at.exception and not at.error
    warning = " ".join(w.value for w in at.warning)
    assert "Random weights" in warning and "RESNEXT_VIZ_WEIGHTS" in warning and "Offline mode" in warning
    metas = figures(at)
    assert kinds(at) == ["feature_maps", "correlation"]  # the other figures' tabs are drawn only when opened
    assert qp(at, "view") == "Channel correlation"
    maps = metas[0]
    assert maps["groups"] == 32 and maps["shown"] == list(range(8)) and maps["per_group"] == 4
    assert maps["frame_colors"][2] == "#009E73"  # group 2's palette colour, as on every page
    assert at.selectbox(key="img_pick").value == "shapes"
    assert "What this sample teaches" in text(at)
    assert set(metrics(at)) == {"Mean |corr| inside a group", "Mean |corr| across groups", "Inside ÷ across",
                                "Random-init baseline", "Inputs shuffled first",
                                "Dense layer cut into fake groups"}  # issue 9: baselines always shown
    assert qp(at, "layer") == "layer1.0.conv2" and qp(at, "image") == "shapes"
    assert [b.proto.label for b in at.get("download_button") if "PNG" in b.proto.label and "maps" in
            b.proto.label] == ["Download these maps as one PNG"]


def test_feature_statistics_on_the_page_equal_the_package(model):
    at = run_page(FEAT, {"layer": "layer2.0.conv2", "view": "Top channel per group"})
    f = fp.layer_features(model, "layer2.0.conv2", expected_input())
    assert kinds(at) == ["feature_maps", "top_channels"]
    m = metrics(at)
    assert m["Mean |corr| inside a group"] == f"{f.within:.3f}" and m["Mean |corr| across groups"] == f"{f.across:.3f}"
    assert figures(at)[1]["channels"] == [int(c) for c in f.top_channel]


def test_gradients_page_defaults_show_bars_and_the_notice():
    at = run_page(GRAD)
    assert not at.exception and not at.error
    assert "Random weights" in " ".join(w.value for w in at.warning)
    metas = figures(at)
    assert [m["figure"] for m in metas] == ["grad_norms", "grad_norms"]  # grouped vs dense: a tab, drawn when open
    assert qp(at, "grad_view") == "Gradient on the input"
    # the default target is group 0's energy: the lesson (gradient stays in its group) shows at once
    assert metas[0]["kind"] == "weight" and metas[0]["groups"] == 32 and metas[0]["target_group"] == 0
    at.selectbox(key="grad_target").set_value("class").run()
    assert not at.exception and figures(at)[0]["target_group"] is None
    assert "random weights: the class means nothing" in at.selectbox(key="grad_class").label
    assert at.selectbox(key="grad_class").value == -1  # the top-1 class by default


# ---------------------------------------------------------------- every odd upload


@pytest.mark.parametrize("name", list(CASES))
def test_every_upload_case_gets_a_clear_outcome(features_page, name):
    case = CASES[name]
    at = upload(features_page, case)
    assert not at.exception, f"{name}: {at.exception}"
    if case.expect == ACCEPTED:
        assert not at.error, f"{name}: {[e.value for e in at.error]}"
        assert at.selectbox(key="img_pick").value == ui.UPLOAD_ANY
        assert at.session_state["img_upload"].name == case.filename
        assert "feature_maps" in kinds(at)
        if case.note:
            assert any(case.note in i.value for i in at.info), f"{name}: {[i.value for i in at.info]}"
    else:
        assert len(at.error) == 1 and case.expect in at.error[0].value, f"{name}: {[e.value for e in at.error]}"
        assert "feature_maps" in kinds(at)  # the previous picture is still in use
    assert len(at.file_uploader) == 1 and not at.file_uploader[0].value  # bytes released, uploader ready again


def test_a_rejected_upload_loses_nothing():
    at = run_page(FEAT)
    upload(at, CASES["png"])
    before = at.session_state["img_upload"]
    upload(at, CASES["text_named_png"])
    assert "plain text" in at.error[0].value and "Nothing was lost" in text(at)
    assert at.session_state["img_upload"] is before and at.selectbox(key="img_pick").value == ui.UPLOAD_ANY
    assert "Your upload: photo.png" in at.selectbox(key="img_pick").format_func(ui.UPLOAD_ANY)
    at.selectbox(key="img_pick").set_value("gratings").run()  # the samples stay usable, the error goes
    assert not at.exception and not at.error and "feature_maps" in kinds(at)
    assert qp(at, "image") == "gratings"


def test_session_keeps_a_reduced_picture_not_the_upload():
    at = run_page(FEAT)
    photo = big_jpeg(2400, 1800, quality=85)
    at.file_uploader[0].set_value(("big.jpg", photo, "image/jpeg")).run()
    chosen = at.session_state["img_upload"]
    assert max(chosen.preview.size) <= ui.PREVIEW_SIDE and chosen.crop.shape == (224, 224, 3)
    assert chosen.original_size == (2400, 1800)
    for key in at.session_state:  # no raw upload bytes parked in the session
        value = at.session_state[key]
        assert not (isinstance(value, (bytes, bytearray)) and len(value) > 100_000), key
        assert type(value).__name__ != "UploadedFile", key


def test_gradients_page_uses_the_picture_chosen_on_the_features_page():
    at = run_page(FEAT)
    upload(at, CASES["webp"])
    at.switch_page(GRAD).run()
    assert not at.exception
    assert "your upload “photo.webp”" in text(at)
    assert at.selectbox(key="img_pick").value == ui.UPLOAD_ANY  # inside the compact 'Change the picture' expander
    assert qp(at, "image") == ui.UPLOAD_ANY


# ---------------------------------------------------------------- gradients: the numbers are the package's


def test_locality_numbers_on_the_page_equal_probes(model):
    at = run_page(GRAD, {"layer": "layer2.0.conv2", "group": "3", "target": "group", "grad_view": "Grouped vs dense"})
    assert not at.exception and not at.warning[1:]  # only the random-weights notice
    assert [m["figure"] for m in figures(at)] == ["grad_norms", "locality"]
    rep = gp.gradient_locality(model, "layer2.0.conv2", expected_input(), 3)
    values = [m.value for m in at.metric]
    g, d = rep.grouped, rep.dense
    for zeros, total in ((g.zero_other_filters, g.other_filter_weights), (g.zero_inputs_outside, g.inputs_outside),
                         (d.zero_other_filters, d.other_filter_weights), (d.zero_inputs_outside, d.inputs_outside),
                         (d.zero_cross_weights, d.cross_weights)):
        assert f"{zeros:,} of {total:,}" in values
    grads = gp.layer_gradients(model, "layer2.0.conv2", expected_input(), gp.GradTarget.group_energy(3))
    head = metrics(at)["Weights of the other 31 groups whose gradient is exactly 0"]
    assert head == f"{grads.zero_weight_grads_outside:,} of {grads.weights_outside:,}"
    assert grads.zero_weight_grads_outside == grads.weights_outside  # the lesson: all of them
    meta = figures(at)[0]
    assert meta["target_group"] == 3 and meta["exact_zeros"] == 31
    loc = figures(at)[1]
    assert loc["grouped_nonzero_blocks"] == 1 and loc["dense_nonzero_blocks"] == 32


def test_channel_target_stays_in_the_chosen_group():
    at = run_page(GRAD, {"layer": "layer3.0.conv2", "group": "5", "target": "channel"})
    assert not at.exception
    options = at.selectbox(key="grad_channel").options
    assert options[0] == "channel 80" and len(options) == 16  # group 5 of 512 channels in 32 groups
    at.selectbox(key="grad_channel").set_value(85).run()
    assert qp(at, "channel") == "85" and figures(at)[0]["target_group"] == 5


def test_shared_model_is_never_changed(model):
    run_page(GRAD, {"target": "group"})
    loaded = ui._image_model("", "1", ui._blocks_code())  # the cached object the pages used
    assert not loaded.model.training
    assert all(p.grad is None and not p.requires_grad for p in loaded.model.parameters())


# ---------------------------------------------------------------- URL state


def test_changing_layer_and_page_updates_the_url():
    at = run_page(FEAT)
    at.selectbox(key="img_layer").set_value("layer4.2.conv2").run()
    assert qp(at, "layer") == "layer4.2.conv2"
    at.radio(key="feat_page").set_value(3).run()
    assert qp(at, "page") == "3"
    maps = figures(at)[0]
    assert maps["shown"] == list(range(16, 24)) and maps["per_group"] == 32
    at.session_state["feat_view"] = "Channel correlation"  # what a click on the tab sets
    at.run()
    assert qp(at, "view") == "Channel correlation" and qp(at, "page") == "3"
    assert figures(at)[1]["step"] == 4  # 1024 channels drawn as 256 x 256 cells
    assert "each cell averages 4×4" in text(at)


def test_bad_url_values_fall_back_with_notices():
    at = run_page(FEAT, {"layer": "layer9.9.conv2", "page": "abc", "image": "cat.jpg", "source": "somewhere"})
    assert not at.exception
    notes = " ".join(w.value for w in at.warning)
    for label in ("**layer**", "**page**", "**image**", "**source**"):
        assert label in notes, label
    assert qp(at, "layer") == "layer1.0.conv2" and "feature_maps" in kinds(at)
    at = run_page(FEAT, {"page": "99"})
    assert "'99' was ignored" in " ".join(w.value for w in at.warning) and figures(at)[0]["shown"] == list(range(8))
    at = run_page(FEAT, {"image": "upload"})
    assert "stays in the browser session that uploaded it" in " ".join(w.value for w in at.warning)


def test_bad_gradient_url_values_fall_back():
    at = run_page(GRAD, {"group": "77", "target": "loss", "class": "5000"})
    assert not at.exception
    notes = " ".join(w.value for w in at.warning)
    assert "**group**" in notes and "**target**" in notes and "**class**" in notes
    assert at.selectbox(key="grad_group").value == 0 and at.selectbox(key="grad_target").value == "group"


# ---------------------------------------------------------------- the Block builder's block


def test_builder_block_is_fed_the_picture():
    at = run_page(FEAT, {"source": "builder"})
    assert not at.exception and not at.error
    assert "feature_maps" in kinds(at) and figures(at)[0]["groups"] == 32
    assert "up to layer1 (256 channels, 56×56)" in text(at)


def test_builder_block_with_unmatched_channels_says_which_work():
    at = run_page(FEAT)
    at.session_state["blk_inplanes"] = 300
    at.radio(key="feat_source").set_value("builder").run()
    assert not at.exception
    message = at.error[0].value
    assert "300 input channels" in message and all(str(c) in message for c in (64, 256, 512, 1024, 2048))
    links = [p.proto.label for p in at.get("page_link")]
    assert "Block builder" in links   # a link to the page where the block is set


# ---------------------------------------------------------------- robustness of the compute path


def test_an_unexpected_error_becomes_a_plain_message(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    ui.clear_image_caches()
    monkeypatch.setattr(fp, "layer_features", broken)
    at = run_page(FEAT, {"layer": "layer1.1.conv2"})
    assert not at.exception
    assert "Something went wrong while showing the group features (RuntimeError)" in at.error[0].value
    ui.clear_image_caches()


def test_download_progress_is_drawn_without_breaking_the_cache(monkeypatch, caplog):
    real, calls = weights.load_model, []

    def fake_load_model(variant, progress=None, **kwargs):
        for done in (0, 50, 100):  # as a download would report it
            progress(done, 100)
            calls.append(done)
        return real(variant, allow_download=False)

    monkeypatch.setattr(weights, "load_model", fake_load_model)
    ui._image_model.clear()
    try:
        with caplog.at_level(logging.WARNING, logger="resnext_viz.image_lessons"):
            at = run_page(FEAT)
    finally:
        ui._image_model.clear()
    assert calls == [0, 50, 100] and not at.exception and "feature_maps" in kinds(at)
    assert "progress bar failed" not in caplog.text


def test_with_a_weights_file_the_pages_show_predictions(monkeypatch, tmp_path):
    import torch

    path = tmp_path / "resnext50_32x4d-mine.pth"
    torch.save(weights.random_model(seed=1).state_dict(), path)  # a file of the right shape counts as 'your weights'
    monkeypatch.setenv(weights.WEIGHTS_ENV, str(path))
    at = run_page(FEAT)
    assert not at.exception and not at.warning
    assert "from your file" in at.success[0].value
    assert "The network's top-5 guesses:" in text(at)
    at.switch_page(GRAD).run()
    at.selectbox(key="grad_target").set_value("class").run()
    assert not at.exception and at.selectbox(key="grad_class").label == "Class"
    assert at.selectbox(key="grad_class").options[0].startswith("top-1: ")


def test_a_bad_view_in_the_link_falls_back_to_the_first_tab_with_a_notice():
    at = run_page(FEAT, {"view": "Everything at once"})
    assert not at.exception and not at.error
    assert any("**view**" in w.value and "Channel correlation" in w.value for w in at.warning)
    assert kinds(at) == ["feature_maps", "correlation"] and qp(at, "view") == "Channel correlation"


def test_a_bad_grad_view_in_the_link_falls_back_to_the_input_tab_with_a_notice():
    at = run_page(GRAD, {"grad_view": "Both at once"})
    assert not at.exception and not at.error
    assert any("**view**" in w.value and "Gradient on the input" in w.value for w in at.warning)
    assert [m["figure"] for m in figures(at)] == ["grad_norms", "grad_norms"]
    assert qp(at, "grad_view") == "Gradient on the input"
