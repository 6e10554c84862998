"""Looking inside a network trained here: its grouped 3×3s' outputs and gradients, for Group features and Gradients.

The trained net (train.models.SmallResNeXt) is walked step by step with the image lessons'
helpers (inside.probes: batch norm in eval form, nothing updated), so its `blockN.conv2`
gives the same summaries.Features and summaries.GradSummary as a layer of ResNeXt-50.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from resnext_viz.inside import gradients as gp
from resnext_viz.inside import probes
from resnext_viz.inside import summaries as fp
from resnext_viz.train.runner import REGISTRY, Registry, Run, load_dataset

BLOCKS = ("block1", "block2")  # the trained net's bottlenecks; each has one grouped 3×3, its conv2


def run_id(run: Run) -> str:
    """Return the run's name in a URL, e.g. 'digits-grouped-e8-lr0.1-b64-s0' ('-random' for shuffled labels)."""
    c = run.config
    return (f"{c.dataset}-{c.variant}-e{c.epochs}-lr{c.lr:g}-b{c.batch}-s{run.seed}"
            + ("-random" if c.random_labels else ""))


def grouped_runs(reg: Registry | None = None) -> list[Run]:
    """Return the finished runs whose network has grouped 3×3s (C > 1), newest first, matched parameters before
    matched width; shuffled-label runs left out."""
    reg = reg or REGISTRY
    with reg.lock:
        runs = [r for r in reg.runs.values() if r.state == "done" and r.state_dict is not None
                and r.config.variant != "dense" and not r.config.random_labels]
    return sorted(runs[::-1], key=lambda r: r.config.variant != "grouped")  # stable: newest first within each


def find(name: str, reg: Registry | None = None) -> Run | None:
    """Return the finished grouped run called `name` (run_id), or None if this server has none by that name."""
    return next((r for r in grouped_runs(reg) if run_id(r) == name), None)


def describe(run: Run) -> str:
    """Return one sentence: how the weights were trained and the test accuracy they reached (from the run's record)."""
    c, last = run.config, run.history[-1]
    label = _variant(run).label
    return (f"The weights were trained here on {c.dataset}: {label}, {c.epochs} epoch{'s' if c.epochs != 1 else ''}, "
            f"learning rate {c.lr:g}, batch {c.batch}, seed {run.seed}; test accuracy "
            f"{last.test_acc:.1%} on the {len(load_dataset(c.dataset).y_test):,} test images.")


def option_label(run: Run) -> str:
    """Return the run as a short choice: variant, data set, seed, test accuracy."""
    c = run.config
    v = _variant(run)
    return (f"{'grouped, matched width' if v.name == 'grouped_thin' else 'grouped'} (C = {v.C}, d = {v.d}) · {c.dataset} · {c.epochs} ep · seed {run.seed} · "
            f"test {run.history[-1].test_acc:.1%}")


def _variant(run: Run):
    from resnext_viz.train.models import variants

    ds = load_dataset(run.config.dataset)
    return {v.name: v for v in variants(ds.shape[0], len(ds.classes))}[run.config.variant]


# ---- one test image through the trained net -----------------------------------------------------

@dataclass(frozen=True)
class TestImage:
    """One image of a run's test split, with its label and what the trained net predicts."""

    index: int
    x: torch.Tensor  # (C, H, W) float32 in [0, 1], as the net was trained on
    label: int
    predicted: int
    probabilities: tuple[float, ...]  # softmax over the classes
    classes: tuple[str, ...]


def test_size(run: Run) -> int:
    """Return how many images the run's data set has in its test split."""
    return len(load_dataset(run.config.dataset).y_test)


def test_image(net, run: Run, index: int) -> TestImage:
    """Return test image `index` of the run's data set and the trained net's prediction for it."""
    ds = load_dataset(run.config.dataset)
    if not 0 <= index < len(ds.y_test):
        raise ValueError(f"Image {index} does not exist: the {run.config.dataset} test split has images 0 to "
                         f"{len(ds.y_test) - 1}.")
    x = torch.from_numpy(ds.x_test[index]).clone()
    with torch.no_grad():
        p = torch.softmax(net(x.unsqueeze(0))[0], dim=0)  # (classes,)
    return TestImage(index, x, int(ds.y_test[index]), int(p.argmax()), tuple(p.tolist()), ds.classes)


# ---- a grouped layer of the trained net ---------------------------------------------------------

def layer_names() -> list[str]:
    """Return the trained net's grouped layers, 'block1.conv2' and 'block2.conv2'."""
    return [f"{b}.conv2" for b in BLOCKS]


def _split(net, layer: str):
    block_name, _, step = layer.partition(".")
    if block_name not in BLOCKS or step != "conv2":
        raise ValueError(f"Unknown layer {layer!r}: choose {' or '.join(layer_names())}.")
    return BLOCKS.index(block_name), getattr(net, block_name)


