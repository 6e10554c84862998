"""The lesson's steps, as data: one list, in teaching order, for a 60-90 minute class.

Each Step names the page it opens (a url_path of resnext_viz.lessons), the URL state that
page understands (its query parameters, as the page's ui.Field names spell them), two or
three sentences on what to look at and which figure, and the exercise kind asked before
the answer is shown (a key of resnext_viz.lesson.exercises.KINDS, or None).

Adding or moving a step is one edit of STEPS below. Step numbers in a link (?step=6) are
positions in STEPS, so an insertion renumbers the steps after it; a step's questions are
drawn from the seed and the step's `id`, so they do not change when other steps move.
A new page's step is inserted where it belongs in the teaching order.
tests/app/test_lesson.py opens every step's page with its state and checks the widgets: add
the new page's URL names and widget keys to its STATE_KEYS. _conv(), _inside(), _stack() and
_card() below give a page's whole state, so a step shows the same thing whatever the learner
changed before.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from resnext_viz import lessons
from resnext_viz.conv.arithmetic import ConvSpec
from resnext_viz.conv.stepthrough import StepSpec


def _conv(view: dict | None = None, **values) -> dict[str, str]:
    """Return a convolution page's whole URL state: ConvSpec's defaults, a square kernel, then `values`.

    Every field is set, so a step shows the same thing whatever the learner changed before.
    """
    base = {"c_in": ConvSpec.c_in, "c_out": ConvSpec.c_out, "kh": ConvSpec.kh, "square": 1, "groups": ConvSpec.groups,
            "bias": 0, "h": ConvSpec.h, "w": ConvSpec.w, "stride": ConvSpec.stride, "padding": ConvSpec.padding}
    base.update(values)
    base["kw"] = base["kh"]
    return {k: str(v) for k, v in {**base, **(view or {})}.items()}


def _card(**values) -> dict[str, str]:
    """Return the Cardinality page's whole URL state (its defaults, then `values`)."""
    base = {"mode": "preserved", "budget": 69_632, "cardinalities": "1,2,4,8,16,32,64", "width": 128,
            "channels": 256, "hw": 56}
    return {k: str(v) for k, v in {**base, **values}.items()}


def _inside(o: int, i: int, j: int, **values) -> dict[str, str]:
    """Return Inside one grouped convolution's whole URL state: StepSpec's defaults, `values`, the value y[o, i, j]."""
    names = ("c_in", "c_out", "groups", "h", "w", "k", "stride", "padding", "seed")
    base = {f"sc_{k}": values.get(k, getattr(StepSpec, k)) for k in names}
    base.update(sc_dense=0, sc_o=o, sc_i=i, sc_j=j)
    return {k: str(v) for k, v in base.items()}


def _stack(c: int, layers: str, target: int = 0) -> dict[str, str]:
    """Return Stacked layers' whole URL state: the width, the layer codes and the target group."""
    return {"stk_c": str(c), "stk_layers": layers, "stk_target": str(target)}


@dataclass(frozen=True)
class Step:
    """One step of the lesson: a page in a given state, what to look at, and a question."""

    id: str                 # stable name: seeds its questions, names it in CSVs
    title: str
    page: str               # url_path of a lessons.LESSONS entry
    text: str               # two or three sentences: what to look at, which figure, why
    state: dict[str, str] = field(default_factory=dict)  # the page's query parameters
    exercise: str | None = None


