"""Network in Network (Lin, Chen and Yan 2014): mlpconv blocks and global average pooling."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from torch import nn

import labcore
from labcore_builtins.classifier.base import Classifier, ClassifierConfig


@dataclasses.dataclass
class NiNConfig(ClassifierConfig):
    channels: list[int] = labcore.hp(
        [64, 96, 128], "channels of each mlpconv block (the paper: 192 on CIFAR-10)"
    )
    kernel_sizes: list[int] = labcore.hp(
        [5, 5, 3], "size of each block's first convolution (odd); the other two are 1x1"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.channels) != len(self.kernel_sizes) or not self.channels:
            raise ValueError(
                f"channels ({len(self.channels)} values) and kernel_sizes "
                f"({len(self.kernel_sizes)}) must give one value per block, at least one block"
            )
        if min(self.channels) < 1:
            raise ValueError(f"channels must be positive, got {self.channels}")
        if any(k < 1 or k % 2 == 0 for k in self.kernel_sizes):
            raise ValueError(f"kernel_sizes must be odd and positive, got {self.kernel_sizes}")


class MLPConv(nn.Sequential):
    """An mlpconv layer (Lin et al. 2014, Sec. 3.1, eq. 2): a ``kernel`` x ``kernel``
    convolution followed by two 1x1 convolutions, i.e. a small multilayer perceptron applied at
    every position. Each convolution is followed by the normalisation and ReLU, except the last
    one when ``last`` (its maps are the class scores). Maps ``(N, C_in, H, W)`` to
    ``(N, out_channels, H, W)``."""

    def __init__(
        self,
        in_channels: int,
        channels: int,
        out_channels: int,
        kernel: int,
        norm: Callable[[int], nn.Module],
        last: bool = False,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, channels, kernel, 1, kernel // 2), norm(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 1), norm(channels), nn.ReLU(),
            nn.Conv2d(channels, out_channels, 1),
        ]  # fmt: skip
        if not last:
            layers += [norm(out_channels), nn.ReLU()]
        super().__init__(*layers)


class NiN(Classifier):
    """Network in Network: stacked mlpconv blocks whose last one gives one map per class,
    averaged over the image (Lin, Chen and Yan 2014).

    From Lin, Chen and Yan, "Network in network", ICLR 2014 (Sec. 3 and Fig. 2).

    One :class:`MLPConv` block per entry of ``channels`` and ``kernel_sizes``; between blocks 3x3
    max pooling with stride 2 (``H`` to ``ceil(H / 2)``, so any image size works) and dropout
    (the paper's only regulariser besides weight decay, Sec. 4.1). The last block's final 1x1
    convolution has ``K`` output maps, and their global average is the logits: there is no fully
    connected layer (Sec. 3.2), so the features are those averages, ``(N, K)``, and the output
    layer is the identity.
    """

    name = "nin"
    Config = NiNConfig

    def __init__(self, config: Any, info: dict[str, Any]) -> None:
        super().__init__(config, info)
        self.head = nn.Identity()

    def build_features(self, shape: tuple[int, int, int]) -> tuple[nn.Module, int]:
        config = self.config
        in_channels = shape[0]
        blocks = len(config.channels)
        layers: list[nn.Module] = []
        for index, (channels, kernel) in enumerate(
            zip(config.channels, config.kernel_sizes, strict=True)
        ):
            last = index == blocks - 1
            out_channels = self.num_classes if last else channels
            layers.append(MLPConv(in_channels, channels, out_channels, kernel, self.norm, last))
            if not last:
                layers += [nn.MaxPool2d(3, 2, padding=1), nn.Dropout(config.dropout)]
            in_channels = out_channels
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        return nn.Sequential(*layers), self.num_classes
