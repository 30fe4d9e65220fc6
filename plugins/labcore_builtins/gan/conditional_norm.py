"""Class-conditional batch normalisation: one affine transform per class.

Used by the conditional ResNet generator of Miyato and Koyama 2018 (section 5, after de Vries et al.
2017 and Dumoulin et al. 2017), where the class enters the generator only through these layers.
"""

from __future__ import annotations

import torch
from torch import nn


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose scale and shift are chosen by the class label ``y``.

    .. math::
        \\mathrm{CBN}(x, y) = \\gamma_y \\odot \\frac{x - \\mu_B}{\\sqrt{\\sigma_B^2 + \\epsilon}}
        + \\beta_y

    with the batch statistics :math:`\\mu_B, \\sigma_B^2` of ordinary batch norm (running averages
    in eval mode) shared by all classes, and :math:`\\gamma_y, \\beta_y \\in \\mathbb{R}^C` the
    rows ``y`` of two ``(num_classes, C)`` embeddings, initialised to 1 and 0 so that every class
    starts as plain batch norm.

    Shapes: ``x (N, C, H, W)``, ``y (N,)`` int64 -> ``(N, C, H, W)``.
    """

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.scale = nn.Embedding(num_classes, channels)
        self.shift = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.scale.weight)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        gamma = self.scale(y).to(x.dtype)[:, :, None, None]
        beta = self.shift(y).to(x.dtype)[:, :, None, None]
        return gamma * self.norm(x) + beta


class BatchNorm2d(nn.BatchNorm2d):
    """Ordinary batch norm that accepts (and ignores) a label, to stand in for
    :class:`ConditionalBatchNorm2d` in the unconditional generator."""

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return super().forward(x)


def batch_norm(channels: int, num_classes: int) -> nn.Module:
    """:class:`ConditionalBatchNorm2d` for ``num_classes > 0``, else :class:`BatchNorm2d`."""
    if num_classes > 0:
        return ConditionalBatchNorm2d(channels, num_classes)
    return BatchNorm2d(channels)
