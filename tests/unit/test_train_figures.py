"""The training lab's figures by structure: one mean line and one band per variant and panel, legends, bounds."""

from __future__ import annotations

from dataclasses import replace

from resnext_viz.train import figures as tf

S = {"dense": {"test_acc": [[0.1, 0.5, 0.9], [0.1, 0.6, 0.8]], "train_acc": [[0.1, 0.6, 1.0], [0.1, 0.7, 0.9]],
               "test_loss": [[2.3, 1.0, 0.3], [2.3, 1.1, 0.4]], "gap": [[0, 0.1, 0.1], [0, 0.1, 0.1]]},
     "grouped": {"test_acc": [[0.1, 0.4]], "train_acc": [[0.1, 0.5]], "test_loss": [[2.3, 1.2]], "gap": [[0, 0.1]]}}


def test_training_curves_mean_and_band_per_variant_and_panel():
    fig = tf.training_curves(S)
    means = [t for t in fig.data if t.showlegend is not False and t.mode == "lines+markers"]
    bands = [t for t in fig.data if t.fill == "toself"]
    assert len(means) == 2  # one legend entry per variant
    assert len(bands) == 2 * 4  # test acc, loss, gap and the dotted train accuracy, per variant
    dense_test = next(t for t in fig.data if t.name == "dense" and t.xaxis == "x")
    assert [round(v, 9) for v in dense_test.y] == [0.1, 0.55, 0.85] and list(dense_test.x) == [0, 1, 2]
    band = next(t for t in bands if t.legendgroup == "dense" and t.xaxis == "x")
    assert list(band.y) == [0.1, 0.6, 0.9, 0.8, 0.5, 0.1]  # max forward, min back
    assert all(b.mode == "lines" for b in bands)  # no stray markers on the band outline
    assert fig.layout.meta["variants"] == ["dense", "grouped"] and fig.layout.showlegend


def test_grad_norms_one_line_per_group_and_short_panel_titles():
    fig = tf.grad_norms({"dense (C = 1, d = 16)": [[1.0] * 8, [0.5] * 8],
                         "grouped (C = 8, d = 4), matched parameters": [[0.2] * 8, [0.1] * 8]})
    assert len(fig.data) == 16 and sum(bool(t.showlegend) for t in fig.data) == 8
    assert [a.text for a in fig.layout.annotations] == ["dense (C = 1, d = 16)", "grouped (C = 8, d = 4)"]


def test_similarity_noise_and_lr_figures():
    bars = tf.similarity_bars([("a", 0.5, 0.4, 0.6), ("b", 0.3, 0.3, 0.3)])
    assert [round(v, 6) for v in bars.data[0].error_y.array] == [0.1, 0.0]
    noise = tf.noise_curves((0.0, 0.5), {"dense": [[0.9, 0.5], [0.8, 0.3]]})
    assert [round(v, 6) for v in noise.data[1].y] == [0.85, 0.4]
    lr = tf.lr_sweep({"dense": {0.1: [0.9, 0.8], 1.0: [0.1, 0.2]}})
    assert lr.layout.xaxis.type == "log" and [round(v, 6) for v in lr.data[0].y] == [0.85, 0.15]
    assert len(lr.data[1].x) == 4


def _run(variant: str, lr: float, losses: list[float], final_acc: float, state: str = "done"):
    from resnext_viz.train import runner as R

    history = [R.Epoch(i, loss, 0.5, 1.0, final_acc if i == len(losses) - 1 else 0.5, (), 0.5, 0.1)
               for i, loss in enumerate(losses)]
    return R.Run(R.RunConfig(variant=variant, lr=lr), seed=len(losses), history=history, state=state)


def test_a_run_diverged_when_its_loss_is_not_finite_or_it_ends_near_chance():
    from resnext_viz.train import evidence as ev

    assert not ev.diverged(_run("dense", 0.1, [2.3, 0.4, 0.2], 0.95))
    assert ev.diverged(_run("dense", 2.0, [2.3, float("nan"), float("nan")], 0.95))  # NaN loss, whatever it scores
    assert ev.diverged(_run("dense", 2.0, [2.3, float("inf"), 3.0], 0.95))
    assert ev.diverged(_run("dense", 2.0, [2.3, 2.3, 2.3], ev.DIVERGED_ACC))  # finite loss, a guess's accuracy
    assert not ev.diverged(_run("dense", 2.0, [2.3, 2.0, 1.9], ev.DIVERGED_ACC + 0.01))
    runs = [_run("dense", 0.1, [2.3, 0.3], 0.9), _run("dense", 2.0, [2.3, float("nan")], 0.1),
            _run("dense", 2.0, [2.3, 0.5], 0.8), _run("grouped", 2.0, [2.3, 0.5], 0.7, state="running")]
    gone, final = ev.lr_diverged(runs), ev.lr_final(runs)
    label = next(iter(gone))
    assert gone == {label: {0.1: [False], 2.0: [True, False]}}  # unfinished runs left out, as lr_final does
    assert {lr: len(v) for lr, v in final[label].items()} == {lr: len(v) for lr, v in gone[label].items()}
    fig = tf.lr_sweep(final, gone)
    dots = fig.data[1]
    assert list(dots.marker.symbol) == ["circle", "x", "circle"] and list(dots.text) == ["", "diverged", ""]
    assert list(tf.lr_sweep(final).data[1].marker.symbol) == ["circle"] * 3  # without flags nothing is marked


def test_training_curves_draw_train_loss_dotted_beside_test_loss():
    series = {"dense": {"test_acc": [[0.1, 0.9]], "train_acc": [[0.1, 0.95]], "test_loss": [[2.3, 0.4]],
                        "train_loss": [[2.3, 0.2]], "gap": [[0.0, 0.05]]}}
    fig = tf.training_curves(series)
    loss = [t for t in fig.data if t.xaxis == "x2" and t.mode == "lines+markers"]
    assert [(t.line.dash, list(t.y)) for t in loss] == [("solid", [2.3, 0.4]), ("dot", [2.3, 0.2])]


def test_similarity_between_groups_is_drawn_for_every_epoch():
    from resnext_viz.train import evidence as ev

    runs = [_run("grouped", 0.1, [2.3, 0.5, 0.3], 0.9), _run("grouped", 0.1, [2.3, 0.6], 0.9)]
    for r, ckas in zip(runs, ([0.9, 0.6, 0.4], [0.8, 0.5])):
        r.history = [replace(e, group_cka=c) for e, c in zip(r.history, ckas)]
    s = ev.series(runs)
    (label,) = s
    assert s[label]["group_cka"] == [[0.9, 0.6, 0.4], [0.8, 0.5]]
    fig = tf.metric_curves(s, "group_cka", "t", "linear CKA")
    mean = next(t for t in fig.data if t.mode == "lines+markers")
    assert list(mean.x) == [0, 1] and [round(v, 6) for v in mean.y] == [0.85, 0.55]  # epoch 0 = random init


def test_lr_sweep_ticks_at_the_rates_tried():
    fig = tf.lr_sweep({"dense": {0.03: [0.9], 2.0: [0.8]}, "grouped": {0.3: [0.9]}})
    assert list(fig.layout.xaxis.tickvals) == [0.03, 0.3, 2.0] and list(fig.layout.xaxis.ticktext) == ["0.03", "0.3", "2"]
