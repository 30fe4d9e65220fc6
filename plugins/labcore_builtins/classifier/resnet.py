"""A small residual network of basic blocks (He et al. 2016)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch
from torch import nn

import labcore
from labcore_builtins.classifier.base import Classifier, ClassifierConfig


@dataclasses.dataclass
class ResNetConfig(ClassifierConfig):
    depth: int = labcore.hp(8, "layers with weights, 6n + 2: n basic blocks in each of 3 stages")
    width: int = labcore.hp(16, "channels of the first stage; the next two have 2x and 4x")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.depth < 8 or (self.depth - 2) % 6:
            raise ValueError(
                f"depth must be 6n + 2 with n >= 1 (8, 14, 20, 32, ...), got {self.depth}"
            )
        if self.width < 1:
            raise ValueError(f"width must be positive, got {self.width}")


class BasicBlock(nn.Module):
    """Residual basic block: ``y = ReLU(F(x) + shortcut(x))`` with
    ``F = conv3x3 -> norm -> ReLU -> conv3x3 -> norm`` (He et al. 2016, eq. 1 and Fig. 2).

    The shortcut is the identity, or a strided 1x1 convolution with normalisation where the shape
    changes (projection shortcut, option B of He et al. 2016). Maps ``(N, C_in, H, W)`` to
    ``(N, C_out, H / stride, W / stride)``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, stride: int, norm: Callable[[int], nn.Module]
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1)
        self.norm1 = norm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1)
        self.norm2 = norm(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride), norm(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.norm1(self.conv1(x)))
        return torch.relu(self.norm2(self.conv2(out)) + self.shortcut(x))


class ResNet(Classifier):
    """Residual network of basic blocks for small images (He et al. 2016, CIFAR-10 variant).

    From He, Zhang, Ren and Sun, "Deep residual learning for image recognition", CVPR 2016
    (Sec. 4.2, the CIFAR-10 networks).

    A 3x3 convolution to ``width`` channels, then three stages of ``n = (depth - 2) / 6`` basic
    blocks with ``width``, ``2 width`` and ``4 width`` channels (the first block of stages 2 and 3
    halves the resolution), global average pooling and the linear output layer. ``depth = 20``
    with ``width = 16`` is the paper's ResNet-20. Features: the pooled ``(N, 4 width)``.
    """

    name = "resnet"
    Config = ResNetConfig

    def build_features(self, shape: tuple[int, int, int]) -> tuple[nn.Module, int]:
        width, blocks = self.config.width, (self.config.depth - 2) // 6
        layers = [nn.Conv2d(shape[0], width, 3, 1, 1), self.norm(width), nn.ReLU()]
        channels = width
        for stage in range(3):
            out_channels = width * 2**stage
            for block in range(blocks):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(BasicBlock(channels, out_channels, stride, self.norm))
                channels = out_channels
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        return nn.Sequential(*layers), channels