def layer_info(net, layer: str) -> probes.LayerInfo:
    """Return the shape of the trained net's `layer` as the image lessons describe a layer (stage 0: the small net)."""
    index, block = _split(net, layer)
    conv = block.conv2
    return probes.LayerInfo(name=layer, stage=0, block=index, in_channels=conv.in_channels,
                            out_channels=conv.out_channels, groups=conv.groups, kernel_size=tuple(conv.kernel_size),
                            stride=conv.stride[0], padding=conv.padding[0])


def _block_input(net, index: int, x: torch.Tensor) -> torch.Tensor:
    """Return the input (1, 32, H, W) of block `index`: the stem, then the blocks before it (eval-mode batch norm)."""
    stem_conv, stem_bn = net.stem[0], net.stem[1]
    h = torch.relu(probes._bn(stem_bn, stem_conv(x.unsqueeze(0))))
    for b in BLOCKS[:index]:
        h = probes._run_block(getattr(net, b), h)
    return h


def layer_output(net, layer: str, x: torch.Tensor) -> torch.Tensor:
    """Return `layer`'s output (C, H', W') for image x (C_in, H, W), before batch norm and ReLU, as a forward hook sees it."""
    index, block = _split(net, layer)
    with torch.no_grad():
        return probes.run_steps(block, _block_input(net, index, x), "conv2")[0]


def features(net, layer: str, x: torch.Tensor) -> fp.Features:
    """Return summaries.Features of the trained net's `layer` for image x (the same summary as a ResNeXt-50 layer)."""
    info = layer_info(net, layer)
    return fp.summarise(layer_output(net, layer, x), info.groups, layer)


def gradients(net, layer: str, x: torch.Tensor, target: gp.GradTarget) -> fp.GradSummary:
    """Return summaries.GradSummary of `target` backpropagated to the trained net's `layer` (autograd, own copies).

    A class target runs the rest of the net from the layer (the block's remainder and
    shortcut, later blocks, pooling, fc); a group or channel target needs the layer's output only.
    """
    info = layer_info(net, layer)
    index, block = _split(net, layer)
    with torch.no_grad():
        block_input = _block_input(net, index, x)
        layer_input = torch.relu(probes._bn(block.bn1, block.conv1(block_input)))  # (1, C_in, H, W)
    weight = block.conv2.weight.detach().clone().requires_grad_(True)  # this call's own copy
    layer_input.requires_grad_(True)
    with torch.enable_grad():
        out = F.conv2d(layer_input, weight, None, info.stride, info.padding, 1, info.groups)  # (1, C_out, H', W')
        value, group = _target(net, info, block, block_input, out, target)
        weight_grad, input_grad = torch.autograd.grad(value, [weight, layer_input])
    input_grad = input_grad[0]  # (C_in, H, W)
    outside = gp._outside_counts(info, weight_grad, input_grad, group)
    own = fp.own_filter_counts(weight_grad, info.groups, target) or (None, None, None)
    return fp.GradSummary(
        layer=layer, kind=target.kind, index=target.index, value=float(value.detach()),
        weight_grad_norm=weight_grad.reshape(info.groups, -1).norm(dim=1).to(torch.float64).numpy(),
        input_grad_norm=probes.by_group(input_grad, info.groups).reshape(info.groups, -1).norm(dim=1)
        .to(torch.float64).numpy(),
        target_group=group, **outside, own_weights=own[0], zero_weight_grads_elsewhere=own[1],
        weights_elsewhere=own[2])


def _target(net, info, block, block_input, out, target: gp.GradTarget):
    if target.kind in ("group", "channel"):
        size = info.groups if target.kind == "group" else info.out_channels
        gp._check_index(target.index, size, target.kind)
        if target.kind == "group":
            per_group = out[0].reshape(info.groups, info.out_per_group, *out.shape[2:])  # (G, C_out/G, H', W')
            return per_group[target.index].pow(2).sum(), target.index
        return out[0, target.index].sum(), target.index // info.out_per_group
    if target.kind != "class":
        raise ValueError(f"Unknown target kind {target.kind!r}: use 'class', 'group' or 'channel'.")
    h = out
    for step in ("bn2", "relu", "conv3", "bn3"):
        h = probes._step(block, step, h)
    h = probes._shortcut(block, block_input, h)
    for b in BLOCKS[info.block + 1:]:
        h = probes._run_block(getattr(net, b), h)
    logits = net.fc(h.mean(dim=(2, 3)))  # (1, classes)
    gp._check_index(target.index, logits.shape[1], "class")
    return logits[0, target.index], None


def init_ratio(run: Run, layer: str, x: torch.Tensor) -> float | None:
    """Return the inside ÷ across ratio of `layer` in the same network at its initial weights (the run's seed), same image."""
    from resnext_viz.train import models as M

    ds = load_dataset(run.config.dataset)
    v = {m.name: m for m in M.variants(ds.shape[0], len(ds.classes))}[run.config.variant]
    return features(M.build(v, ds.shape[0], len(ds.classes), run.seed).eval(), layer, x).ratio