STEPS: tuple[Step, ...] = (
    Step("dense", "A convolution mixes every channel", "parameters",
         "With G = 1 each of the 128 output channels reads all 64 input channels, with a 3×3 kernel of its own for "
         "each of them, so the layer holds 64 × 128 × 3 × 3 = 73,728 weights. Read **The formula** and compare it with"
         " **PyTorch says** on the right, which counts the same layer built by nn.Conv2d.",
         _conv(c_in=64, c_out=128, kh=3, groups=1), "dense_weights"),
    Step("grouped", "Grouped convolution: divide by G", "parameters",
         "Now G = 32: each group reads 2 of the 64 input channels and writes 4 of the 128 outputs, and the weights "
         "fall to 73,728 / 32 = 2,304. The **Weight reduction** metric shows 96.9% (1 − 1/G) at the same input and "
         "output width; **Per group** under The formula tells the same story group by group.",
         _conv(c_in=64, c_out=128, kh=3, groups=32), "weights"),
    Step("valid_groups", "Which group counts are valid", "parameters",
         "G must divide both C_in and C_out, so for 96 → 144 the valid group counts are the divisors of gcd(96, 144) ="
         " 48. The chart **Every valid group count** at the bottom draws the parameters and MACs at each of them; type"
         " G = 5 to see the page refuse it and offer the nearest valid count.",
         _conv(c_in=96, c_out=144, kh=3, groups=48), "valid_groups"),
    Step("connectivity", "Groups are contiguous blocks", "connectivity",
         "Group 1 owns output channels [8, 16) and reads only input channels [4, 8): blocks of neighbours, not "
         "interleaved channels. In the **Connection mask** the connected cells form 4 blocks on the diagonal; every "
         "cell off them is a weight that does not exist.",
         _conv({"highlight": "1", "compare": "0"}, c_in=16, c_out=32, kh=3, groups=4), "feeds"),
    Step("inside_conv", "One output value, written out", "inside_conv",
         "Here the layer is small: 8 → 8 channels, G = 4, a 3×3 kernel on a 6 × 6 input of small integers. Output "
         "channel 5 is in group 2, so its filter w[5] of shape (2, 3, 3) reads input channels 4 and 5 only, and **One"
         " output value** writes y[5, 1, 2] out as its 2·3·3 = 18 products plus the bias: the two channels' sums 3 "
         "and 3, bias −2, so 3 + 3 − 2 = 4. **PyTorch "
         "says** beside it gives the same 4 from F.conv2d on the same tensors, and checks all 128 output values.",
         _inside(5, 1, 2), "dot_terms"),
    Step("weight_tensor", "Dense and grouped side by side", "connectivity",
         "Side by side, the dense layer has 16 × 32 = 512 connections and the grouped one 512 / 4 = 128. PyTorch keeps"
         " all groups in one weight tensor of shape (C_out, C_in/G, kH, kW) = (32, 4, 3, 3): **The weight tensor** "
         "cuts its rows into 4 slices, and slice g is applied only to input block g.",
         _conv({"highlight": "-1", "compare": "1"}, c_in=16, c_out=32, kh=3, groups=4)),
    Step("output_shape", "Output shape and multiply-adds", "parameters",
         "With stride 2 and padding 1 the output height is ⌊(56 + 2·1 − 3) / 2⌋ + 1 = 28, so the output is (1, 128, "
         "28, 28). Each output value costs (C_in/G)·kH·kW = 2·3·3 = 18 multiply-adds, 128·28·28·18 = 1,806,336 MACs in"
         " all: see **Shapes and cost for one image**, where FLOPs count 2 per MAC.",
         _conv(c_in=64, c_out=128, kh=3, groups=32, h=56, w=56, stride=2, padding=1), "output_shape"),
    Step("depthwise", "Depthwise: one channel per group", "parameters",
         "With G = C_in = C_out = 64 every group is one channel (MobileNet's depthwise 3×3): 64·64·3·3 / 64 = 576 "
         "weights, and each output value costs 9 multiply-adds, 1/64 of the dense layer's. MobileNet follows it with a"
         " dense 1×1; that pair costs 1/N + 1/k² of a standard k×k convolution with N outputs (MobileNet v1, sec. "
         "3.1).",
         _conv(c_in=64, c_out=64, kh=3, groups=64, padding=1), "depthwise_macs"),
    Step("separable", "Depthwise-separable: depthwise, then 1×1", "separable",
         "MobileNet's pair for 64 → 128 channels and a 3×3 kernel: the depthwise 3×3 holds 3·3·64 = 576 weights, the "
         "pointwise 1×1 64·128 = 8,192, together 8,768 against the standard layer's 73,728. That is 1/C_out + 1/k² ="
         " 1/128 + 1/9 = 137/1152 ≈ 0.1189 of its weights and of its MACs, as **The cost ratio, written out** shows."
         " The table's grouped row (G = 32) keeps 73,728 / 32 = 2,304 weights in one layer whose 3×3 filters each "
         "read 2 channels.",
         _conv(c_in=64, c_out=128, kh=3, groups=32, padding=1), "separable_weights"),
    Step("stacks", "Stacked groups and channel shuffle", "stacked_layers",
         "Two grouped layers g4, g4 of width c = 16 keep the groups apart: each output channel is reached by only 4 "
         "of the 16 input channels. Put ShuffleNet's channel shuffle between them (g4, shuffle4, g4, opened here) and"
         " every output channel can be influenced by all 16, because the shuffle hands each group of the second "
         "layer one channel from each group of the first. **The same fact by autograd** finds the same pattern, 256 "
         "of 256 entries nonzero, in the Jacobian of a random-weight PyTorch stack.",
         _stack(16, "g4, shuffle4, g4"), "reachability"),
    Step("three_forms", "ResNeXt's block, three ways", "three_forms",
         "The paper's Fig. 3 draws one block three ways: (a) 32 branches of 1×1 → 3×3 → 1×1 summed, (b) early "
         "concatenation, (c) one 1×1, a grouped 3×3 with 32 groups and one 1×1. Built here from the same copied "
         "weights, their outputs agree to rounding in float64: read **max |(a) − (c)|** at the top, then the "
         "block-diagonal mask under **Why (a) and (c) are the same function**.",
         {"c_in": "256", "C": "32", "d": "4", "c_out": "256", "stride": "1", "h": "14", "w": "14",
          "dtype": "float64"}, "template_weights"),
    Step("table2", "Cardinality at the same weights (Table 2)", "cardinality",
         "At the 69,632 weights of ResNet-50's block template the solver picks, for each C, the whole d whose block "
         "comes closest: 1×64d, 2×40d, 4×24d, 8×14d and 32×4d, the paper's Table 2. The width C·d of the grouped 3×3 "
         "grows from 64 to 128 while the weights stay within 3% of the budget; the table cites Table 3's ImageNet "
         "top-1 errors beside them (23.9% for 1×64d down to 22.2% for 32×4d, single runs).",
         _card(mode="preserved", budget=69_632, cardinalities="1,2,4,8,32"),
         "table2_d"),
    Step("fixed_width", "Cardinality at the same width", "cardinality",
         "Hold the width C·d = 128 fixed instead: the two 1×1s keep 2·256·128 = 65,536 weights whatever C is, and the "
         "grouped 3×3 has 9·128²/C, so only the 3×3 shrinks as C grows. This is the view in which \"grouped "
         "convolutions reduce parameters\"; ResNeXt's experiments spend that saving on width instead.",
         _card(mode="fixed", width=128), "fixed_width"),
    Step("resnet_vs_resnext", "ResNet-50 vs ResNeXt-50", "resnet_vs_resnext",
         "ResNeXt-50 (32×4d) keeps ResNet-50's stages and changes two settings, groups=32 and width_per_group=4, which"
         " widen stage 1's bottleneck from 256 → 64 → 64 → 256 to 256 → 128 → 128 → 256. Counted from the models, they"
         " have 25,557,032 and 25,028,904 parameters and 4.09 and 4.23 GMACs: compare them stage by stage in the chart"
         " and the table under it.",
         {"pair": "50", "size": "224"}, "bottleneck_width"),
    Step("group_features", "What the groups see", "group_features",
         "layer1.0.conv2 is ResNeXt-50's first grouped 3×3: 128 channels in 32 groups of 4, and the grid frames each "
         "group's maps in its colour. Part of any block pattern in the channel correlation comes from the wiring "
         "alone, so read the inside/across-group ratio beside the three baselines the page shows.",
         {"source": "resnext50", "layer": "layer1.0.conv2", "image": "shapes", "page": "1"}),
    Step("gradients", "Gradients stay inside a group", "gradients",
         "Backpropagate output channel 6 (in group 1) of layer1.0.conv2: only that channel's filter, C_in/G·3·3 = 4·9 "
         "= 36 weights, can get a non-zero gradient, and of the input only group 1's 4 channels. The zeros on other "
         "filters a dense layer has too; the zeros on other groups' inputs are what grouping adds.",
         {"layer": "layer1.0.conv2", "target": "channel", "group": "1", "channel": "6"}, "filter_weights"),
    Step("train", "Dense vs grouped, trained here", "train",
         "**The networks** lists the three small networks trained here on the 8×8 digits, with parameters counted "
         "by PyTorch: dense (C = 1, d = 16) 8,682, grouped at matched parameters (C = 8, d = 4, the d the solver "
         "picks) 8,554, 1.5% fewer, and grouped at matched width (C = 8, d = 2) 4,650. Press **Run** to train each "
         "from 3 seeds for 8 epochs: in the **Training curves** chart every line is the mean over the seeds and the "
         "shaded band spans the lowest to the highest seed, so read a gap between two variants against that spread.",
         {"preset": "default", "dataset": "digits", "epochs": "8", "seeds": "3"}, "train_matched_d"),
    Step("speed", "Fewer FLOPs is not less time", "performance_lab",
         "Press **Run** to time a 3×3 convolution at every group count on the machine running this app. G = 32 does "
         "1/32 of G = 1's FLOPs but still reads the whole input and writes the whole output; on the H100 reference the"
         " two took the same time (128 → 128, batch 64, float32: 0.202 vs 0.198 ms) for different reasons: G = 1 was "
         "compute-bound, G = 32 memory-bound and at about 31% of peak bandwidth. Compare your points with the "
         "FLOPs-ratio line in **Time against FLOPs**.",
         {"lab_channels": "128", "lab_size": "56", "lab_batch": "1", "lab_dtype": "float32", "lab_channels_last": "0",
          "lab_loop": "0", "lab_bottleneck": "0", "lab_budget": "10", "lab_threads": "1"}, "speed"),
    Step("claims", "The article's claims, on trial", "claims",
         "Each of the seed article's twelve claims gets a verdict: *computed* from the training runs on this server "
         "(95% intervals over seeds; overlapping intervals give \"not supported here\"), *checked* exactly, or "
         "*cited* with its source (ResNeXt sec. 5.1 and Tables 3–4, Deep Roots, ShuffleNet V2's guideline G2, timm's "
         "throughput tables). The computed verdicts depend on which runs have finished, a claim whose experiment has "
         "not run says \"not measured yet\", and they speak only for these small networks on 8×8 digits. The live "
         "check at the top opens on group 0: one SGD step on its filters leaves the other 7 groups' outputs at that "
         "layer exactly unchanged, yet every logit moves, because the next 1×1 convolution mixes the groups.",
         {"group": "0"}),
)


