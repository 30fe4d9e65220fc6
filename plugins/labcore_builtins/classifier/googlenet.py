"""A small GoogLeNet of Inception blocks (Szegedy et al. 2015)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch
from torch import nn

import labcore
from labcore_builtins.classifier.base import Classifier, ClassifierConfig


@dataclasses.dataclass
class GoogLeNetConfig(ClassifierConfig):
    stem: int = labcore.hp(32, "channels of the first, plain 3x3 convolution")
    channels: list[int] = labcore.hp(
        [64, 128, 192],
        "output channels of the Inception blocks of each stage (multiples of 16); a 3x3 max "
        "pooling with stride 2 separates stages",
    )
    blocks: int = labcore.hp(2, "Inception blocks per stage")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.channels or any(c < 16 or c % 16 for c in self.channels):
            raise ValueError(
                f"channels must be multiples of 16 (16, 32, 48, ...), got {self.channels}: each "
                "block splits its output over four branches in the proportions of inception (3a)"
            )
        if self.stem < 1 or self.blocks < 1:
            raise ValueError("stem and blocks must be positive")


def conv_norm_relu(
    in_channels: int, out_channels: int, kernel: int, norm: Callable[[int], nn.Module]
) -> nn.Sequential:
    """A ``kernel`` x ``kernel`` convolution keeping H and W, the normalisation, ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, 1, kernel // 2), norm(out_channels), nn.ReLU()
    )


class Inception(nn.Module):
    """The Inception block with dimension reductions (Szegedy et al. 2015, Fig. 2b).

    Four parallel branches on ``(N, C_in, H, W)``, concatenated along the channels:
    a 1x1 convolution; a 1x1 reduction then a 3x3 convolution; a 1x1 reduction then a 5x5
    convolution; 3x3 max pooling (stride 1) then a 1x1 projection. The widths are those of
    inception (3a) in Table 1 scaled to ``out_channels = 16 u``: ``4u`` (1x1), ``6u -> 8u``
    (3x3), ``u -> 2u`` (5x5) and ``2u`` (pool projection), which sum to ``16 u``. Every
    convolution is followed by the normalisation and ReLU. Output ``(N, out_channels, H, W)``.
    """

    def __init__(self, in_channels: int, out_channels: int, norm: Callable[[int], nn.Module]):
        super().__init__()
        unit = out_channels // 16
        self.branch1 = conv_norm_relu(in_channels, 4 * unit, 1, norm)
        self.branch3 = nn.Sequential(
            conv_norm_relu(in_channels, 6 * unit, 1, norm),
            conv_norm_relu(6 * unit, 8 * unit, 3, norm),
        )
        self.branch5 = nn.Sequential(
            conv_norm_relu(in_channels, unit, 1, norm), conv_norm_relu(unit, 2 * unit, 5, norm)
        )
        self.branch_pool = nn.Sequential(
            nn.MaxPool2d(3, 1, padding=1), conv_norm_relu(in_channels, 2 * unit, 1, norm)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1, self.branch3, self.branch5, self.branch_pool)
        return torch.cat([branch(x) for branch in branches], dim=1)


class GoogLeNet(Classifier):
    """GoogLeNet-style network: a convolution, stages of Inception blocks, global average pooling.

    From Szegedy et al., "Going deeper with convolutions", CVPR 2015 (Sec. 4-5, Table 1), sized
    for 32x32 images.

    A plain 3x3 convolution to ``stem`` channels, then one stage per entry of ``channels``, each
    of ``blocks`` :class:`Inception` blocks of that width, with 3x3 max pooling of stride 2
    between stages (``H`` to ``ceil(H / 2)``, so any image size works); global average pooling
    and, after dropout, the linear output layer, as in the paper. The paper's two auxiliary
    classifiers, which helped its 22-layer network train, are left out at this depth.
    Features: the pooled ``(N, channels[-1])``.
    """

    name = "googlenet"
    Config = GoogLeNetConfig

    def build_features(self, shape: tuple[int, int, int]) -> tuple[nn.Module, int]:
        config = self.config
        layers: list[nn.Module] = [conv_norm_relu(shape[0], config.stem, 3, self.norm)]
        in_channels = config.stem
        for stage, channels in enumerate(config.channels):
            if stage > 0:
                layers.append(nn.MaxPool2d(3, 2, padding=1))
            for _ in range(config.blocks):
                layers.append(Inception(in_channels, channels, self.norm))
                in_channels = channels
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        return nn.Sequential(*layers), in_channels
