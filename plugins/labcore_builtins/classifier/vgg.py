"""A small VGG-style network (Simonyan and Zisserman 2015)."""

from __future__ import annotations

import dataclasses

from torch import nn

import labcore
from labcore_builtins.classifier.base import Classifier, ClassifierConfig


@dataclasses.dataclass
class VGGConfig(ClassifierConfig):
    channels: list[int] = labcore.hp([32, 64], "channels of each stage; each stage halves H and W")
    convs_per_stage: int = labcore.hp(2, "3x3 convolutions per stage")
    hidden: int = labcore.hp(256, "width of the hidden fully connected layer")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.channels or min(self.channels) < 1:
            raise ValueError(f"channels needs at least one positive width, got {self.channels}")
        if self.convs_per_stage < 1 or self.hidden < 1:
            raise ValueError("convs_per_stage and hidden must be positive")


class VGG(Classifier):
    """VGG-style network: stages of 3x3 convolutions and max pooling (Simonyan and Zisserman 2015).

    From Simonyan and Zisserman, "Very deep convolutional networks for large-scale image
    recognition", ICLR 2015 (Table 1), sized for small images.

    Each stage is ``convs_per_stage`` 3x3 convolutions (stride 1, padding 1), each followed by the
    normalisation and ReLU, then 2x2 max pooling. The flattened maps go through one hidden fully
    connected layer with ReLU to the output layer; dropout precedes both fully connected layers,
    as in the paper. Images ``(N, C, H, W)`` need ``H, W >= 2 ** len(channels)``. Features: the
    hidden layer, ``(N, hidden)``.
    """

    name = "vgg"
    Config = VGGConfig

    def build_features(self, shape: tuple[int, int, int]) -> tuple[nn.Module, int]:
        in_channels, height, width = shape
        stages = len(self.config.channels)
        if min(height, width) < 2**stages:
            raise ValueError(
                f"vgg with {stages} stages needs images of at least {2**stages}x{2**stages}, "
                f"got {height}x{width}; use fewer model.channels"
            )
        layers: list[nn.Module] = []
        for channels in self.config.channels:
            for _ in range(self.config.convs_per_stage):
                conv = nn.Conv2d(in_channels, channels, 3, 1, 1)
                layers += [conv, self.norm(channels), nn.ReLU()]
                in_channels = channels
            layers.append(nn.MaxPool2d(2))
            height, width = height // 2, width // 2
        layers += [
            nn.Flatten(),
            nn.Dropout(self.config.dropout),
            nn.Linear(in_channels * height * width, self.config.hidden),
            nn.ReLU(),
        ]
        return nn.Sequential(*layers), self.config.hidden
