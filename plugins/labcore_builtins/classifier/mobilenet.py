"""A small MobileNet of depthwise-separable convolutions (Howard et al. 2017)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from torch import nn

import labcore
from labcore_builtins.classifier.base import Classifier, ClassifierConfig


@dataclasses.dataclass
class MobileNetConfig(ClassifierConfig):
    stem: int = labcore.hp(16, "channels of the first, full 3x3 convolution")
    channels: list[int] = labcore.hp([32, 64, 64, 128], "output channels of each separable block")
    strides: list[int] = labcore.hp([1, 2, 1, 2], "stride of each block's depthwise convolution")
    width_multiplier: float = labcore.hp(1.0, "alpha of the paper: scales every channel count")

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.channels) != len(self.strides) or not self.channels:
            raise ValueError(
                f"channels ({len(self.channels)} values) and strides ({len(self.strides)}) must "
                "give one value per block, at least one block"
            )
        if min(self.channels) < 1 or self.stem < 1 or self.width_multiplier <= 0:
            raise ValueError("stem, channels and width_multiplier must be positive")
        if any(stride not in (1, 2) for stride in self.strides):
            raise ValueError(f"strides must be 1 or 2, got {self.strides}")


class SeparableBlock(nn.Sequential):
    """Depthwise-separable convolution (Howard et al. 2017, Fig. 3): a 3x3 depthwise convolution
    (one filter per channel, ``groups = C_in``), norm, ReLU, then a 1x1 pointwise convolution,
    norm, ReLU. Maps ``(N, C_in, H, W)`` to ``(N, C_out, H / stride, W / stride)`` with about
    ``1 / C_out + 1 / 9`` of a full 3x3 convolution's multiply-adds (eq. 5)."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: int, norm: Callable[[int], nn.Module]
    ) -> None:
        super().__init__(
            nn.Conv2d(in_channels, in_channels, 3, stride, 1, groups=in_channels),
            norm(in_channels),
            nn.ReLU(),
            nn.Conv2d(in_channels, out_channels, 1),
            norm(out_channels),
            nn.ReLU(),
        )


class MobileNet(Classifier):
    """MobileNet: a stack of depthwise-separable convolutions (Howard et al. 2017).

    From Howard et al., "MobileNets: efficient convolutional neural networks for mobile vision
    applications", arXiv:1704.04861, 2017 (Table 1), sized for small images.

    A full 3x3 convolution to ``stem`` channels, then one depthwise-separable block per entry of
    ``channels`` and ``strides``, global average pooling and the linear output layer. The width
    multiplier ``alpha`` scales every channel count (Sec. 3.3). Features: the pooled
    ``(N, round(alpha * channels[-1]))``.
    """

    name = "mobilenet"
    Config = MobileNetConfig

    def build_features(self, shape: tuple[int, int, int]) -> tuple[nn.Module, int]:
        alpha = self.config.width_multiplier
        in_channels = max(1, round(alpha * self.config.stem))
        layers: list[nn.Module] = [
            nn.Conv2d(shape[0], in_channels, 3, 1, 1), self.norm(in_channels), nn.ReLU()
        ]
        for channels, stride in zip(self.config.channels, self.config.strides, strict=True):
            out_channels = max(1, round(alpha * channels))
            layers.append(SeparableBlock(in_channels, out_channels, stride, self.norm))
            in_channels = out_channels
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        return nn.Sequential(*layers), in_channels
