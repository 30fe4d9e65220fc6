"""LeNet-5 (LeCun et al. 1998)."""

from __future__ import annotations

import dataclasses
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

import labcore
from labcore_builtins.classifier.base import Classifier, ClassifierConfig


@dataclasses.dataclass
class LeNet5Config(ClassifierConfig):
    input_size: int = labcore.hp(
        32, "images are resized (bilinear) to input_size x input_size first; 0 keeps their size"
    )
    activation: Literal["relu", "tanh"] = labcore.hp("relu", "activation after each layer")
    pool: Literal["max", "avg"] = labcore.hp(
        "max", "2x2 subsampling: max pooling, or the paper's averaging"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.input_size != 0 and self.input_size < 16:
            raise ValueError(f"input_size must be 0 or at least 16, got {self.input_size}")


class Resize(nn.Module):
    """Bilinear resize of ``(N, C, H, W)`` images to ``(N, C, size, size)``."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] == (self.size, self.size):
            return x
        return F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)


class LeNet5(Classifier):
    """LeNet-5 (LeCun et al. 1998): two 5x5 convolutions with subsampling, then 120-84-K layers.

    From LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to document
    recognition", Proc. IEEE 86(11), 1998 (Sec. II.B and Fig. 2).

    On a 32x32 input: C1 conv 5x5, 6 maps (28x28) -> S2 2x2 subsampling (14x14) -> C3 conv 5x5, 16
    maps (10x10) -> S4 subsampling (5x5) -> C5 fully connected, 120 -> F6, 84 -> output, K logits.
    As in most modern uses, C3 connects to all of S2's maps, the output layer is linear (trained
    with cross-entropy) instead of the paper's Euclidean RBF units, and ReLU and max pooling are
    the defaults (``activation = "tanh"`` and ``pool = "avg"`` come closer to the paper). The
    normalisation follows C1 and C3; dropout precedes F6 and the output layer.

    Images ``(N, C, H, W)`` are first resized (bilinear) to ``input_size`` x ``input_size``, so
    8x8 digits and 28x28 MNIST both enter at the paper's 32x32 (the paper instead centres the
    28x28 digits in a blank 32x32 field). Features: F6, ``(N, 84)``.
    """

    name = "lenet5"
    Config = LeNet5Config

    def build_features(self, shape: tuple[int, int, int]) -> tuple[nn.Module, int]:
        channels, height, width = shape
        config = self.config
        if config.input_size:
            height = width = config.input_size
        if min(height, width) < 16:
            raise ValueError(
                f"lenet5 needs images of at least 16x16, got {height}x{width}; set model.input_size"
            )
        act = nn.ReLU if config.activation == "relu" else nn.Tanh
        pool = nn.MaxPool2d if config.pool == "max" else nn.AvgPool2d
        s4_height, s4_width = (((n - 4) // 2 - 4) // 2 for n in (height, width))
        layers = [Resize(config.input_size)] if config.input_size else []
        layers += [
            nn.Conv2d(channels, 6, 5), self.norm(6), act(), pool(2),
            nn.Conv2d(6, 16, 5), self.norm(16), act(), pool(2),
            nn.Flatten(),
            nn.Linear(16 * s4_height * s4_width, 120), act(),
            nn.Dropout(config.dropout), nn.Linear(120, 84), act(),
        ]  # fmt: skip
        return nn.Sequential(*layers), 84
