"""Resource bounds: estimate a run's CPU time and memory from its configuration, before any tensor exists.

One learner must not be able to pin a shared server, so the Block builder's timing and the
Three forms comparison first ask `check(estimate, ...)`, which returns None or a sentence
naming the bound and what to lower. The estimate is arithmetic on the layer shapes only
(no torch, nothing allocated), so a refusal costs microseconds.

Time needs a device speed. We use FIXED conservative rates, not a timed matmul at start-up:
the same configuration then gets the same answer on every request and in the tests, and a
busy server (where a start-up matmul would be slow or noisy) changes nothing. The conv rates
are half the slowest that one thread of this project's 2-core server measured in float32
(dense convs 30-85 GMAC/s, grouped 8-80 GMAC/s); a whole block's forward+backward took
1.8-4.7x its forward. tests/test_fix9_bounds.py runs a few configurations and checks that
each measured time and peak memory is below the estimate and within a stated factor of it.

The server's owner sets the bounds with environment variables:
RESNEXT_VIZ_MAX_SECONDS (default 10) and RESNEXT_VIZ_MAX_MEMORY_MB (default 1024).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["Estimate", "BudgetExceeded", "Limits", "limits", "check", "block_estimate", "forms_estimate",
           "DEFAULT_MAX_SECONDS", "DEFAULT_MAX_MEMORY_MB"]

DEFAULT_MAX_SECONDS = 10.0  # one learner's run; a page that takes longer is not a lesson any more
DEFAULT_MAX_MEMORY_MB = 1024.0  # a small shared server holds a few of these side by side

# Conservative one-thread CPU rates (multiply-accumulates or elements per second), see the docstring.
DENSE_MACS_PER_S = 15e9  # groups = 1 convolutions (measured 30-85e9 in float32)
GROUPED_MACS_PER_S = 4e9  # grouped convolutions (measured 8-80e9; depthwise is the slowest)
ELEMENTS_PER_S = 0.5e9  # batch norm, ReLU, add, copy: memory-bound, one pass per op
CALL_OVERHEAD_S = 30e-6  # Python + dispatch per operator call (matters for form (a)'s C branches)
BACKWARD_FACTOR = 5.0  # forward + backward over forward alone (whole blocks measured 1.8-4.7)
# Relative to float32: float64 has half the SIMD lanes; bfloat16 measured 1.13x float32 on a CPU with
# AVX512-BF16, and 7.0x on an AMD EPYC without AVX-512 (the default Block builder block, one thread: 16.8 s vs
# 2.4 s); 4.0 on top of the float32 rates' own margin (3x there) keeps both on the safe side.
DTYPE_SLOWDOWN = {"float32": 1.0, "float64": 2.5, "bfloat16": 4.0, "float16": 3.0}
DTYPE_BYTES = {"float32": 4, "float64": 8, "bfloat16": 2, "float16": 2}
PER_MODULE_BYTES = 16 * 2**10  # Python objects and small allocations of one conv module (form (a) has 3C)
MEMORY_SAFETY = 1.2  # allocator slack and convolution workspaces


@dataclass(frozen=True)
class Estimate:
    """A run's estimated wall time (seconds, one CPU thread) and peak memory (bytes)."""

    seconds: float
    bytes: int


@dataclass(frozen=True)
class Limits:
    """The bounds one run must stay under: seconds and bytes."""

    seconds: float
    bytes: int


class BudgetExceeded(ValueError):
    """The run would go over the server's time or memory bound; the message says which and what to lower."""


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        return default
    return value if value > 0 else default


def limits() -> Limits:
    """Return the bounds from RESNEXT_VIZ_MAX_SECONDS and RESNEXT_VIZ_MAX_MEMORY_MB (read on every call)."""
    return Limits(_env_float("RESNEXT_VIZ_MAX_SECONDS", DEFAULT_MAX_SECONDS),
                  int(_env_float("RESNEXT_VIZ_MAX_MEMORY_MB", DEFAULT_MAX_MEMORY_MB) * 2**20))


def _fmt_bytes(n: float) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def _fmt_s(s: float) -> str:
    return f"{s:.0f} s" if s >= 10 else f"{s:.1f} s"


def check(estimate: Estimate, what: str, lower: str, bounds: Limits | None = None) -> str | None:
    """Return None when `estimate` fits the bounds, else one sentence naming the bound(s) and what to lower."""
    b = bounds or limits()
    over = []
    if estimate.seconds > b.seconds:
        over.append(f"about {_fmt_s(estimate.seconds)} of CPU time (the limit is {_fmt_s(b.seconds)})")
    if estimate.bytes > b.bytes:
        over.append(f"about {_fmt_bytes(estimate.bytes)} of memory (the limit is {_fmt_bytes(b.bytes)})")
    if not over:
        return None
    return (f"{what} was not run: from its layer sizes it could take up to {' and '.join(over)} on this "
            f"shared server. Lower {lower}.")


def _conv_seconds(macs: float, groups: int) -> float:
    return macs / (DENSE_MACS_PER_S if groups == 1 else GROUPED_MACS_PER_S) + CALL_OVERHEAD_S


def _elementwise_seconds(elements: float) -> float:
    return elements / ELEMENTS_PER_S + CALL_OVERHEAD_S


def _phase_seconds(call_s: float, budget_s: float) -> float:
    """Return the longest a timing phase takes: 2 warm-ups, then calls until 3 are done and `budget_s` has passed.

    The last timed call can start just before the budget runs out, hence one call more than the budget.
    """
    return 3 * call_s + max(3 * call_s, budget_s)


