"""The feature extractor contract: images in, the features and logits metrics work on out."""

from __future__ import annotations

import hashlib
from typing import ClassVar

import torch
from torch import nn

from labcore.components import Component


def state_dict_sha256(module: nn.Module) -> str:
    """SHA-256 of a module's parameters and buffers (names, dtypes, shapes, bytes; key order)."""
    digest = hashlib.sha256()
    for key, tensor in sorted(module.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def rescale(images: torch.Tensor, source: tuple[float, float], target: tuple[float, float]):
    """Map pixel values linearly from the range ``source`` to the range ``target``."""
    (lo, hi), (new_lo, new_hi) = source, target
    if (lo, hi) == (new_lo, new_hi):
        return images
    return (images - lo) * ((new_hi - new_lo) / (hi - lo)) + new_lo


class FeatureExtractor(nn.Module, Component):
    """Base class of feature extractor components.

    ``extract(images, value_range)`` maps images ``(N, C, H, W)`` with pixel values in
    ``value_range`` to ``{"features": (N, D), "logits": (N, K)}`` (float32, no gradients, eval
    mode). ``weights_sha256`` identifies the weights, so that a metric report says exactly what
    measured it and cached reference statistics are never reused with other weights.
    """

    kind: ClassVar[str] = "feature_extractor"

    def __init__(self, config: object) -> None:
        super().__init__()
        self.config = config

    def extract(
        self, images: torch.Tensor, value_range: tuple[float, float] = (0.0, 1.0)
    ) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    @property
    def weights_sha256(self) -> str:
        """SHA-256 of the parameters and buffers (:func:`state_dict_sha256`)."""
        return state_dict_sha256(self)

    @property
    def source(self) -> str | None:
        """Where the weights came from (a file, a run folder), for the metric report."""
        return None
