"""Probes against oracles (forward hooks and .backward() on private copies), and session safety."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from resnext_viz.inside.gradients import GradTarget, gradient_locality, layer_gradients
from resnext_viz.inside.probes import (block_diagonality, by_group, capture_activation, channel_correlation,
                                       group_energy, group_page, grouped_layers, n_pages, top_channel_per_group)
from resnext_viz.inside.weights import random_model

X = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(3))  # small: fast, every stage non-empty


@pytest.fixture(scope="module")
def shared():
    """The model every test shares, as the app's sessions do: nothing may change it."""
    return random_model(seed=0)


@pytest.fixture(scope="module")
def private(shared):
    """A copy the oracles may hook and backpropagate through."""
    return copy.deepcopy(shared)


def test_grouped_layers_lists_every_block_3x3(shared):
    layers = grouped_layers(shared)
    assert [layer.name for layer in layers] == [f"layer{s}.{b}.conv2" for s, n in zip(range(1, 5), (3, 4, 6, 3))
                                               for b in range(n)]
    assert {(layer.stage, layer.in_channels, layer.groups) for layer in layers} == {
        (1, 128, 32), (2, 256, 32), (3, 512, 32), (4, 1024, 32)}
    first_of_stage = [layer for layer in layers if layer.block == 0]
    assert [layer.stride for layer in first_of_stage] == [1, 2, 2, 2]
    assert layers[0].kernel_size == (3, 3) and layers[0].in_per_group == 4
    assert layers[0].weight_count == 128 * 4 * 9 == shared.layer1[0].conv2.weight.numel()


def test_resnet50_layers_are_dense():
    assert {layer.groups for layer in grouped_layers(random_model(arch="resnet50"))} == {1}


@pytest.mark.parametrize("name", ["layer1.0.conv2", "layer2.0.bn1", "layer3.5.conv2", "layer4.0.conv3", "layer4.2"])
def test_capture_equals_a_forward_hook(shared, private, name):
    seen = {}

    def keep(module, inputs, out):  # returns None: a hook that returns a value replaces the output
        seen["out"] = out.detach().clone()  # clone now: an in-place ReLU follows batch norm
    handle = private.get_submodule(name).register_forward_hook(keep)
    try:
        with torch.no_grad():
            private(X)
    finally:
        handle.remove()
    assert torch.equal(capture_activation(shared, name, X), seen["out"][0])


def test_groups_are_contiguous_channel_blocks(shared):
    conv = shared.layer2[0].conv2
    act = capture_activation(shared, "layer2.0.conv2", X)  # (256, 8, 8)
    layer_input = torch.relu(capture_activation(shared, "layer2.0.bn1", X))  # what conv2 reads, (256, 16, 16)
    grouped = by_group(act, 32)  # (32, 8, 8, 8)
    assert grouped.shape == (32, 8, 8, 8)
    for g in (0, 7, 31):
        channels = slice(g * 8, (g + 1) * 8)
        alone = F.conv2d(layer_input[None, channels], conv.weight[channels], stride=2, padding=1)[0]
        assert torch.allclose(grouped[g], alone, atol=1e-5)
        assert torch.equal(grouped[g], act[channels])


