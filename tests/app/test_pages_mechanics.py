"""AppTest: the mechanics lessons (step-through, stacked layers, depthwise-separable) and the dense→depthwise slider."""

import pytest

from tests.conftest import run_page

INSIDE = "pages/inside_conv.py"
STACK = "pages/stacked_layers.py"
SEP = "pages/separable.py"
PARAMS = "pages/parameters.py"


def text(at) -> str:
    return " ".join(x.value for x in at.markdown) + " " + " ".join(x.value for x in at.code)


def test_inside_conv_defaults_agree_with_pytorch():
    at = run_page(INSIDE)
    assert not at.exception and not at.error
    t = text(at)
    assert "128 of 128 output values equal" in t and ":green[:material/check_circle:]" in t
    assert "y[0, 0, 0] =" in t and "channel 0:" in t and "channel 1:" in t and "channel 2:" not in t


def test_inside_conv_dense_toggle_reads_every_channel():
    at = run_page(INSIDE)
    at.toggle(key="sc_dense").set_value(True).run()
    assert not at.exception
    t = text(at)
    assert "every filter reads all 8 input planes" in t and "channel 7:" in t


@pytest.mark.parametrize("changes,words", [
    (dict(sc_c_in=16, sc_c_out=16, sc_h=10, sc_w=10), "at most 1,200"),
    (dict(sc_groups=3), "Valid here: 1, 2, 4, 8"),
    (dict(sc_h=1, sc_w=1, sc_k=5), "smaller than the 5×5 kernel"),
    (dict(sc_h=10, sc_w=10, sc_k=1, sc_padding=2, sc_c_in=2, sc_c_out=2, sc_groups=1), "at most 100"),
])
def test_inside_conv_bounds_show_a_message(changes, words):
    at = run_page(INSIDE)
    for key, value in changes.items():
        at.number_input(key=key).set_value(value)
    at.run()
    assert not at.exception
    assert words in at.error[0].value


@pytest.mark.parametrize("changes", [
    dict(sc_c_in=1, sc_c_out=1, sc_groups=1, sc_h=1, sc_w=1, sc_k=1, sc_stride=3, sc_padding=0, sc_seed=9999),
    dict(sc_c_in=16, sc_c_out=16, sc_groups=16, sc_h=1, sc_w=1, sc_k=5, sc_stride=1, sc_padding=2),
    dict(sc_c_in=4, sc_c_out=4, sc_groups=4, sc_h=10, sc_w=10, sc_k=1, sc_stride=1, sc_padding=0),  # 100 positions
])
def test_inside_conv_at_the_edges_of_its_bounds(changes):
    at = run_page(INSIDE)
    for key, value in changes.items():
        at.number_input(key=key).set_value(value)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "output values equal" in text(at)


def test_inside_conv_presets_and_a_remembered_position_that_no_longer_fits():
    at = run_page(INSIDE, {"sc_o": "7", "sc_i": "3", "sc_j": "3"})
    assert "y[7, 3, 3]" in text(at)
    at.button(key="sc_preset_strided").click().run()     # 7x7, stride 2, padding 1: a 4x4 output
    assert not at.exception and "y[7, 3, 3]" in text(at)
    at.button(key="sc_preset_seed_groups").click().run()  # 4 -> 8, G = 2
    assert not at.exception
    assert at.number_input(key="sc_c_in").value == 4 and at.number_input(key="sc_groups").value == 2
    assert "128 of 128 output values equal, the whole (8, 4, 4)" in text(at)
    at.number_input(key="sc_h").set_value(4).run()        # a 2x4 output: row 3 no longer exists
    assert not at.exception and "y[7, 1, 3]" in text(at)


def test_stacked_defaults_mix_everything_and_autograd_agrees():
    at = run_page(STACK)
    assert not at.exception and not at.error
    t = text(at)
    assert "every output channel can be influenced by every input channel" in t
    assert "The two are equal" in t and "**0 of 16** input-gradient entries" in t


def test_stacked_two_grouped_layers_and_the_bottleneck_presets():
    at = run_page(STACK)
    at.button(key="stk_preset_two_grouped").click().run()
    t = text(at)
    assert "each output channel is reached by 4 of the 16 input channels" in t
    assert "**12 of 16** input-gradient entries" in t and "The two are equal" in t
    at.button(key="stk_preset_bottleneck").click().run()
    assert "every output channel can be influenced" in text(at) and not at.exception


