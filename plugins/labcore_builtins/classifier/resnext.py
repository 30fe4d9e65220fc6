"""ResNeXt: residual bottleneck blocks with grouped convolutions (Xie et al. 2017)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch
from torch import nn

import labcore
from labcore_builtins.classifier.base import Classifier, ClassifierConfig


@dataclasses.dataclass
class ResNeXtConfig(ClassifierConfig):
    depth: int = labcore.hp(11, "layers with weights, 9n + 2: n blocks in each of 3 stages")
    cardinality: int = labcore.hp(8, "C of the paper: groups of each block's 3x3 convolution")
    bottleneck_width: int = labcore.hp(
        4, "d of the paper: channels per group in the first stage (doubled per stage)"
    )
    width: int = labcore.hp(
        64,
        "output channels of the first stage (the next two have 2x and 4x); the first "
        "convolution has width / 4",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.depth < 11 or (self.depth - 2) % 9:
            raise ValueError(
                f"depth must be 9n + 2 with n >= 1 (11, 20, 29, ...), got {self.depth}"
            )
        if min(self.cardinality, self.bottleneck_width) < 1 or self.width < 4:
            raise ValueError("cardinality and bottleneck_width must be positive, width at least 4")


class ResNeXtBlock(nn.Module):
    """ResNeXt bottleneck block (Xie et al. 2017, Fig. 3c and eq. 3):
    ``y = ReLU(x' + F(x))`` with ``F`` = conv 1x1 to ``C d`` channels -> norm -> ReLU ->
    grouped conv 3x3 (``C`` groups of ``d`` channels, stride ``stride``) -> norm -> ReLU ->
    conv 1x1 to ``out_channels`` -> norm. The grouped convolution is the paper's ``C``
    aggregated transformations. ``x'`` is ``x``, or a strided 1x1 projection with normalisation
    where the shape changes. Maps ``(N, C_in, H, W)`` to ``(N, out, H / stride, W / stride)``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        cardinality: int,
        group_width: int,
        stride: int,
        norm: Callable[[int], nn.Module],
    ) -> None:
        super().__init__()
        inner = cardinality * group_width
        self.transform = nn.Sequential(
            nn.Conv2d(in_channels, inner, 1), norm(inner), nn.ReLU(),
            nn.Conv2d(inner, inner, 3, stride, 1, groups=cardinality), norm(inner), nn.ReLU(),
            nn.Conv2d(inner, out_channels, 1), norm(out_channels),
        )  # fmt: skip
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride), norm(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.transform(x) + self.shortcut(x))


class ResNeXt(Classifier):
    """ResNeXt for small images: three stages of grouped-convolution bottleneck blocks.

    From Xie, Girshick, Dollar, Tu and He, "Aggregated residual transformations for deep neural
    networks", CVPR 2017 (Sec. 3 and 5.3, the CIFAR networks).

    A 3x3 convolution to ``width / 4`` channels, three stages of ``n = (depth - 2) / 9``
    :class:`ResNeXtBlock` with ``width``, ``2 width`` and ``4 width`` output channels and
    ``C`` groups of ``d``, ``2d`` and ``4d`` channels (the first block of stages 2 and 3 halves
    the resolution), global average pooling and the linear output layer. ``depth = 29``,
    ``cardinality = 8``, ``bottleneck_width = 64``, ``width = 256`` is the paper's
    ResNeXt-29 (8x64d). Features: the pooled ``(N, 4 width)``.
    """

    name = "resnext"
    Config = ResNeXtConfig

    def build_features(self, shape: tuple[int, int, int]) -> tuple[nn.Module, int]:
        config = self.config
        blocks = (config.depth - 2) // 9
        channels = config.width // 4
        layers = [nn.Conv2d(shape[0], channels, 3, 1, 1), self.norm(channels), nn.ReLU()]
        for stage in range(3):
            out_channels = config.width * 2**stage
            group_width = config.bottleneck_width * 2**stage
            for block in range(blocks):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(
                    ResNeXtBlock(
                        channels, out_channels, config.cardinality, group_width, stride, self.norm
                    )
                )
                channels = out_channels
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        return nn.Sequential(*layers), channels
