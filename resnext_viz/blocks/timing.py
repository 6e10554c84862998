"""Timing one configured bottleneck: forward (inference) and forward+backward (a training step).

Both go through `timing.measure`, so every sample sits between two device syncs after
warm-up calls. On CUDA the peak allocated memory of each phase is recorded as well.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from typing import Callable

import torch

from resnext_viz import budget
from resnext_viz.blocks.builder import BlockConfig, build_block, layer_table
from resnext_viz.timing import DeviceOutOfMemory, Timing, check_dtype, is_oom, measure, resolve_device, synchronize

__all__ = ["BlockStep", "BlockTiming", "DeviceOutOfMemory", "time_block"]



class BlockStep:
    """A built block with a fixed random input: the two callables that time_block measures."""

    def __init__(self, cfg: BlockConfig, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                 seed: int = 0):
        self.cfg = cfg
        self.device = torch.device(device)
        self.block = build_block(cfg, self.device, dtype, seed)
        gen = torch.Generator().manual_seed(seed + 1)
        x = torch.randn(cfg.batch, cfg.inplanes, cfg.height, cfg.width, generator=gen)  # (B, C_in, H, W)
        grad = torch.randn(cfg.batch, cfg.out_channels, cfg.out_height, cfg.out_width, generator=gen)
        self.x = x.to(self.device, dtype)
        self.x_train = self.x.clone().requires_grad_(True)  # training also needs the gradient of the input
        self.grad_out = grad.to(self.device, dtype)  # a fixed upstream gradient, (B, 4 * planes, H', W')
        # Batch norm in training mode needs more than one value per channel; 1 image at 1x1 has one.
        self.train_bn = cfg.batch * cfg.out_height * cfg.out_width > 1

    def forward(self) -> torch.Tensor:
        """Run one inference forward pass (eval mode, no autograd) and return the output."""
        self.block.eval()
        with torch.inference_mode():
            return self.block(self.x)

    def forward_backward(self) -> None:
        """Run one training step without the optimiser: forward in train mode, then backward."""
        self.block.train(self.train_bn)
        self.block.zero_grad(set_to_none=True)
        self.x_train.grad = None
        self.block(self.x_train).backward(self.grad_out)


@dataclass(frozen=True)
class BlockTiming:
    """Forward and forward+backward timings of one block (seconds), with its size and peak memory."""

    config: BlockConfig
    device: str
    dtype: str
    forward: Timing
    forward_backward: Timing
    params: int
    macs: int  # forward multiply-accumulates for the whole batch
    peak_forward_bytes: int | None  # CUDA only: peak allocated memory during the forward timings
    peak_forward_backward_bytes: int | None
    notes: tuple[str, ...]

    @property
    def forward_gmacs_per_s(self) -> float:
        """Return the achieved forward speed in billions of multiply-accumulates per second."""
        return self.macs / self.forward.median_s / 1e9

    @property
    def ordering_problem(self) -> str | None:
        """Return a sentence when forward+backward measured faster than forward alone (impossible), else None."""
        fwd, both = self.forward.median_s, self.forward_backward.median_s
        if both >= fwd:
            return None
        return (f"Forward + backward ({both * 1e3:.2f} ms) came out faster than forward alone ({fwd * 1e3:.2f} ms). "
                "That cannot be right, since a training step does the forward's work and then more: other work on "
                "the machine slowed one of the two measurements. Measure again.")

    @property
    def images_per_s(self) -> float:
        """Return forward throughput in images per second."""
        return self.config.batch / self.forward.median_s


def _measure_within(fn: Callable[[], object], device: torch.device, budget_s: float,
                    progress: Callable[[float], None] | None) -> Timing:
    """Time fn after two warm-up calls, asking a slow one for fewer samples rather than a long wait."""
    fn()  # warm-up 1: pays lazy initialisation (kernel choice, allocator growth), so it is not timed
    synchronize(device)
    t0 = time.perf_counter()
    fn()  # warm-up 2: tells us roughly how long one call takes
    synchronize(device)
    slow = time.perf_counter() - t0 > budget_s / 4
    return measure(fn, device, warmup=0, min_repeats=3 if slow else 5, max_repeats=200,
                   budget_s=budget_s, progress=progress)


def _scaled(progress: Callable[[float], None] | None, lo: float, hi: float) -> Callable[[float], None] | None:
    return None if progress is None else (lambda f: progress(lo + (hi - lo) * f))


def _time(cfg: BlockConfig, device: torch.device, dtype: torch.dtype, budget_s: float,
          progress: Callable[[float], None] | None, seed: int) -> BlockTiming:
    step = BlockStep(cfg, device, dtype, seed)
    cuda = device.type == "cuda"
    peaks: list[int | None] = []
    timings = []
    for fn, lo, hi in ((step.forward, 0.0, 0.5), (step.forward_backward, 0.5, 1.0)):
        if cuda:
            torch.cuda.reset_peak_memory_stats(device)
        timings.append(_measure_within(fn, device, budget_s / 2, _scaled(progress, lo, hi)))
        peaks.append(torch.cuda.max_memory_allocated(device) if cuda else None)
    notes = [t.note for t in timings if t.note]
    if not step.train_bn:
        notes.append("One image at 1×1 gives batch norm a single value per channel, so the training step "
                     "keeps batch norm in eval mode.")
    table = layer_table(cfg)
    return BlockTiming(cfg, str(device), str(dtype).removeprefix("torch."), timings[0], timings[1],
                       table.params, table.macs, peaks[0], peaks[1], tuple(notes))


def time_block(cfg: BlockConfig, device: str | torch.device = "cpu", dtype: str | torch.dtype = torch.float32,
               budget_s: float = 1.0, progress: Callable[[float], None] | None = None, *,
               seed: int = 0) -> BlockTiming:
    """Return forward and forward+backward timings (seconds) of the configured block on `device`.

    Raises ValueError for a device that is absent or a dtype that makes no sense there,
    budget.BudgetExceeded (a ValueError) before anything is built when a CPU run would go over the
    server's time or memory bound, and DeviceOutOfMemory (after emptying the CUDA cache) when the block does not fit.
    """
    dev = resolve_device(device)
    dt = check_dtype(dev, dtype)
    if not budget_s > 0:
        raise ValueError(f"budget_s must be a positive number of seconds, got {budget_s}.")
    if dev.type == "cpu":  # checked before any tensor exists; a GPU run is bounded by its memory (below)
        problem = budget.check(budget.block_estimate(cfg, str(dt).removeprefix("torch."), budget_s),
                               "This timing", "the batch, the input height and width, or the channels")
        if problem:
            raise budget.BudgetExceeded(problem)
    try:
        return _time(cfg, dev, dt, budget_s, progress, seed)
    except RuntimeError as err:
        if not is_oom(err):
            raise
    # Outside the except block the traceback (and the tensors its frames hold) is gone: free them now.
    gc.collect()
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    where = "this GPU" if dev.type == "cuda" else "this machine"
    raise DeviceOutOfMemory(f"The block did not fit in {where}'s memory (batch {cfg.batch}, "
                            f"{cfg.height}×{cfg.width}, {str(dt).removeprefix('torch.')}): lower the batch or the "
                            f"input size" + (", or run it on the CPU." if dev.type == "cuda" else "."))