@pytest.mark.parametrize("codes,words", [("g4, g3", "must divide 16"), ("g4, conv", "not a layer code"),
                                         ("", "1 to 8 layers"), (",".join(["g2"] * 9), "Remove 1")])
def test_stacked_bad_codes_show_the_message(codes, words):
    at = run_page(STACK)
    at.text_input(key="stk_layers").set_value(codes).run()
    assert not at.exception
    assert words in at.error[0].value


@pytest.mark.parametrize("c,codes", [(256, ",".join(["g16", "shuffle16"] * 4)), (1, "g1, shuffle1")])
def test_stacked_at_the_edges_of_its_bounds(c, codes):
    at = run_page(STACK)
    at.number_input(key="stk_c").set_value(c)
    at.text_input(key="stk_layers").set_value(codes).run()
    assert not at.exception and not at.error
    assert "The two are equal" in text(at)


def test_separable_defaults_ratio_and_pytorch():
    at = run_page(SEP)
    assert not at.exception
    t = text(at)
    assert "1/128 + 1/9" in t and "exactly 137/1152" in t and "the same fraction, exactly" in t
    assert "8.41× fewer parameters" in t
    df = at.dataframe[0].value
    assert list(df["parameters"]) == [73_728, 2_304, 576, 8_192, 8_768]
    assert list(df["PyTorch (meta device)"])[:4] == ["✓ equal"] * 4


def test_separable_at_the_channel_bound():
    at = run_page(SEP, {"c_in": "8192", "c_out": "8192", "groups": "8192", "kh": "15"})
    assert not at.exception
    assert "1/8192 + 1/225" in text(at)


def test_slider_offers_only_valid_group_counts():
    at = run_page(PARAMS)
    s = at.select_slider(key="slider_groups")
    assert [int(x) for x in s.options] == [1, 2, 4, 8, 16, 32, 64]
    s.set_value(32).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Parameters"] == "2,304" and metrics["MACs"] == "6,718,464"
    assert any("Measured here" in c.value for c in at.caption)
    at.number_input(key="conv_c_in").set_value(12)
    at.number_input(key="conv_c_out").set_value(18)
    at.number_input(key="conv_groups").set_value(3).run()
    assert not at.exception
    s = at.select_slider(key="slider_groups")
    assert [int(x) for x in s.options] == [1, 2, 3, 6]
    assert int(s.value) in (1, 2, 3, 6)


def test_slider_refuses_to_time_a_huge_layer():
    at = run_page(PARAMS, {"c_in": "8192", "c_out": "8192", "groups": "1", "h": "2048", "w": "2048"})
    assert not at.exception
    assert any("was not run" in c.value for c in at.caption)


def test_a_sidebar_preset_sets_the_separable_page_in_place():
    at = run_page(SEP)
    at.button(key="preset_depthwise").click().run()
    assert not at.exception
    assert "1/64 + 1/9" in text(at) and "Depthwise-separable convolution" in at.title[0].value


def test_stacked_add_and_remove_layers_with_buttons():
    at = run_page(STACK)
    at.button(key="stk_pop").click().run()                 # g4, shuffle4
    assert at.text_input(key="stk_layers").value == "g4, shuffle4"
    at.selectbox(key="stk_kind").set_value("dense conv").run()
    at.button(key="stk_add").click().run()
    assert at.text_input(key="stk_layers").value == "g4, shuffle4, g1"
    assert not at.exception and "every output channel can be influenced" in text(at)


def test_stacked_next_layer_groups_follow_the_width():
    at = run_page(STACK)
    at.selectbox(key="stk_next_g").set_value(16).run()
    at.number_input(key="stk_c").set_value(12)
    at.text_input(key="stk_layers").set_value("g3").run()
    assert not at.exception
    assert [int(x) for x in at.selectbox(key="stk_next_g").options] == [1, 2, 3, 4, 6, 12]


def test_separable_and_slider_at_the_smallest_layer():
    query = {"c_in": "1", "c_out": "1", "groups": "1", "kh": "1", "h": "1", "w": "1"}
    at = run_page(SEP, query)
    assert not at.exception and "1/1 + 1/1" in text(at) and "2.00× more parameters" in text(at)
    at = run_page(PARAMS, query)
    assert not at.exception
    assert any("only G = 1 is valid" in x.value for x in at.info)
    assert {m.label: m.value for m in at.metric}["Parameters"] == "1"
