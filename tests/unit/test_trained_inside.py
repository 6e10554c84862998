"""The trained source of Group features and Gradients: oracles on a finished run's network (forward hook, autograd)."""

from __future__ import annotations

import pytest
import torch

from resnext_viz.inside import gradients as gp
from resnext_viz.train import evidence as E
from resnext_viz.train import inside as T
from resnext_viz.train import runner as R


@pytest.fixture(scope="module")
def run():
    R.REGISTRY.clear()
    job = R.REGISTRY.request(R.experiment(epochs=1, seeds=(0,), variants=("dense", "grouped")))
    job.thread.join(timeout=300)
    done = T.grouped_runs()
    yield done[0]
    R.REGISTRY.clear()


def test_only_finished_grouped_runs_are_listed_and_found_by_name(run):
    assert [r.config.variant for r in T.grouped_runs()] == ["grouped"]  # the dense run is not a grouped source
    assert T.find(T.run_id(run)) is run and T.find("digits-grouped-e1-lr0.1-b64-s99") is None
    acc = run.history[-1].test_acc
    assert f"{acc:.1%}" in T.describe(run) and "1 epoch," in T.describe(run) and "seed 0" in T.describe(run)


@pytest.mark.parametrize("layer", T.layer_names())
def test_layer_output_equals_a_forward_hook_on_conv2(run, layer):
    net = E.trained_net(run)
    x = torch.from_numpy(R.load_dataset("digits").x_test[5])
    seen = []
    handle = net.get_submodule(layer).register_forward_hook(lambda m, i, o: seen.append(o.detach()))
    with torch.no_grad():
        net(x.unsqueeze(0))
    handle.remove()
    got = T.layer_output(net, layer, x)
    torch.testing.assert_close(got, seen[0][0], rtol=1e-5, atol=1e-6)
    f = T.features(net, layer, x)
    assert f.groups == net.get_submodule(layer).groups == 8
    torch.testing.assert_close(torch.from_numpy(f.act), seen[0][0], rtol=1e-5, atol=1e-6)


def test_prediction_is_the_nets_argmax(run):
    net = E.trained_net(run)
    ds = R.load_dataset("digits")
    img = T.test_image(net, run, 7)
    assert img.label == int(ds.y_test[7])
    assert img.predicted == int(net(torch.from_numpy(ds.x_test[7:8])).argmax())
    with pytest.raises(ValueError, match="0 to 358"):
        T.test_image(net, run, len(ds.y_test))


@pytest.mark.parametrize("layer", T.layer_names())
def test_group_energy_gradient_is_exactly_zero_outside_its_group(run, layer):
    net = E.trained_net(run)
    x = torch.from_numpy(R.load_dataset("digits").x_test[3])
    g = 2
    s = T.gradients(net, layer, x, gp.GradTarget.group_energy(g))
    # oracle: autograd through the real module, the energy of group g of conv2's output
    conv = net.get_submodule(layer)
    w = conv.weight.detach().clone().requires_grad_(True)
    seen = []
    handle = conv.register_forward_hook(lambda m, i, o: seen.append(i[0].detach()))
    with torch.no_grad():
        net(x.unsqueeze(0))
    handle.remove()
    inp = seen[0].clone().requires_grad_(True)
    with torch.enable_grad():
        out = torch.nn.functional.conv2d(inp, w, None, conv.stride, conv.padding, 1, conv.groups)
        per = out.shape[1] // conv.groups
        energy = out[0, g * per:(g + 1) * per].pow(2).sum()
        wg, ig = torch.autograd.grad(energy, [w, inp])
    norms = wg.reshape(conv.groups, -1).norm(dim=1).double()
    torch.testing.assert_close(torch.from_numpy(s.weight_grad_norm), norms, rtol=1e-5, atol=1e-9)
    assert s.value == pytest.approx(float(energy.detach()), rel=1e-5)
    others = torch.cat([wg[:g * per], wg[(g + 1) * per:]])
    assert s.zero_weight_grads_outside == s.weights_outside == others.numel() == int((others == 0).sum())
    assert s.zero_input_grads_outside == s.inputs_outside  # every other input group: exactly zero
    assert (torch.from_numpy(s.weight_grad_norm)[torch.arange(8) != g] == 0).all() and s.weight_grad_norm[g] > 0


def test_class_score_gradient_matches_autograd_on_the_whole_net(run):
    net = E.trained_net(run)
    x = torch.from_numpy(R.load_dataset("digits").x_test[0])
    layer, cls = "block1.conv2", 4
    s = T.gradients(net, layer, x, gp.GradTarget.class_logit(cls))
    copy = E.trained_net(run)
    conv = copy.get_submodule(layer)
    conv.weight.requires_grad_(True)
    with torch.enable_grad():
        logit = copy(x.unsqueeze(0))[0, cls]
        (wg,) = torch.autograd.grad(logit, [conv.weight])
    assert s.value == pytest.approx(float(logit.detach()), rel=1e-5, abs=1e-6)
    torch.testing.assert_close(torch.from_numpy(s.weight_grad_norm), wg.reshape(8, -1).norm(dim=1).double(),
                               rtol=1e-4, atol=1e-8)
    assert s.target_group is None and s.zero_weight_grads_outside is None
