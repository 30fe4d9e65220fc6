"""Wide residual networks (Zagoruyko and Komodakis 2016)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch
from torch import nn

import labcore
from labcore_builtins.classifier.base import Classifier, ClassifierConfig


@dataclasses.dataclass
class WideResNetConfig(ClassifierConfig):
    depth: int = labcore.hp(10, "layers with weights, 6n + 4: n blocks in each of 3 groups")
    widen_factor: int = labcore.hp(2, "k of the paper: the groups have 16k, 32k and 64k channels")
    block_dropout: float = labcore.hp(
        0.0, "dropout probability between the two convolutions of each block (paper: 0.3)"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.depth < 10 or (self.depth - 4) % 6:
            raise ValueError(
                f"depth must be 6n + 4 with n >= 1 (10, 16, 22, 28, ...), got {self.depth}"
            )
        if self.widen_factor < 1:
            raise ValueError(f"widen_factor must be positive, got {self.widen_factor}")
        if not 0 <= self.block_dropout < 1:
            raise ValueError(f"block_dropout must be in [0, 1), got {self.block_dropout}")


class WideBlock(nn.Module):
    """Wide-dropout residual block B(3,3) (Zagoruyko and Komodakis 2016, Fig. 1d):
    ``y = F(x) + shortcut(x)`` with ``F`` = norm -> ReLU -> conv 3x3 (stride ``stride``) ->
    norm -> ReLU -> dropout -> conv 3x3, the pre-activation order of He et al. (2016b). Where the
    shape changes the shortcut is a strided 1x1 convolution of the pre-activated input. Maps
    ``(N, C_in, H, W)`` to ``(N, C_out, H / stride, W / stride)``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        dropout: float,
        norm: Callable[[int], nn.Module],
    ) -> None:
        super().__init__()
        self.preact = nn.Sequential(norm(in_channels), nn.ReLU())
        self.residual = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride, 1), norm(out_channels), nn.ReLU(),
            nn.Dropout(dropout), nn.Conv2d(out_channels, out_channels, 3, 1, 1),
        )  # fmt: skip
        self.projection: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.projection = nn.Conv2d(in_channels, out_channels, 1, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        activated = self.preact(x)
        shortcut = x if self.projection is None else self.projection(activated)
        return self.residual(activated) + shortcut


class WideResNet(Classifier):
    """Wide residual network WRN-d-k for small images (Zagoruyko and Komodakis 2016).

    From Zagoruyko and Komodakis, "Wide residual networks", BMVC 2016 (Sec. 2, Table 1).

    A 3x3 convolution to 16 channels, three groups of ``n = (depth - 4) / 6`` :class:`WideBlock`
    with ``16k``, ``32k`` and ``64k`` channels (the first block of groups 2 and 3 halves the
    resolution), norm, ReLU, global average pooling and the linear output layer. ``depth = 28``,
    ``widen_factor = 10`` is the paper's WRN-28-10; ``block_dropout`` is its dropout between
    convolutions (Sec. 2.4). Features: the pooled ``(N, 64k)``.
    """

    name = "wide-resnet"
    Config = WideResNetConfig

    def build_features(self, shape: tuple[int, int, int]) -> tuple[nn.Module, int]:
        config = self.config
        blocks = (config.depth - 4) // 6
        layers: list[nn.Module] = [nn.Conv2d(shape[0], 16, 3, 1, 1)]
        channels = 16
        for group in range(3):
            out_channels = 16 * config.widen_factor * 2**group
            for block in range(blocks):
                stride = 2 if group > 0 and block == 0 else 1
                layers.append(
                    WideBlock(channels, out_channels, stride, config.block_dropout, self.norm)
                )
                channels = out_channels
        layers += [self.norm(channels), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        return nn.Sequential(*layers), channels
