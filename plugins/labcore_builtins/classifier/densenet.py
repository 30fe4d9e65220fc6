"""A densely connected network (Huang et al. 2017), the CIFAR variant with three dense blocks."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import torch
from torch import nn

import labcore
from labcore_builtins.classifier.base import Classifier, ClassifierConfig


@dataclasses.dataclass
class DenseNetConfig(ClassifierConfig):
    depth: int = labcore.hp(
        22, "layers with weights: 3n + 4 (n layers per dense block), or 6n + 4 with bottleneck"
    )
    growth_rate: int = labcore.hp(12, "k of the paper: channels each layer adds")
    bottleneck: bool = labcore.hp(
        True, "DenseNet-B: a 1x1 convolution to 4k channels before each 3x3 one"
    )
    compression: float = labcore.hp(
        0.5, "theta of the paper: a transition keeps floor(theta m) of m channels (1: DenseNet)"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        per_layer = 6 if self.bottleneck else 3
        if self.depth < per_layer + 4 or (self.depth - 4) % per_layer:
            form = "6n + 4 (10, 16, 22, 40, ...)" if self.bottleneck else "3n + 4 (7, 10, 13, ...)"
            raise ValueError(
                f"depth must be {form} with bottleneck = {str(self.bottleneck).lower()}, "
                f"got {self.depth}"
            )
        if self.growth_rate < 1:
            raise ValueError(f"growth_rate must be positive, got {self.growth_rate}")
        if not 0 < self.compression <= 1:
            raise ValueError(f"compression must be in (0, 1], got {self.compression}")


class DenseLayer(nn.Module):
    """One layer of a dense block (Huang et al. 2017, eq. 2 and Sec. 3): ``H(x)`` is
    norm -> ReLU -> conv 3x3 to ``k`` channels, preceded with ``bottleneck`` by
    norm -> ReLU -> conv 1x1 to ``4k`` channels; the output is ``[x, H(x)]`` concatenated along
    the channels, ``(N, C_in, H, W)`` to ``(N, C_in + k, H, W)``."""

    def __init__(
        self, in_channels: int, growth_rate: int, bottleneck: bool, norm: Callable[[int], nn.Module]
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        if bottleneck:
            layers += [norm(channels), nn.ReLU(), nn.Conv2d(channels, 4 * growth_rate, 1)]
            channels = 4 * growth_rate
        layers += [norm(channels), nn.ReLU(), nn.Conv2d(channels, growth_rate, 3, 1, 1)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.layers(x)], dim=1)


class Transition(nn.Sequential):
    """A transition layer between dense blocks (Huang et al. 2017, Sec. 3): norm, ReLU, a 1x1
    convolution to ``out_channels`` and 2x2 average pooling, halving H and W."""

    def __init__(
        self, in_channels: int, out_channels: int, norm: Callable[[int], nn.Module]
    ) -> None:
        super().__init__(
            norm(in_channels), nn.ReLU(), nn.Conv2d(in_channels, out_channels, 1), nn.AvgPool2d(2)
        )


class DenseNet(Classifier):
    """DenseNet for small images: three dense blocks joined by transitions (Huang et al. 2017).

    From Huang, Liu, van der Maaten and Weinberger, "Densely connected convolutional networks",
    CVPR 2017 (Sec. 3 and 4.1, the CIFAR and SVHN networks).

    A 3x3 convolution to ``2k`` channels (``16`` without the bottleneck, as in the paper), three
    dense blocks of ``n`` :class:`DenseLayer` each (``depth = 3n + 4``, or ``6n + 4`` with the
    bottleneck's second convolution per layer), a :class:`Transition` with compression
    ``theta`` after the first two, then norm, ReLU, global average pooling and the linear output
    layer. ``bottleneck = true`` with ``compression = 0.5`` is DenseNet-BC. The two transitions
    halve H and W: images need at least 4x4. Features: the pooled maps, ``(N, C)``.
    """

    name = "densenet"
    Config = DenseNetConfig

    def build_features(self, shape: tuple[int, int, int]) -> tuple[nn.Module, int]:
        in_channels, height, width = shape
        if min(height, width) < 4:
            raise ValueError(
                f"densenet halves H and W twice and needs images of at least 4x4, "
                f"got {height}x{width}"
            )
        config = self.config
        k = config.growth_rate
        layers_per_block = (config.depth - 4) // (6 if config.bottleneck else 3)
        channels = 2 * k if config.bottleneck else 16
        layers: list[nn.Module] = [nn.Conv2d(in_channels, channels, 3, 1, 1)]
        for block in range(3):
            for _ in range(layers_per_block):
                layers.append(DenseLayer(channels, k, config.bottleneck, self.norm))
                channels += k
            if block < 2:
                out_channels = math.floor(config.compression * channels)
                layers.append(Transition(channels, out_channels, self.norm))
                channels = out_channels
        layers += [self.norm(channels), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        return nn.Sequential(*layers), channels