def count() -> int:
    """Return the number of steps."""
    return len(STEPS)


def parse_step(raw: str | None) -> tuple[int, str | None]:
    """Return (the 1-based step number of a URL value, None) or (1, a sentence saying why it was refused).

    A missing value is step 1 without a complaint.
    """
    if raw is None or raw == "":
        return 1, None
    try:
        n = int(str(raw).strip())
    except ValueError:
        return 1, f"The link asks for step '{raw}', which is not a number. The lesson has steps 1–{count()}."
    if not 1 <= n <= count():
        return 1, f"The link asks for step {n}, but the lesson has steps 1–{count()}."
    return n, None


def page_problem(step: Step) -> str | None:
    """Return a sentence when the step's page is not in the app's lesson registry, else None."""
    try:
        lessons.by_path(step.page)
    except KeyError:
        return f"Step “{step.title}” opens the page '{step.page}', which this version of the app does not have."
    return None


def page_file(step: Step) -> str:
    """Return the page script of a step (KeyError if the page is missing)."""
    return lessons.by_path(step.page).file


def page_url(step: Step) -> str:
    """Return the relative link to the step's page in its state, e.g. 'parameters?c_in=64&groups=32'."""
    from urllib.parse import urlencode

    return step.page + ("?" + urlencode(step.state) if step.state else "")