def block_estimate(cfg, dtype: str = "float32", budget_s: float = 1.0) -> Estimate:
    """Return the Estimate of block_timing.time_block(cfg, 'cpu', dtype, budget_s) from the block's shapes.

    Time: each phase (forward, then forward+backward) runs two warm-up calls and then at least
    3 timed calls until its half of `budget_s` is spent (see _phase_seconds); forward+backward
    costs BACKWARD_FACTOR forwards.
    Memory: in training mode autograd keeps every layer's output (conv, batch norm, ReLU) and the
    backward pass makes a gradient of each; plus the input, its copy and gradient, the upstream
    gradient, and the weights with their gradients.
    """
    name = str(dtype).removeprefix("torch.")
    size, slow = DTYPE_BYTES[name], DTYPE_SLOWDOWN[name]
    b, hw, ohw = cfg.batch, cfg.height * cfg.width, cfg.out_height * cfg.out_width
    width, out = cfg.bottleneck_width, cfg.out_channels
    convs = [(b * width * cfg.inplanes * hw, 1, b * width * hw),  # conv1: (MACs, groups, output elements)
             (b * width * cfg.d * 9 * ohw, cfg.cardinality, b * width * ohw),  # grouped 3x3
             (b * out * width * ohw, 1, b * out * ohw)]  # conv3
    if cfg.has_downsample:
        convs.append((b * out * cfg.inplanes * ohw, 1, b * out * ohw))
    forward = 0.0
    saved = 0  # elements autograd keeps for backward
    for macs, groups, elements in convs:
        forward += _conv_seconds(macs, groups) + _elementwise_seconds(elements)  # the conv, then its batch norm
        saved += 2 * elements  # the conv's output and the batch norm's output
    relu_elements = b * width * hw + b * width * ohw + 2 * b * out * ohw  # two ReLUs, the add and the last ReLU
    forward += _elementwise_seconds(relu_elements)
    saved += relu_elements
    forward *= slow
    seconds = sum(_phase_seconds(t, budget_s / 2) for t in (forward, BACKWARD_FACTOR * forward))
    params = (cfg.inplanes * width + width * cfg.d * 9 + width * out + 4 * (2 * width + out)
              + (cfg.inplanes * out + 4 * out if cfg.has_downsample else 0))
    inputs = 3 * b * cfg.inplanes * hw + b * out * ohw  # x, its training copy and its gradient; the upstream grad
    float32_copies = 4 * (b * cfg.inplanes * hw + b * out * ohw)  # drawn in float32, then cast
    elements = 2 * saved + inputs + 3 * params  # saved activations + their gradients; weights, grads, BN buffers
    return Estimate(seconds, int(MEMORY_SAFETY * (elements * size + float32_copies)))


def forms_estimate(spec, dtype: str = "float64", budget_s: float = 0.6, time_forms: bool = True) -> Estimate:
    """Return the Estimate of forms.compare_forms(spec, 'cpu', dtype, budget_s=...) from the spec's shapes.

    Each form runs once for its output, then (timed) 1 warm-up + at least 3 timed calls until
    `budget_s` is spent. Form (a) runs 3C small convolutions and C adds, (b) 2C convolutions and a
    concatenation, (c) three convolutions. Memory (inference, nothing kept): the input, the three
    outputs, the largest intermediate maps, and four copies of the weights (the float64 source and
    one per form).
    """
    name = str(dtype).removeprefix("torch.")
    size, slow = DTYPE_BYTES[name], DTYPE_SLOWDOWN[name]
    s = spec
    b, hw = s.batch, s.height * s.width
    oh, ow = s.out_hw
    ohw = oh * ow
    reduce_macs, mid_macs, expand_macs = b * s.c_in * s.d * hw, b * s.d * s.d * 9 * ohw, b * s.d * s.c_out * ohw
    mid_in, mid_out, out = b * s.d * hw, b * s.d * ohw, b * s.c_out * ohw
    # Per branch: three small (dense, groups=1) convs that run at the grouped rate: d channels are too few
    # for a fast kernel. ReLUs after the first two.
    branch = (_conv_seconds(reduce_macs, 2) + _conv_seconds(mid_macs, 2) + _elementwise_seconds(mid_in + mid_out))
    form_a = s.C * (branch + _conv_seconds(expand_macs, 2) + _elementwise_seconds(2 * out))
    form_b = s.C * branch + _elementwise_seconds(2 * s.C * mid_out) + _conv_seconds(s.C * expand_macs, 1)
    form_c = (_conv_seconds(s.C * reduce_macs, 1) + _conv_seconds(s.C * mid_macs, s.C)
              + _conv_seconds(s.C * expand_macs, 1) + _elementwise_seconds(s.C * (mid_in + mid_out)))
    per_call = slow * (form_a + form_b + form_c)
    seconds = per_call * (5 if time_forms else 1) + (3 * budget_s if time_forms else 0.0)
    params = s.params
    x = b * s.c_in * hw
    largest = max(2 * s.C * mid_out + out, 2 * s.C * mid_in)  # (b)'s branch outputs + their cat, or (c)'s maps
    elements = x + 3 * out + 2 * out + largest + 3 * params
    modules = 5 * s.C + 4  # (a) 3C convs, (b) 2C + 1, (c) 3
    return Estimate(seconds, int(MEMORY_SAFETY * (elements * size + 8 * (params + x) + modules * PER_MODULE_BYTES)))