def test_group_statistics(shared):
    act = capture_activation(shared, "layer1.1.conv2", X)  # (128, 16, 16)
    energy = group_energy(act, 32)
    assert energy.shape == (32,)
    assert torch.allclose(energy[5], act[20:24].pow(2).mean())
    top = top_channel_per_group(act, 32)
    assert top.shape == (32,) and torch.all(top // 4 == torch.arange(32))
    assert int(top[5]) == 20 + int(act[20:24].pow(2).mean(dim=(1, 2)).argmax())
    with pytest.raises(ValueError, match="cannot be split into 3 equal groups"):
        by_group(act, 3)


def test_channel_correlation_matches_numpy_and_handles_constant_channels(shared):
    act = capture_activation(shared, "layer1.0.conv2", X).clone()  # (128, 16, 16)
    act[3] = 0.0  # a dead channel
    act[9] = 2.5  # a constant channel
    corr = channel_correlation(act)
    assert corr.shape == (128, 128) and torch.isfinite(corr).all()
    assert torch.equal(corr, corr.T)
    assert torch.all(corr[[3, 9]] == 0) and torch.all(corr[:, [3, 9]] == 0)
    varying = [c for c in range(128) if c not in (3, 9)]
    expected = np.corrcoef(act[varying].reshape(len(varying), -1).double().numpy())
    assert np.allclose(corr[varying][:, varying].numpy(), expected, atol=1e-5)


def test_block_diagonality_on_a_known_matrix():
    corr = torch.zeros(8, 8)
    corr[:4, :4] = 0.5
    corr[4:, 4:] = -0.25
    corr.fill_diagonal_(1.0)
    summary = block_diagonality(corr, 2)
    assert summary.within == pytest.approx(0.375) and summary.across == 0.0 and summary.ratio == float("inf")
    corr[0, 7] = corr[7, 0] = 0.32  # 2 of the 32 across-group entries
    assert block_diagonality(corr, 2).across == pytest.approx(0.02)
    for groups in (1, 8):
        with pytest.raises(ValueError, match="at least 2 groups of at least 2 channels"):
            block_diagonality(corr, groups)


def test_pages_cover_every_group_once():
    pages = [group_page(32, p, per_page=6) for p in range(n_pages(32, 6))]
    assert [g for page in pages for g in page] == list(range(32)) and len(pages[-1]) == 2
    with pytest.raises(ValueError, match="pages 0-5"):
        group_page(32, 6, per_page=6)


def test_group_target_gradient_is_exactly_local(shared):
    result = layer_gradients(shared, "layer2.1.conv2", X, GradTarget.group_energy(5))
    assert result.target_group == 5
    assert result.zero_weight_grads_outside == result.weights_outside == 31 * 8 * 8 * 9
    assert result.zero_input_grads_outside == result.inputs_outside == 31 * 8 * 8 * 8
    assert torch.count_nonzero(result.weight_grad_norm).item() == 1 and result.weight_grad_norm[5] > 0
    assert torch.count_nonzero(result.input_grad_norm).item() == 1 and result.input_grad_norm[5] > 0


def test_group_target_gradient_matches_autograd_on_the_layer(shared):
    conv = shared.layer2[1].conv2
    layer_input = torch.relu(capture_activation(shared, "layer2.1.bn1", X))[None].requires_grad_(True)
    weight = conv.weight.detach().clone().requires_grad_(True)
    energy = F.conv2d(layer_input, weight, padding=1, groups=32)[0, 40:48].pow(2).sum()
    energy.backward()
    result = layer_gradients(shared, "layer2.1.conv2", X, GradTarget.group_energy(5))
    assert result.value == pytest.approx(energy.item(), rel=1e-6)
    assert torch.allclose(result.weight_grad, weight.grad, rtol=1e-5, atol=1e-6)
    assert torch.allclose(result.input_grad_norm[5], layer_input.grad[0, 40:48].norm(), rtol=1e-5)


def test_channel_target_lives_in_its_group(shared):
    result = layer_gradients(shared, "layer3.0.conv2", X, GradTarget.channel(100))  # 512 channels, 16 per group
    assert result.target_group == 6
    assert result.zero_weight_grads_outside == result.weights_outside
    assert torch.count_nonzero(result.weight_grad.flatten(1).norm(dim=1)).item() == 1  # only filter 100


def test_class_target_equals_backward_through_the_whole_model(shared, private):
    """Oracle: the ordinary model forward and .backward() on a private copy, with a pre-hook to catch dL/dinput."""
    conv = private.layer1[2].conv2
    conv.weight.requires_grad_(True)
    caught = {}

    def catch_input(module, inputs):
        caught["input"] = inputs[0].detach().clone().requires_grad_(True)
        return (caught["input"],)
    handle = conv.register_forward_pre_hook(catch_input)
    try:
        logit = private(X)[0, 207]
        logit.backward()
    finally:
        handle.remove()
    result = layer_gradients(shared, "layer1.2.conv2", X, GradTarget.class_logit(207))
    assert result.value == pytest.approx(logit.item(), rel=1e-5, abs=1e-6)
    assert torch.allclose(result.weight_grad, conv.weight.grad, rtol=1e-4, atol=1e-7)
    expected = by_group(caught["input"].grad[0], 32).flatten(1).norm(dim=1)
    assert torch.allclose(result.input_grad_norm, expected, rtol=1e-4, atol=1e-8)
    assert result.target_group is None and result.zero_weight_grads_outside is None
    assert torch.all(result.weight_grad_norm > 0)  # a class logit pulls on every group
    conv.weight.grad = None
    conv.weight.requires_grad_(False)


def test_locality_grouped_versus_dense(shared):
    report = gradient_locality(shared, "layer2.2.conv2", X, group=3)
    grouped, dense = report.grouped, report.dense
    only_3_3 = torch.zeros(32, 32, dtype=torch.bool)
    only_3_3[3, 3] = True
    assert torch.equal(grouped.block_norms != 0, only_3_3)  # one block of 32 x 32 carries gradient
    assert torch.equal(grouped.connected, torch.eye(32, dtype=torch.bool)) and grouped.cross_weights == 0
    assert grouped.zero_other_filters == grouped.other_filter_weights == 31 * 8 * 8 * 9
    assert grouped.zero_inputs_outside == grouped.inputs_outside == 31 * 8 * 8 * 8
    assert torch.all(dense.block_norms[3] > 0)  # group 3's filters feel every input group
    assert torch.all(dense.block_norms[torch.arange(32) != 3] == 0)  # other filters: exactly zero, as grouped
    assert dense.zero_other_filters == dense.other_filter_weights == 31 * 8 * 256 * 9
    assert dense.cross_weights == 8 * 248 * 9 and dense.zero_cross_weights < 0.5 * dense.cross_weights
    assert torch.all(dense.input_grad_norm > 0) and dense.zero_inputs_outside < 0.01 * dense.inputs_outside


def test_dense_weight_gradient_row_does_not_need_cross_weights(shared):
    """With the twin's cross-group weights at 0 it computes what the grouped layer computes, yet dE/dW
    still reaches every input group (it depends on the input, not the weights); dE/dinput does not."""
    report = gradient_locality(shared, "layer1.0.conv2", X, group=0, off_diagonal_scale=0.0)
    assert torch.allclose(report.dense.block_norms[0, 0], report.grouped.block_norms[0, 0], rtol=1e-5)
    assert torch.all(report.dense.block_norms[0] > 0)
    assert report.dense.zero_inputs_outside == report.dense.inputs_outside


def test_shared_model_is_never_changed(shared):
    before = {k: v.clone() for k, v in shared.state_dict().items()}
    capture_activation(shared, "layer3.1.conv2", X)
    for target in (GradTarget.class_logit(1), GradTarget.group_energy(2), GradTarget.channel(3)):
        layer_gradients(shared, "layer1.0.conv2", X, target)
    gradient_locality(shared, "layer4.0.conv2", X, group=9)
    with pytest.raises(ValueError):
        layer_gradients(shared, "layer1.0.conv2", X, GradTarget.group_energy(99))  # fails midway
    after = shared.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None and not p.requires_grad for p in shared.parameters())
    assert not any(m.training for m in shared.modules())
    assert not any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks for m in shared.modules())


