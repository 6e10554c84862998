"""ResNet / ResNeXt building blocks whose state_dict keys and shapes match torchvision.

ResNeXt is not a new architecture class: it is the ResNet bottleneck with two more
arguments, `groups` (the paper's cardinality C) and `base_width` (the paper's d at the
first stage). The bottleneck width is one line of arithmetic:

    width = int(planes * (base_width / 64.0)) * groups

so ResNet-50 (groups=1, base_width=64) has width 64 at stage 1, and ResNeXt-50 32x4d
(groups=32, base_width=4) has width 4 * 32 = 128 at stage 1.
"""

from __future__ import annotations

from typing import Callable

from resnext_viz.blocks.config import EXPANSION
import torch
from torch import nn

__all__ = [
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "bottleneck_width",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnext50_32x4d",
    "resnext101_32x4d",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "MODEL_FACTORIES",
]


def bottleneck_width(planes: int, base_width: int, groups: int) -> int:
    """Return the channels of the grouped 3x3 in a bottleneck (torchvision's formula)."""
    return int(planes * (base_width / 64.0)) * groups


def conv3x3(in_ch: int, out_ch: int, stride: int = 1, groups: int = 1, device=None) -> nn.Conv2d:
    """Return a 3x3 convolution with padding 1 and no bias (BN follows)."""
    return nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, groups=groups, bias=False, device=device)


def conv1x1(in_ch: int, out_ch: int, stride: int = 1, device=None) -> nn.Conv2d:
    """Return a 1x1 convolution with no bias (BN follows)."""
    return nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False, device=device)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions (depth 2), as in ResNet-18/34. Rewriting a depth-2 block as C summed paths gives
    'trivially a wide, dense module' (the paper), so split-transform-merge needs depth >= 3. Setting `groups`
    here instead gives a different, sparser module, allowed only for the lesson; torchvision refuses groups != 1."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, base_width: int = 64, device=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride, groups=groups, device=device)
        self.bn1 = nn.BatchNorm2d(planes, device=device)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes, groups=groups, device=device)
        self.bn2 = nn.BatchNorm2d(planes, device=device)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce -> grouped 3x3 (stride here, as torchvision 'ResNet v1.5') -> 1x1 expand, plus shortcut."""

    expansion = EXPANSION

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, base_width: int = 64, device=None):
        super().__init__()
        width = bottleneck_width(planes, base_width, groups)  # C * d
        self.conv1 = conv1x1(inplanes, width, device=device)
        self.bn1 = nn.BatchNorm2d(width, device=device)
        self.conv2 = conv3x3(width, width, stride, groups, device=device)  # the grouped convolution
        self.bn2 = nn.BatchNorm2d(width, device=device)
        self.conv3 = conv1x1(width, planes * self.expansion, device=device)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion, device=device)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


Block = type[BasicBlock] | type[Bottleneck]


class ResNet(nn.Module):
    """The ResNet / ResNeXt family: stem, four stages of blocks, global pool, classifier."""

    def __init__(self, block: Block, layers: list[int], num_classes: int = 1000,
                 groups: int = 1, width_per_group: int = 64, device=None):
        super().__init__()
        self.inplanes = 64
        self.groups = groups
        self.base_width = width_per_group
        self._device = device
        self.conv1 = nn.Conv2d(3, self.inplanes, 7, stride=2, padding=3, bias=False, device=device)
        self.bn1 = nn.BatchNorm2d(self.inplanes, device=device)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes, device=device)
        del self._device
        if device is None or torch.device(device).type != "meta":
            self._init_weights()

    def _make_layer(self, block: Block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride, device=self._device),
                nn.BatchNorm2d(planes * block.expansion, device=self._device),
            )
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width,
                        device=self._device)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, groups=self.groups, base_width=self.base_width,
                         device=self._device) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the stage-4 feature map, (B, 512 * expansion, H/32, W/32)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.fc(torch.flatten(x, 1))  # (B, num_classes)


def resnet18(device=None, **kw) -> ResNet:
    """ResNet-18: basic blocks [2, 2, 2, 2]."""
    return ResNet(BasicBlock, [2, 2, 2, 2], device=device, **kw)


def resnet34(device=None, **kw) -> ResNet:
    """ResNet-34: basic blocks [3, 4, 6, 3]."""
    return ResNet(BasicBlock, [3, 4, 6, 3], device=device, **kw)


def resnet50(device=None, **kw) -> ResNet:
    """ResNet-50: bottlenecks [3, 4, 6, 3], 1x64d."""
    return ResNet(Bottleneck, [3, 4, 6, 3], device=device, **kw)


def resnet101(device=None, **kw) -> ResNet:
    """ResNet-101: bottlenecks [3, 4, 23, 3], 1x64d."""
    return ResNet(Bottleneck, [3, 4, 23, 3], device=device, **kw)


def resnext50_32x4d(device=None, **kw) -> ResNet:
    """ResNeXt-50 (32x4d): cardinality 32, width 4 per group at stage 1."""
    return ResNet(Bottleneck, [3, 4, 6, 3], groups=32, width_per_group=4, device=device, **kw)


def resnext101_32x4d(device=None, **kw) -> ResNet:
    """ResNeXt-101 (32x4d)."""
    return ResNet(Bottleneck, [3, 4, 23, 3], groups=32, width_per_group=4, device=device, **kw)


def resnext101_32x8d(device=None, **kw) -> ResNet:
    """ResNeXt-101 (32x8d)."""
    return ResNet(Bottleneck, [3, 4, 23, 3], groups=32, width_per_group=8, device=device, **kw)


def resnext101_64x4d(device=None, **kw) -> ResNet:
    """ResNeXt-101 (64x4d)."""
    return ResNet(Bottleneck, [3, 4, 23, 3], groups=64, width_per_group=4, device=device, **kw)


MODEL_FACTORIES: dict[str, Callable[..., ResNet]] = {
    f.__name__: f
    for f in (resnet18, resnet34, resnet50, resnet101, resnext50_32x4d, resnext101_32x4d,
              resnext101_32x8d, resnext101_64x4d)
}
