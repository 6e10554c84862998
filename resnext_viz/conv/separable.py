"""Depthwise-separable convolution as the G = C_in extreme plus a 1x1 (pure; MobileNet, Xception).

A standard k x k convolution C_in -> C_out is replaced by a depthwise k x k convolution
(groups = C_in, one filter per input channel) followed by a pointwise 1x1 convolution
C_in -> C_out (dense). Both layers produce the same H_out x W_out as the standard one
(the depthwise layer takes the stride and padding), so without bias

    separable / standard = (k*k*C_in + C_in*C_out) / (k*k*C_in*C_out) = 1/C_out + 1/(k*k)

for parameters and for MACs alike (MobileNet, Howard et al. 2017, sec. 3.1, writes it 1/N + 1/D_K^2).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from resnext_viz.conv import arithmetic as cm


@dataclass(frozen=True)
class Layer:
    """One convolution of a design: its name, its spec (bias off) and its counts."""

    name: str
    spec: cm.ConvSpec
    params: int
    macs: int


def _layer(name: str, spec: cm.ConvSpec) -> Layer:
    cm.validate(spec)
    return Layer(name, spec, cm.param_count(spec), cm.macs(spec))


@dataclass(frozen=True)
class Designs:
    """Standard vs grouped vs depthwise-separable at the same input, output, kernel, stride and padding."""

    standard: Layer
    grouped: Layer
    depthwise: Layer
    pointwise: Layer

    @property
    def separable_params(self) -> int:
        """Return depthwise + pointwise parameters."""
        return self.depthwise.params + self.pointwise.params

    @property
    def separable_macs(self) -> int:
        """Return depthwise + pointwise MACs."""
        return self.depthwise.macs + self.pointwise.macs

    @property
    def ratio(self) -> Fraction:
        """Return 1/C_out + 1/(kH*kW) exactly (MobileNet's cost ratio)."""
        s = self.standard.spec
        return Fraction(1, s.c_out) + Fraction(1, s.kh * s.kw)


def designs(spec: cm.ConvSpec) -> Designs:
    """Return the three designs for spec's channels, kernel, input size, stride and padding (bias off).

    The grouped design uses spec.groups; the depthwise layer keeps the stride and padding and
    the pointwise 1x1 runs on its output (stride 1, no padding).
    """
    base = spec.with_(bias=False)
    dw = _layer("depthwise k×k (G = C_in)", base.with_(c_out=base.c_in, groups=base.c_in))
    ho, wo = cm.output_hw(dw.spec)
    pw = _layer("pointwise 1×1 (G = 1)", base.with_(kh=1, kw=1, groups=1, h=ho, w=wo, stride=1, padding=0))
    return Designs(_layer("standard (G = 1)", base.with_(groups=1)),
                   _layer(f"grouped (G = {base.groups})", base), dw, pw)
