"""'PyTorch says': the same numbers as conv.arithmetic, read off a real nn.Conv2d.

The layer is built on the `meta` device: it has shapes but no storage, so even a
8192 -> 8192 layer with a 15x15 kernel costs no memory. torch is imported here, not in
conv.arithmetic, so the math itself never waits for PyTorch to load.
"""

from __future__ import annotations

from dataclasses import dataclass

from resnext_viz.conv.arithmetic import ConvSpec


@dataclass(frozen=True)
class TorchCounts:
    """What PyTorch reports for one convolution."""

    params: int                               # sum(p.numel() for p in conv.parameters())
    weight_shape: tuple[int, int, int, int]   # conv.weight.shape
    output_shape: tuple[int, int, int, int]   # conv(x).shape for a batch of one
    flops: int                                # FlopCounterMode total (2 per MAC)

    @property
    def macs(self) -> int:
        """Return FlopCounterMode's FLOPs / 2."""
        return self.flops // 2


def pytorch_counts(spec: ConvSpec) -> TorchCounts:
    """Build `spec` as nn.Conv2d on the meta device and return its counts (spec must be valid)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    conv = torch.nn.Conv2d(spec.c_in, spec.c_out, (spec.kh, spec.kw), stride=spec.stride,
                           padding=spec.padding, groups=spec.groups, bias=spec.bias, device="meta")
    x = torch.empty(1, spec.c_in, spec.h, spec.w, device="meta")  # (B, C_in, H, W)
    with FlopCounterMode(display=False) as counter:
        y = conv(x)
    return TorchCounts(
        params=sum(p.numel() for p in conv.parameters()),
        weight_shape=tuple(conv.weight.shape),
        output_shape=tuple(y.shape),
        flops=counter.get_total_flops(),
    )
