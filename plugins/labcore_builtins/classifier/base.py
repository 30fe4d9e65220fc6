"""What every classifier shares: hyperparameters, the head, the training step and evaluation.

A classifier is ``features`` (a network mapping ``(N, C, H, W)`` images to ``(N, F)`` features)
followed by a head (dropout, then a linear layer to ``(N, K)`` logits). It is trained by minimising
the cross-entropy ``-log softmax(logits)[y]`` averaged over the batch.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import labcore
from labcore_builtins.classifier.layers import Init, Norm, init_weights, make_norm


@dataclasses.dataclass
class ClassifierConfig:
    """Hyperparameters every classifier has."""

    init: Init = labcore.hp(
        "default",
        "weight initialisation of convolutions and linear layers: default (PyTorch's), "
        "xavier_uniform, xavier_normal, kaiming_uniform or kaiming_normal",
    )
    norm: Norm = labcore.hp("batch", "normalisation after each hidden layer: batch, group, none")
    norm_groups: int = labcore.hp(8, "most groups per group normalisation layer")
    dropout: float = labcore.hp(0.0, "dropout probability before the output layer")

    def __post_init__(self) -> None:
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.norm_groups < 1:
            raise ValueError(f"norm_groups must be at least 1, got {self.norm_groups}")


def image_info(info: dict[str, Any], model: str) -> tuple[tuple[int, int, int], int]:
    """``(C, H, W)`` and the number of classes from a dataset's info, or a ValueError saying so."""
    if "shape" not in info or "num_classes" not in info or len(info["shape"]) != 3:
        raise ValueError(
            f"model {model!r} classifies images: its dataset must give info['shape'] = (C, H, W) "
            f"and info['num_classes'] (like digits or mnist); this one gives {sorted(info)}"
        )
    channels, height, width = (int(s) for s in info["shape"])
    return (channels, height, width), int(info["num_classes"])


class Classifier(labcore.Model):
    """Base of the image classifiers; subclasses implement :meth:`build_features`."""

    Config = ClassifierConfig

    def __init__(self, config: Any, info: dict[str, Any]) -> None:
        super().__init__(config, info)
        self.input_shape, self.num_classes = image_info(info, self.name)
        self.body, num_features = self.build_features(self.input_shape)
        self.num_features = num_features
        self.head = nn.Sequential(
            nn.Dropout(config.dropout), nn.Linear(num_features, self.num_classes)
        )
        init_weights(self, config.init)

    def build_features(self, shape: tuple[int, int, int]) -> tuple[nn.Module, int]:
        """The feature network for inputs of ``shape`` ``(C, H, W)`` and its feature count."""
        raise NotImplementedError

    def norm(self, channels: int, dims: int = 2) -> nn.Module:
        """The configured normalisation layer over ``channels``."""
        return make_norm(self.config.norm, channels, dims, self.config.norm_groups)

    def summary_inputs(self) -> dict[str, tuple[torch.Tensor]]:
        """The input of ``labcore summary``: one image ``(1, C, H, W)`` through the model."""
        return {"": (torch.zeros(1, *self.input_shape),)}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features ``(N, F)`` of images ``x`` ``(N, C, H, W)``."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, K)`` of images ``x`` ``(N, C, H, W)``."""
        return self.head(self.features(x))

    def training_step(self, batch: dict[str, torch.Tensor], ctx: Any) -> dict[str, torch.Tensor]:
        """One update of the cross-entropy of ``batch["x"]`` ``(N, C, H, W)`` against
        ``batch["y"]`` ``(N,)``; logs the batch's loss and accuracy."""
        x, y = batch["x"], batch["y"]
        with ctx.autocast():
            logits = self(x)
        loss = F.cross_entropy(logits.float(), y)
        ctx.step("main", loss)
        accuracy = (logits.argmax(1) == y).float().mean()
        return {"loss": loss.detach(), "accuracy": accuracy}

    @torch.no_grad()
    def evaluate(self, split: Any, ctx: Any) -> dict[str, float]:
        """Mean cross-entropy and accuracy over ``split``, in eval mode, batch by batch."""
        was_training = self.training
        self.eval()
        total_loss = torch.zeros((), dtype=torch.float64, device=ctx.device)
        correct = torch.zeros((), dtype=torch.long, device=ctx.device)
        count = 0
        for batch in ctx.batches(split):
            logits = self(batch["x"]).float()
            total_loss += F.cross_entropy(logits, batch["y"], reduction="sum").double()
            correct += (logits.argmax(1) == batch["y"]).sum()
            count += batch["y"].shape[0]
        self.train(was_training)
        if count == 0:
            raise ValueError("cannot evaluate a classifier on an empty split")
        return {"loss": (total_loss / count).item(), "accuracy": correct.item() / count}
