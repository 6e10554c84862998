"""AppTest: a network trained here as the source of Group features and Gradients (and the notice without one)."""

from __future__ import annotations

import json

import pytest

from resnext_viz.inside import gradients as gp
from resnext_viz.train import evidence as E
from resnext_viz.train import inside as T
from resnext_viz.train import runner as R
from tests.conftest import run_page

FEAT, GRAD = "pages/group_features.py", "pages/gradients.py"


def kinds(at) -> list[str]:
    return [json.loads(c.proto.spec)["layout"].get("meta", {}).get("figure") for c in at.get("plotly_chart")]


def text(at) -> str:
    return " ".join(x.value for x in (*at.markdown, *at.caption, *at.info, *at.warning))


@pytest.fixture
def empty_registry():
    R.REGISTRY.clear()
    yield
    R.REGISTRY.clear()


@pytest.fixture(scope="module")
def trained():
    """One grouped run and one dense run, one epoch each on digits, trained in-process."""
    R.REGISTRY.clear()
    job = R.REGISTRY.request(R.experiment(epochs=1, seeds=(0,), variants=("dense", "grouped")))
    job.thread.join(timeout=300)
    yield T.grouped_runs()[0]
    R.REGISTRY.clear()


@pytest.mark.parametrize("page", [FEAT, GRAD])
def test_without_a_finished_run_the_page_says_so(empty_registry, page):
    at = run_page(page, {"source": "trained", "grad_source": "trained"})
    assert not at.exception and not at.error
    assert "No grouped network has finished training" in at.info[0].value
    assert not at.get("plotly_chart")


def test_group_features_of_the_trained_net(trained):
    at = run_page(FEAT, {"source": "trained", "test_image": "7", "view": "Channel correlation"})
    assert not at.exception and not at.error
    assert kinds(at) == ["feature_maps", "correlation"]
    net = E.trained_net(trained)
    img = T.test_image(net, trained, 7)
    words = text(at)
    assert f"test accuracy {trained.history[-1].test_acc:.1%}" in words and "trained here on digits" in words
    assert f"true class **{img.classes[img.label]}**" in words
    f = T.features(net, "block1.conv2", img.x)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Inside ÷ across"] == f"{f.ratio:.2f}×"
    assert "The same network before training" in shown
    run = at.query_params["run"]
    assert (run[-1] if isinstance(run, list) else run) == T.run_id(trained)


def test_gradients_of_the_trained_net_show_the_exact_zeros(trained):
    at = run_page(GRAD, {"grad_source": "trained", "trained_layer": "block2.conv2", "trained_group": "3"})
    assert not at.exception and not at.error
    assert kinds(at) == ["grad_norms", "grad_norms"]
    s = T.gradients(E.trained_net(trained), "block2.conv2", T.test_image(E.trained_net(trained), trained, 0).x,
                    gp.GradTarget.group_energy(3))
    shown = {m.label: m.value for m in at.metric}
    assert shown["Weights of the other 7 groups whose gradient is exactly 0"] == \
        f"{s.zero_weight_grads_elsewhere:,} of {s.weights_elsewhere:,}"
    assert s.zero_weight_grads_elsewhere == s.weights_elsewhere > 0
    at.selectbox(key="trained_target").set_value("class").run()
    assert not at.exception and len(at.get("plotly_chart")) == 2
    assert "reaches **every** group" in at.info[0].value


def test_a_run_the_server_no_longer_has_falls_back_with_a_notice(trained):
    at = run_page(FEAT, {"source": "trained", "run": "digits-grouped-e9-lr0.1-b64-s4", "test_image": "5"})
    assert not at.exception and not at.error
    assert "is not on this server" in at.warning[0].value
    assert at.number_input(key="trained_image").value == 5  # nothing else lost
    assert len(at.get("plotly_chart")) == 2  # the maps and the open tab's figure


def test_a_bad_trained_group_in_the_link_falls_back_with_a_notice(trained):
    at = run_page(GRAD, {"grad_source": "trained", "trained_group": "99", "trained_target": "channel"})
    assert not at.exception and not at.error
    assert any("trained group" in w.value for w in at.warning)
    assert at.selectbox(key="trained_group").value == 0 and at.selectbox(key="trained_channel").value in (0, 1)
    assert len(at.get("plotly_chart")) == 2
