"""Issue 9 (Gradients, Group features): locality stated exactly, measured dense zeros, correlation baselines."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from resnext_viz.inside import summaries as fp
from resnext_viz import ui
from resnext_viz.inside import images
from resnext_viz.inside import probes
from resnext_viz.inside import gradients as gp
from resnext_viz.inside import weights
from tests.conftest import run_page

FEAT = "pages/group_features.py"
GRAD = "pages/gradients.py"


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv(weights.OFFLINE_ENV, "1")
    monkeypatch.delenv(weights.WEIGHTS_ENV, raising=False)


@pytest.fixture(scope="module")
def model():
    return weights.load_model(ui.IMAGE_VARIANT, allow_download=False).model


def page_input():
    spec = weights.WEIGHTS[ui.IMAGE_VARIANT]
    return images.preprocess(images.sample_images()["shapes"], spec.resize, spec.crop)[0]


def layer_input(model, layer):
    return gp._probe_input(model, layer, page_input())[3]


def test_dense_twin_zero_counts_equal_an_independent_autograd_count(model):
    layer, g = "layer1.1.conv2", 2
    rep = gp.gradient_locality(model, layer, page_input(), g)
    info = rep.layer
    dense_w = gp._dense_twin(model.get_submodule(layer).weight.detach(), info.groups, rep.off_diagonal_scale,
                                 rep.seed)
    conv = torch.nn.Conv2d(info.in_channels, info.out_channels, 3, info.stride, info.padding, bias=False)
    with torch.no_grad():
        conv.weight.copy_(dense_w)
    x = layer_input(model, layer).clone().requires_grad_(True)
    per = info.out_per_group
    conv(x)[0, g * per:(g + 1) * per].pow(2).sum().backward()
    cin = info.in_per_group
    outside_x = torch.cat([x.grad[0, :g * cin], x.grad[0, (g + 1) * cin:]])
    assert rep.dense.zero_inputs_outside == int((outside_x == 0).sum())
    row = conv.weight.grad[g * per:(g + 1) * per]
    cross = torch.cat([row[:, :g * cin], row[:, (g + 1) * cin:]], dim=1)
    assert rep.dense.zero_cross_weights == int((cross == 0).sum())
    xin = x.detach()[0]
    outside_in = torch.cat([xin[:g * cin], xin[(g + 1) * cin:]])
    dead = int(outside_in.flatten(1).eq(0).all(dim=1).sum())
    assert rep.dense.dead_channels_outside == dead
    assert rep.dense.cross_weights_on_dead == dead * per * 9
    assert rep.dense.cross_weights_on_dead <= rep.dense.zero_cross_weights  # dead inputs always give zeros
    # grouping's own zeros: every input value outside group g
    assert rep.grouped.zero_inputs_outside == rep.grouped.inputs_outside


def test_channel_target_counts_are_one_filter(model):
    layer, ch = "layer3.0.conv2", 85
    s = fp.gradient_summary(model, layer, page_input(), gp.GradTarget.channel(ch))
    info = probes._info(model, layer)
    assert s.own_weights == info.in_per_group * 3 * 3 == 16 * 9
    wg = gp.layer_gradients(model, layer, page_input(), gp.GradTarget.channel(ch)).weight_grad
    rows = wg.reshape(info.out_channels, -1)
    others = torch.cat([rows[:ch], rows[ch + 1:]])
    assert s.weights_elsewhere == others.numel() and s.zero_weight_grads_elsewhere == int((others == 0).sum())
    assert s.zero_weight_grads_elsewhere == s.weights_elsewhere  # only that channel's filter moves it
    assert fp.own_filter_counts(wg, info.groups, gp.GradTarget.class_logit(0)) is None


def test_channel_target_help_names_c_in_over_g_k_k():
    at = run_page(GRAD, {"layer": "layer3.0.conv2", "group": "5", "target": "channel", "channel": "85"})
    assert not at.exception
    m = next(m for m in at.metric if m.label.startswith("Weights outside channel 85's filter"))
    assert "the 144 weights of channel 85's filter" in m.help and "16 input channels × 3×3" in m.help
    total = 512 * 16 * 9 - 144
    assert m.value == f"{total:,} of {total:,}"


def test_class_target_explains_the_mixing():
    at = run_page(GRAD, {"target": "class"})
    assert not at.exception
    info = " ".join(i.value for i in at.info)
    assert "reaches **every** group" in info and "1×1" in info and "mixes all 32 groups" in info


def test_group_target_page_shows_measured_dense_zeros(model):
    at = run_page(GRAD, {"layer": "layer2.0.conv2", "group": "3", "target": "group", "grad_view": "Grouped vs dense"})
    assert not at.exception
    rep = gp.gradient_locality(model, "layer2.0.conv2", page_input(), 3)
    body = " ".join(m.value for m in at.markdown)
    assert f"against {rep.dense.zero_inputs_outside:,} in the dense twin" in body
    gained = rep.grouped.zero_inputs_outside - rep.dense.zero_inputs_outside
    assert f"{gained:,} zeros come from grouping" in body
    assert "not what grouping buys" in body


def test_baselines_are_computed_and_independent(model):
    layer = "layer1.0.conv2"
    rnd = weights.random_model()
    before = {k: v.clone() for k, v in rnd.state_dict().items()}
    b = fp.correlation_baselines(model, rnd, layer, page_input())
    assert all(isinstance(r, float) and r > 0 for r in (b.trained, b.random_init, b.shuffled, b.dense_fake))
    assert b.dense_fake < b.random_init  # without the wiring the inside/across ratio falls toward 1
    assert b.trained == pytest.approx(fp.layer_features(model, layer, page_input()).ratio)
    assert b.random_init == pytest.approx(fp.layer_features(rnd, layer, page_input()).ratio)
    # the shuffled baseline is the grouped conv of the permuted input: an F.conv2d oracle
    info, block, _, xin = gp._probe_input(model, layer, page_input())
    perm = torch.randperm(info.in_channels, generator=torch.Generator().manual_seed(b.seed))
    out = F.conv2d(xin[:, perm], block.conv2.weight, None, info.stride, info.padding, 1, info.groups)[0]
    ref = probes.block_diagonality(probes.channel_correlation(out), info.groups).ratio
    assert b.shuffled == pytest.approx(ref, rel=1e-5)
    assert all(torch.equal(v, rnd.state_dict()[k]) for k, v in before.items())
    torch.manual_seed(0)  # the dense baseline: an independent F.conv2d with the same seeded draw
    gen = torch.Generator().manual_seed(b.seed)
    torch.randperm(info.in_channels, generator=gen)
    w = torch.randn(info.out_channels, info.in_channels, 3, 3, generator=gen) * block.conv2.weight.std()
    dense = F.conv2d(xin, w, None, info.stride, info.padding)[0]
    ref = probes.block_diagonality(probes.channel_correlation(dense), info.groups).ratio
    assert b.dense_fake == pytest.approx(ref, rel=1e-5)


def test_features_page_shows_baselines_always():
    at = run_page(FEAT)
    assert not at.exception and not at.error
    labels = {m.label: m.value for m in at.metric}
    assert "Random-init baseline" in labels and "Inputs shuffled first" in labels
    assert "Dense layer cut into fake groups" in labels
    assert labels["Random-init baseline"].endswith("×")
    body = " ".join(m.value for m in at.markdown)
    assert "Branch Specialization" in body and "adjacent layers" in body
    assert "Krizhevsky" not in body and "found exactly this" not in body


def test_sample_lessons_ask_not_predict():
    assert images.SAMPLE_LESSONS["gratings"].endswith("?")
    assert "light up in one quadrant each" not in images.SAMPLE_LESSONS["gratings"]
