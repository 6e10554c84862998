"""AppTest: the ResNeXt block lessons run, show their defaults, and explain bad configurations."""

from tests.conftest import run_page

CARD, FORMS, BUILDER, RVR = ("pages/cardinality.py", "pages/three_forms.py", "pages/block_builder.py",
                             "pages/resnet_vs_resnext.py")


def metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def test_cardinality_reproduces_table_2_and_cites_table_3():
    at = run_page(CARD)
    assert not at.exception
    df = at.dataframe[0].value
    rows = {int(r["C"]): (int(r["d"]), int(r["weights"])) for _, r in df.iterrows()}
    assert rows[1] == (64, 69_632) and rows[2] == (40, 69_760) and rows[4] == (24, 69_888)
    assert rows[8] == (14, 71_456) and rows[32] == (4, 70_144)
    cited = dict(zip(df["C"], df["top-1 error % (paper, cited)"]))
    assert cited[32] == "22.2" and cited[1] == "23.9" and cited[2] == "23.0"
    assert cited[16] == "—"  # not in the paper: a dash, never None
    assert "cited, not computed here" in " ".join(c.value for c in at.caption)


def test_cardinality_fixed_width_view_and_url():
    at = run_page(CARD, {"mode": "fixed", "width": "64"})
    assert not at.exception
    df = at.dataframe[0].value
    assert list(df["C"]) == [1, 2, 4, 8, 16, 32, 64]
    assert list(df["of which the 3×3"]) == [9 * 64 * 64 // c for c in (1, 2, 4, 8, 16, 32, 64)]


def test_cardinality_budget_too_small_is_explained():
    at = run_page(CARD)
    at.number_input(key="card_budget").set_value(1_000).run()
    assert not at.exception and "even d = 1 needs" in at.error[0].value


def test_cardinality_bad_url_falls_back():
    at = run_page(CARD, {"mode": "sideways", "cardinalities": "1,3,x"})
    assert not at.exception
    notes = " ".join(w.value for w in at.warning)
    assert "view" in notes and "cardinalities" in notes
    assert len(at.dataframe[0].value) == 7


def test_three_forms_agree_in_float64_by_default():
    at = run_page(FORMS)
    assert not at.exception
    m = metrics(at)
    assert float(m["max |(a) − (c)|"]) < 1e-10 and float(m["max |(a) − (b)|"]) < 1e-10
    assert m["weights in each form"] == "70,144"


def test_three_forms_invalid_size_explained():
    at = run_page(FORMS)
    at.number_input(key="forms_d").set_value(4096).run()
    assert not at.exception and "over the 4096 limit" in at.error[0].value


def test_block_builder_defaults_match_pytorch_and_time_it():
    at = run_page(BUILDER)
    assert not at.exception
    m = metrics(at)
    assert m["Parameters"] == "71,168" and m["d × C"] == "4 × 32 = 128"
    assert any("PyTorch says" in x.value and "71,168 parameters" in x.value and "check_circle" in x.value
               for x in at.markdown)
    at.slider(key="blk_budget").set_value(0.5).run()
    at.button(key="blk_time").click().run()
    assert not at.exception
    m = metrics(at)
    assert m["Forward, median"].endswith(" ms") and float(m["Forward, median"].split()[0]) > 0
    assert not at.code  # the code expander is closed: its code is built when opened
    at.session_state["code_block"] = True
    at.run()
    assert "class Bottleneck" in at.code[0].value


def test_block_builder_invalid_planes_and_dtype_explained():
    at = run_page(BUILDER)
    at.number_input(key="blk_planes").set_value(8).run()
    assert not at.exception and "0 channels per group" in at.error[0].value
    at.number_input(key="blk_planes").set_value(64).run()
    at.selectbox(key="blk_dtype").set_value("float16").run()
    at.button(key="blk_time").click().run()
    assert not at.exception and "float16 on the CPU" in at.error[0].value


def test_block_builder_stride_without_downsample_explained():
    at = run_page(BUILDER, {"stride": "2", "downsample": "off"})
    assert not at.exception and "shortcut" in at.error[0].value


def test_block_builder_cuda_absent_says_why():
    at = run_page(BUILDER, {"device": "cuda"})
    assert not at.exception
    assert any("does not have; using the CPU" in w.value for w in at.warning)
    assert any("CUDA GPU not listed" in c.value for c in at.sidebar.caption)


def test_resnet_vs_resnext_totals():
    at = run_page(RVR)
    assert not at.exception
    m = metrics(at)
    assert m["ResNet-50 parameters"] == "25,557,032" and m["ResNeXt-50 (32×4d) parameters"] == "25,028,904"
    assert m["ResNet-50 GMACs"] == "4.09" and m["ResNeXt-50 (32×4d) GMACs"] == "4.23"
    at.selectbox(key="rvr_pair").set_value("101-32x8d").run()
    assert metrics(at)["ResNeXt-101 (32×8d) parameters"] == "88,791,336"
    text = " ".join(x.value for x in at.markdown)
    assert "589,824 as paths, 589,824 as a wide dense block" in text


def test_block_builder_out_of_memory_is_a_message(monkeypatch):
    from resnext_viz.blocks import timing as block_timing

    def oom(*args, **kwargs):
        raise block_timing.DeviceOutOfMemory("The block did not fit in CUDA memory: lower the batch or the input "
                                             "size, or run it on the CPU.")

    monkeypatch.setattr(block_timing, "time_block", oom)
    at = run_page(BUILDER)
    at.button(key="blk_time").click().run()
    assert not at.exception
    assert "did not fit" in at.error[0].value
