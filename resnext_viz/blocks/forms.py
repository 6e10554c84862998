"""The paper's three equivalent forms of a ResNeXt block (Xie et al. 2017, Fig. 3).

    (a) C parallel branches, each 1x1 (c_in -> d) -> 3x3 (d -> d) -> 1x1 (d -> c_out), summed
    (b) the same C branches up to the 3x3, concatenated, then one 1x1 (C*d -> c_out)
    (c) one 1x1 (c_in -> C*d) -> one grouped 3x3 (C groups) -> one 1x1 (C*d -> c_out)

All three are built from one set of branch weights, copied into each form, so any
difference in their outputs is floating-point rounding. The residual shortcut is the
same in all three and left out.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import nn

from resnext_viz import budget
from resnext_viz.timing import Timing, check_dtype, measure, resolve_device

__all__ = [
    "FormSpec",
    "FormWeights",
    "FORM_NAMES",
    "BranchesSum",
    "EarlyConcat",
    "GroupedForm",
    "BranchSlice",
    "FormsComparison",
    "init_form_weights",
    "build_forms",
    "compare_forms",
    "branch_slices",
    "block_diagonal",
]

FORM_NAMES = {
    "a": "(a) C branches, summed",
    "b": "(b) early concatenation",
    "c": "(c) grouped convolution",
}
PAIRS = (("a", "b"), ("a", "c"), ("b", "c"))


MAX_CHANNELS = 4096  # c_in, c_out and the grouped width C x d
MAX_FEATURE_ELEMENTS = 2**26  # the largest feature map of the comparison (256 MB in float32)
# (lo, hi) of every whole-number field: the validator, the widgets and the URL fields all read these.
BOUNDS = {"c_in": (1, MAX_CHANNELS), "C": (1, 512), "d": (1, MAX_CHANNELS), "c_out": (1, MAX_CHANNELS),
          "stride": (1, 2), "height": (1, 512), "width": (1, 512), "batch": (1, 256)}


@dataclass(frozen=True)
class FormSpec:
    """One aggregated transformation and its input; raises ValueError when it cannot be built."""

    c_in: int = 256  # Fig. 3's input: 256 channels
    C: int = 32  # cardinality, Fig. 3's 32 paths
    d: int = 4  # channels per path, Fig. 3's 4
    c_out: int = 256  # Fig. 3's output: 256 channels
    stride: int = 1  # 2 halves height and width in the 3x3, as on a stage's first block
    height: int = 14  # small: form (a) loops over C branches in Python, and this keeps it quick on a CPU
    width: int = 14
    batch: int = 2

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"{f.name} must be a whole number, got {v!r}.")
        for name, (lo, hi) in BOUNDS.items():
            v = getattr(self, name)
            if name != "stride" and not lo <= v <= hi:
                raise ValueError(f"{name} must be between {lo} and {hi}, got {v}.")
        if self.stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2 (2 halves height and width), got {self.stride}.")
        if self.C * self.d > MAX_CHANNELS:
            raise ValueError(f"C × d = {self.C} × {self.d} = {self.C * self.d:,} channels, over the {MAX_CHANNELS} limit; "
                             "lower C or d.")
        largest = self.batch * max(self.c_in, self.C * self.d, self.c_out) * self.height * self.width
        if largest > MAX_FEATURE_ELEMENTS:
            raise ValueError(f"the largest feature map would hold {largest:,} numbers, over the {MAX_FEATURE_ELEMENTS:,} limit "
                             "for this comparison; lower the batch, the channels or the input size.")

    @property
    def out_hw(self) -> tuple[int, int]:
        """Return the output (height, width) in pixels."""
        return ((self.height - 1) // self.stride + 1, (self.width - 1) // self.stride + 1)

    @property
    def params(self) -> int:
        """Return the weights of any of the three forms: C * (c_in*d + 9*d*d + d*c_out) (the paper's eq. 4)."""
        return self.C * (self.c_in * self.d + 9 * self.d * self.d + self.d * self.c_out)

    @property
    def macs(self) -> int:
        """Return multiply-accumulates for the whole batch (the same for all three forms)."""
        h, w = self.out_hw
        return self.batch * (self.C * self.c_in * self.d * self.height * self.width
                             + self.C * (9 * self.d * self.d + self.d * self.c_out) * h * w)


@dataclass(frozen=True)
class FormWeights:
    """The branch weights every form copies from, in branch-major layout."""

    w1: torch.Tensor  # (C, d, c_in): branch i's 1x1 reduce
    w2: torch.Tensor  # (C, d, d, 3, 3): branch i's 3x3
    w3: torch.Tensor  # (C, c_out, d): branch i's 1x1 expand


def init_form_weights(spec: FormSpec, seed: int = 0, dtype: torch.dtype = torch.float64) -> FormWeights:
    """Return He-scaled random branch weights (on the CPU) so activations stay near unit size."""
    g = torch.Generator().manual_seed(seed)
    C, d = spec.C, spec.d
    w1 = torch.randn(C, d, spec.c_in, generator=g, dtype=dtype) * (2.0 / spec.c_in) ** 0.5
    w2 = torch.randn(C, d, d, 3, 3, generator=g, dtype=dtype) * (2.0 / (9 * d)) ** 0.5
    w3 = torch.randn(C, spec.c_out, d, generator=g, dtype=dtype) * (1.0 / (C * d)) ** 0.5
    return FormWeights(w1, w2, w3)


def _conv(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, groups=groups, bias=False)


def _branch_head(spec: FormSpec) -> list[nn.Module]:
    return [_conv(spec.c_in, spec.d, 1), nn.ReLU(), _conv(spec.d, spec.d, 3, spec.stride), nn.ReLU()]


class BranchesSum(nn.Module):
    """Form (a): C branches 1x1 -> 3x3 -> 1x1, outputs summed.

    No batch norm and no bias, in all three forms: with them the forms are no longer the
    same function for one set of copied weights (a bias or BN after each branch's last
    1x1 acts per branch before the sum, while form (c) has one after the sum), and the
    point here is an exact identity.
    """

    def __init__(self, spec: FormSpec):
        super().__init__()
        self.branches = nn.ModuleList(nn.Sequential(*_branch_head(spec), _conv(spec.d, spec.c_out, 1))
                                      for _ in range(spec.C))

    def load(self, w: FormWeights) -> "BranchesSum":
        """Copy the branch weights in and return self."""
        with torch.no_grad():
            for i, branch in enumerate(self.branches):
                branch[0].weight.copy_(w.w1[i][:, :, None, None])  # (d, c_in, 1, 1)
                branch[2].weight.copy_(w.w2[i])  # (d, d, 3, 3)
                branch[4].weight.copy_(w.w3[i][:, :, None, None])  # (c_out, d, 1, 1)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branches[0](x)
        for branch in self.branches[1:]:
            out = out + branch(x)
        return out  # (B, c_out, H', W')


class EarlyConcat(nn.Module):
    """Form (b): C branches 1x1 -> 3x3, concatenated along channels, then one 1x1 (no BN, no bias: see (a))."""

    def __init__(self, spec: FormSpec):
        super().__init__()
        self.branches = nn.ModuleList(nn.Sequential(*_branch_head(spec)) for _ in range(spec.C))
        self.conv3 = _conv(spec.C * spec.d, spec.c_out, 1)

    def load(self, w: FormWeights) -> "EarlyConcat":
        """Copy the branch weights in and return self."""
        C, c_out, d = w.w3.shape
        with torch.no_grad():
            for i, branch in enumerate(self.branches):
                branch[0].weight.copy_(w.w1[i][:, :, None, None])  # (d, c_in, 1, 1)
                branch[2].weight.copy_(w.w2[i])  # (d, d, 3, 3)
            # (C, c_out, d) -> (c_out, C, d) -> (c_out, C*d): branch i owns columns i*d:(i+1)*d
            self.conv3.weight.copy_(w.w3.permute(1, 0, 2).reshape(c_out, C * d)[:, :, None, None])
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(torch.cat([b(x) for b in self.branches], dim=1))  # cat: (B, C*d, H', W')


class GroupedForm(nn.Module):
    """Form (c): 1x1 (c_in -> C*d) -> grouped 3x3 (C groups) -> 1x1 (C*d -> c_out) (no BN, no bias: see (a))."""

    def __init__(self, spec: FormSpec):
        super().__init__()
        width = spec.C * spec.d
        self.conv1 = _conv(spec.c_in, width, 1)
        self.conv2 = _conv(width, width, 3, spec.stride, groups=spec.C)
        self.conv3 = _conv(width, spec.c_out, 1)
        self.relu = nn.ReLU()

    def load(self, w: FormWeights) -> "GroupedForm":
        """Copy the branch weights in and return self."""
        C, d, c_in = w.w1.shape
        c_out = w.w3.shape[1]
        with torch.no_grad():
            self.conv1.weight.copy_(w.w1.reshape(C * d, c_in)[:, :, None, None])  # (C*d, c_in, 1, 1)
            self.conv2.weight.copy_(w.w2.reshape(C * d, d, 3, 3))  # (C*d, d, 3, 3): group i = rows i*d:(i+1)*d
            self.conv3.weight.copy_(w.w3.permute(1, 0, 2).reshape(c_out, C * d)[:, :, None, None])  # (c_out, C*d, 1, 1)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(self.relu(self.conv2(self.relu(self.conv1(x)))))  # (B, c_out, H', W')


_FORM_CLASSES = {"a": BranchesSum, "b": EarlyConcat, "c": GroupedForm}


def build_forms(spec: FormSpec, weights: FormWeights | None = None, device: str | torch.device = "cpu",
                dtype: torch.dtype = torch.float64, seed: int = 0) -> dict[str, nn.Module]:
    """Return forms 'a', 'b', 'c' in eval mode, each holding its own copy of the same weights."""
    w = weights if weights is not None else init_form_weights(spec, seed)
    forms = {}
    for key, cls in _FORM_CLASSES.items():
        with torch.device("meta"):  # no random init: every weight is copied in below
            form = cls(spec)
        form = form.to_empty(device="cpu").to(w.w1.dtype).load(w)  # load at the source's precision
        forms[key] = form.to(device=device, dtype=dtype).eval()
    return forms


@dataclass(frozen=True)
class FormsComparison:
    """How far apart the three forms' outputs are, their sizes, and their times (seconds)."""

    spec: FormSpec
    device: str
    dtype: str
    max_abs_diff: dict[str, float]  # 'a-b', 'a-c', 'b-c'
    output_max_abs: float  # the size of the outputs, for scale
    params: dict[str, int]  # per form, counted from the modules
    macs: int  # per form, for the whole batch
    times: dict[str, Timing] | None  # per form, None when not timed


def compare_forms(spec: FormSpec, device: str | torch.device = "cpu", dtype: str | torch.dtype = torch.float64,
                  seed: int = 0, *, time_forms: bool = True, budget_s: float = 0.3) -> FormsComparison:
    """Return the three forms' pairwise max abs output differences, parameter counts and times."""
    dev = resolve_device(device)
    dt = check_dtype(dev, dtype)
    if dev.type == "cpu":  # checked before any tensor exists (see budget.py)
        problem = budget.check(budget.forms_estimate(spec, str(dt).removeprefix("torch."), budget_s, time_forms),
                               "This comparison", "the input height and width, or the channels "
                               "(input, C × d, output)")
        if problem:
            raise budget.BudgetExceeded(problem)
    forms = build_forms(spec, device=dev, dtype=dt, seed=seed)
    x = torch.randn(spec.batch, spec.c_in, spec.height, spec.width,
                    generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64).to(dev, dt)
    with torch.inference_mode():
        outs = {k: f(x) for k, f in forms.items()}
        times = None
        if time_forms:
            times = {k: measure(lambda f=f: f(x), dev, warmup=1, min_repeats=3, budget_s=budget_s)
                     for k, f in forms.items()}
    diffs = {f"{p}-{q}": (outs[p] - outs[q]).abs().max().item() for p, q in PAIRS}
    params = {k: sum(p.numel() for p in f.parameters()) for k, f in forms.items()}
    return FormsComparison(spec, str(dev), str(dt).removeprefix("torch."), diffs,
                           outs["c"].abs().max().item(), params, spec.macs, times)


@dataclass(frozen=True)
class BranchSlice:
    """Where branch i's weights sit inside form (c)'s three convolutions (Python slices, end exclusive)."""

    branch: int
    conv1_rows: tuple[int, int]  # output channels of conv1 = branch i's 1x1 reduce
    conv2_group: int  # the group of the 3x3 that is branch i's 3x3
    conv2_rows: tuple[int, int]  # output channels of that group (its input channels are the same range)
    conv3_cols: tuple[int, int]  # input channels of conv3 = branch i's 1x1 expand

    def describe(self) -> str:
        """Return one line a page can print, e.g. 'branch 1: conv1.weight[4:8] ...'."""
        r1, r2, c3 = self.conv1_rows, self.conv2_rows, self.conv3_cols
        return (f"branch {self.branch}: conv1.weight[{r1[0]}:{r1[1]}] · conv2 group {self.conv2_group} = "
                f"conv2.weight[{r2[0]}:{r2[1]}] reading channels {r2[0]}:{r2[1]} · "
                f"conv3.weight[:, {c3[0]}:{c3[1]}]")


def branch_slices(spec: FormSpec) -> list[BranchSlice]:
    """Return, for each branch i, the rows / group / columns of form (c) that hold its weights."""
    d = spec.d
    return [BranchSlice(i, (i * d, (i + 1) * d), i, (i * d, (i + 1) * d), (i * d, (i + 1) * d))
            for i in range(spec.C)]


def block_diagonal(grouped_weight: torch.Tensor, groups: int) -> torch.Tensor:
    """Return the dense weight equal to a grouped conv's: (C*d, C*d, kh, kw), zero off the diagonal blocks."""
    out_ch, per_group, kh, kw = grouped_weight.shape  # (C*d_out, d_in, kh, kw)
    if out_ch % groups:
        raise ValueError(f"{out_ch} output channels do not split into {groups} groups.")
    rows = out_ch // groups
    dense = grouped_weight.new_zeros(out_ch, per_group * groups, kh, kw)
    for g in range(groups):
        dense[g * rows:(g + 1) * rows, g * per_group:(g + 1) * per_group] = grouped_weight[g * rows:(g + 1) * rows]
    return dense
