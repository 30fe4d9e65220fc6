"""A multilayer perceptron on flattened images."""

from __future__ import annotations

import dataclasses
import math

from torch import nn

import labcore
from labcore_builtins.classifier.base import Classifier, ClassifierConfig


@dataclasses.dataclass
class MLPConfig(ClassifierConfig):
    hidden: list[int] = labcore.hp([256, 128], "width of each hidden layer")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"hidden needs at least one positive width, got {self.hidden}")


class MLP(Classifier):
    """Multilayer perceptron: flattened image -> [linear, norm, ReLU] per hidden layer -> logits.

    Layer ``l`` computes ``h_l = ReLU(norm(W_l h_{l-1} + b_l))`` with ``h_0`` the image flattened
    to ``(N, C*H*W)``; the features are the last hidden layer ``(N, hidden[-1])``. Dropout precedes
    every linear layer but the first (Srivastava et al. 2014).
    """

    name = "mlp"
    Config = MLPConfig

    def build_features(self, shape: tuple[int, int, int]) -> tuple[nn.Module, int]:
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(shape)
        for i, hidden in enumerate(self.config.hidden):
            if i > 0:
                layers.append(nn.Dropout(self.config.dropout))
            layers += [nn.Linear(width, hidden), self.norm(hidden, dims=1), nn.ReLU()]
            width = hidden
        return nn.Sequential(*layers), width