def test_concurrent_gradients_equal_serial_ones(shared):
    jobs = [("layer1.0.conv2", GradTarget.class_logit(3)), ("layer2.1.conv2", GradTarget.group_energy(5)),
            ("layer3.2.conv2", GradTarget.channel(17)), ("layer1.0.conv2", GradTarget.class_logit(950))]
    serial = [layer_gradients(shared, name, X, target) for name, target in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(layer_gradients, shared, name, X, target) for name, target in jobs * 2]
        concurrent = [f.result() for f in futures]
    for alone, together in zip(serial * 2, concurrent):
        assert together.target == alone.target
        assert torch.allclose(together.weight_grad, alone.weight_grad, rtol=1e-6, atol=1e-9)
        assert torch.allclose(together.input_grad_norm, alone.input_grad_norm, rtol=1e-6, atol=1e-9)
        assert together.value == pytest.approx(alone.value, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("call, words", [
    (lambda m: capture_activation(m, "layer5.0.conv2", X), "Unknown layer 'layer5.0.conv2'"),
    (lambda m: capture_activation(m, "layer1.3.conv2", X), "last block is layer4.2"),
    (lambda m: capture_activation(m, "layer1.0.conv2", X[0, :2]), "one RGB image"),
    (lambda m: layer_gradients(m, "layer1.0.conv3", X, GradTarget.group_energy(0)), "'layerX.Y.conv2'"),
    (lambda m: layer_gradients(m, "layer1.0.conv2", X, GradTarget.class_logit(1000)), "choose 0 to 999"),
    (lambda m: layer_gradients(m, "layer1.0.conv2", X, GradTarget.channel(128)), "choose 0 to 127"),
    (lambda m: gradient_locality(m, "layer1.0.conv2", X, group=32), "choose 0 to 31"),
])
def test_bad_requests_say_what_is_valid(shared, call, words):
    with pytest.raises(ValueError, match=words.replace(".", r"\.").replace("(", r"\(").replace(")", r"\)")):
        call(shared)


def test_dense_network_has_nothing_to_compare():
    with pytest.raises(ValueError, match="dense convolution"):
        gradient_locality(random_model(arch="resnet50"), "layer1.0.conv2", X, group=0)


def test_basic_block_networks_are_walked_correctly():
    """ResNet-18's basic blocks have no conv3: capture and the class gradient still match the oracles."""
    model = random_model(arch="resnet18")
    private = copy.deepcopy(model)
    conv = private.layer2[1].conv2
    conv.weight.requires_grad_(True)
    seen = {}

    def keep(module, inputs, out):
        seen["out"] = out.detach().clone()
    handle = conv.register_forward_hook(keep)
    try:
        private(X)[0, 9].backward()
    finally:
        handle.remove()
    assert torch.equal(capture_activation(model, "layer2.1.conv2", X), seen["out"][0])
    result = layer_gradients(model, "layer2.1.conv2", X, GradTarget.class_logit(9))
    assert torch.allclose(result.weight_grad, conv.weight.grad, rtol=1e-4, atol=1e-7)
    assert [layer.name for layer in grouped_layers(model)][:3] == ["layer1.0.conv2", "layer1.1.conv2", "layer2.0.conv2"]
