"""Block-lesson figures compared by structure."""

import pytest

from resnext_viz.blocks import cardinality as card
from resnext_viz.blocks import figures as fb
from resnext_viz.blocks import stages as ms
from resnext_viz.blocks.builder import BlockConfig, layer_table
from resnext_viz.palette import group_color


def test_cardinality_chart_budget_line_and_cited_points():
    rows = card.solve_preserved_complexity()
    fig = fb.cardinality_chart(rows, 69_632)
    budget = [t for t in fig.data if t.name.startswith("budget")][0]
    assert set(budget.y) == {69_632}
    cited = [t for t in fig.data if "cited" in t.name][0]
    assert list(cited.y) == [23.9, 23.0, 22.6, 22.3, 22.2]
    assert fig.layout.meta["cited"] == 5


def test_fixed_width_chart_stacks_to_block_weights():
    rows = card.fixed_width_rows(128)
    fig = fb.fixed_width_chart(rows)
    assert [a + b for a, b in zip(fig.data[0].y, fig.data[1].y)] == [r.params for r in rows]


def test_forms_diagram_colours_branches_like_groups():
    fig = fb.forms_diagram(256, 32, 4, 256)
    assert fig.layout.meta["drawn"] == 4
    fills = {s.fillcolor for s in fig.layout.shapes}
    assert {group_color(i) for i in range(4)} <= fills
    assert any("28<br>more" in (a.text or "") for a in fig.layout.annotations)


def test_stage_comparison_sums_to_totals():
    a, b = ms.stage_table("resnet50"), ms.stage_table("resnext50_32x4d")
    fig = fb.stage_comparison(["ResNet-50", "ResNeXt-50"], [a, b])
    params = [t for t in fig.data if t.xaxis == "x"]
    assert round(sum(params[0].y) * 1e6) == a.params and round(sum(params[1].y) * 1e6) == b.params


def test_layer_breakdown_highlights_the_grouped_conv():
    fig = fb.layer_breakdown(list(layer_table(BlockConfig()).rows))
    assert list(fig.data[0].x) == ["conv1", "conv2", "conv3"]
    assert fig.data[0].marker.color[1] == group_color(0)


def test_side_by_side_table_totals():
    a, b = ms.stage_table("resnet50"), ms.stage_table("resnext50_32x4d")
    rows = ms.side_by_side(a, b, "R", "X")
    assert rows[-1]["params, R"] == 25_557_032 and rows[-1]["params, X"] == 25_028_904
    assert rows[2]["X"].startswith("[1×1, 256; 3×3, 256, C=32")


def test_forms_times_whiskers_are_the_quartiles():
    fig = fb.forms_times({"a": (4.0, 5.0, 7.0), "c": (1.5, 1.8, 1.9)}, {"a": "(a)", "c": "(c)"})
    bar = fig.data[0]
    assert list(bar.y) == [5.0, 1.8]
    assert list(bar.error_y.array) == [2.0, pytest.approx(0.1)] and list(bar.error_y.arrayminus) == [1.0, pytest.approx(0.3)]
