"""An AlexNet-style network (Krizhevsky, Sutskever and Hinton 2012), sized for small images."""

from __future__ import annotations

import dataclasses

from torch import nn

import labcore
from labcore_builtins.classifier.base import Classifier, ClassifierConfig


@dataclasses.dataclass
class AlexNetConfig(ClassifierConfig):
    channels: list[int] = labcore.hp(
        [48, 96, 128, 128, 96],
        "output channels of the five convolutions (the paper: 96, 256, 384, 384, 256)",
    )
    hidden: int = labcore.hp(256, "width of the two hidden fully connected layers (paper: 4096)")
    local_response_norm: bool = labcore.hp(
        False, "the paper's local response normalisation after the first two convolutions"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.channels) != 5 or min(self.channels) < 1:
            raise ValueError(f"channels needs five positive widths, got {self.channels}")
        if self.hidden < 1:
            raise ValueError(f"hidden must be positive, got {self.hidden}")


def overlapping_pool() -> nn.Module:
    """3x3 max pooling with stride 2 (overlapping pooling, Krizhevsky et al. 2012, Sec. 3.4);
    padding 1 makes it map any ``H`` to ``ceil(H / 2)``, so no input is too small."""
    return nn.MaxPool2d(3, 2, padding=1)


class AlexNet(Classifier):
    """AlexNet-style network: five convolutions, three overlapping poolings, two hidden layers.

    From Krizhevsky, Sutskever and Hinton, "ImageNet classification with deep convolutional
    neural networks", NeurIPS 2012 (Sec. 3 and Fig. 2), as a single tower sized for 32x32 images.

    conv 5x5 -> pool -> conv 5x5 -> pool -> conv 3x3 -> conv 3x3 -> conv 3x3 -> pool, each
    convolution followed by the normalisation and ReLU (and, with ``local_response_norm``, the
    paper's eq. (1) with ``k = 2, n = 5, alpha = 1e-4, beta = 0.75`` after the first two); then
    dropout, a fully connected layer of ``hidden`` units with ReLU, dropout, another one. The
    paper's 11x11 stride-4 first convolution is a 5x5 stride-1 one here, as the input is 32x32,
    not 224x224. Each pooling maps ``H`` to ``ceil(H / 2)``: 32x32 ends at 4x4, 28x28 at 4x4,
    8x8 at 1x1. Features: the second hidden layer, ``(N, hidden)``.
    """

    name = "alexnet"
    Config = AlexNetConfig

    def build_features(self, shape: tuple[int, int, int]) -> tuple[nn.Module, int]:
        in_channels, height, width = shape
        config = self.config
        kernels = (5, 5, 3, 3, 3)
        pool_after = {0, 1, 4}
        layers: list[nn.Module] = []
        for index, (channels, kernel) in enumerate(zip(config.channels, kernels, strict=True)):
            layers += [nn.Conv2d(in_channels, channels, kernel, 1, kernel // 2)]
            layers += [self.norm(channels), nn.ReLU()]
            if config.local_response_norm and index < 2:
                # torch divides alpha by n; the paper's alpha multiplies the plain sum
                layers.append(nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0))
            if index in pool_after:
                layers.append(overlapping_pool())
                height, width = (height + 1) // 2, (width + 1) // 2
            in_channels = channels
        layers += [
            nn.Flatten(),
            nn.Dropout(config.dropout), nn.Linear(in_channels * height * width, config.hidden),
            nn.ReLU(),
            nn.Dropout(config.dropout), nn.Linear(config.hidden, config.hidden), nn.ReLU(),
        ]  # fmt: skip
        return nn.Sequential(*layers), config.hidden
