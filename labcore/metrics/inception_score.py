r"""Inception Score (Salimans et al., 2016, "Improved Techniques for Training GANs", sec. 4).

.. math::
    \mathrm{IS} = \exp\big( \mathbb{E}_x\, \mathrm{KL}(p(y \mid x) \,\Vert\, p(y)) \big),

with :math:`p(y \mid x) = \mathrm{softmax}(\text{logits}(x))` and :math:`p(y)` the mean of
:math:`p(y \mid x)` over the split. The samples are cut, in order, into ``is_splits`` contiguous
splits (split ``s`` holds samples ``s N // S`` to ``(s + 1) N // S``, as torch-fidelity does); the
score is computed on each and reported as their mean and population standard deviation. Per split,
:math:`\mathbb{E}\,\mathrm{KL} = \mathbb{E}_x \sum_y p \log p - \sum_y p(y) \log p(y)`, so the work
is one pass over the ``(N, C)`` probabilities in float64.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from labcore.metrics.base import Metric
from labcore.schema import hp


def inception_score(logits: torch.Tensor, splits: int = 10) -> tuple[float, float]:
    """Mean and standard deviation over ``splits`` of the Inception Score of ``logits`` (N, C)."""
    n = logits.shape[0]
    if logits.dim() != 2:
        raise ValueError(f"expected logits of shape (N, C), got {tuple(logits.shape)}")
    if not 1 <= splits <= n:
        raise ValueError(f"is_splits must be between 1 and the sample count {n}, got {splits}")
    log_p = torch.log_softmax(logits.double(), dim=1)
    p = log_p.exp()
    bounds = torch.arange(splits + 1, device=logits.device) * n // splits
    split = torch.searchsorted(bounds, torch.arange(n, device=logits.device), right=True) - 1
    counts = torch.bincount(split, minlength=splits).double()
    neg_entropy = torch.zeros(splits, dtype=torch.float64, device=logits.device)
    neg_entropy.index_add_(0, split, torch.special.xlogy(p, p).sum(1))
    marginal = torch.zeros(splits, p.shape[1], dtype=torch.float64, device=logits.device)
    marginal.index_add_(0, split, p)
    marginal /= counts[:, None]
    kl = neg_entropy / counts - torch.special.xlogy(marginal, marginal).sum(1)
    scores = kl.exp()
    return float(scores.mean()), float(scores.std(correction=0))


@dataclasses.dataclass
class InceptionScoreConfig:
    is_splits: int = hp(10, "splits for the mean and standard deviation")


class InceptionScore(Metric):
    """Inception Score of generated samples from the extractor's logits; ``{"is", "is_std"}``."""

    name = "is"
    Config = InceptionScoreConfig
    input = "logits"
    two_sample = False
    higher_is_better = {"is": True, "is_std": None}

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.add_state("fake_logits", [], "cat")

    def update(self, x: torch.Tensor, real: bool = False) -> None:
        side = self.side(real)
        self.check_rows(x, side, "logits")
        getattr(self, f"{side}_logits").append(x.detach())

    def compute(self) -> dict[str, float]:
        logits = self.cat("fake_logits")
        self.notes["num_fake"] = logits.shape[0]
        mean, std = inception_score(logits, self.config.is_splits)
        return {"is": mean, "is_std": std}
