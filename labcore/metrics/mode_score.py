r"""Mode Score (Che et al., 2017, "Mode Regularized Generative Adversarial Networks", the MODE
score of their evaluation; as written by Xu et al., 2018, "An empirical study on evaluation
metrics of generative adversarial networks").

.. math::
    \mathrm{MS} = \exp\Big( \mathbb{E}_x\, \mathrm{KL}\big(p(y \mid x) \,\Vert\, p(y)\big)
        - \mathrm{KL}\big(p(y) \,\Vert\, p(y^*)\big) \Big),

with :math:`p(y \mid x) = \mathrm{softmax}(\text{logits}(x))` of a generated sample, :math:`p(y)`
its mean over the generated samples and :math:`p(y^*)` the mean over the real samples under the
same extractor. The first term is the Inception Score's exponent; the second penalises generated
class proportions that differ from the real ones, so the score equals the Inception Score (one
split) when :math:`p(y) = p(y^*)`. All samples form one split.

The state is three float64 running sums per side (count, sum of :math:`p(y \mid x)`, and for the
generated side the sum of :math:`\sum_y p \log p`), so nothing is held per sample and it reduces
exactly across batches and processes; the real side's sums are cached with its split.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from labcore.metrics.base import Metric


def class_probabilities(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax probabilities ``(N, C)`` of ``logits`` in float64 and each row's
    ``sum_y p log p`` ``(N,)``."""
    log_p = torch.log_softmax(logits.double(), dim=1)
    p = log_p.exp()
    return p, torch.special.xlogy(p, p).sum(1)


def mode_score_from_sums(
    fake_n: int, fake_p_sum: torch.Tensor, fake_plogp_sum: torch.Tensor,
    real_n: int, real_p_sum: torch.Tensor,
) -> float:
    """The Mode Score from the running sums of both sides (module docstring)."""
    marginal = fake_p_sum / fake_n
    real_marginal = real_p_sum.to(marginal) / real_n
    neg_entropy_of_marginal = torch.special.xlogy(marginal, marginal).sum()
    expected_kl = fake_plogp_sum / fake_n - neg_entropy_of_marginal
    marginal_kl = neg_entropy_of_marginal - torch.special.xlogy(marginal, real_marginal).sum()
    return float((expected_kl - marginal_kl).exp())


@dataclasses.dataclass
class ModeScoreConfig:
    """The Mode Score has no options."""


class ModeScore(Metric):
    """Mode Score (Che et al., 2017): the Inception Score less the KL divergence of the generated
    class marginal from the real one; ``{"mode_score"}``."""

    name = "mode_score"
    Config = ModeScoreConfig
    input = "logits"
    higher_is_better = {"mode_score": True}

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        for side in ("real", "fake"):
            self.add_state(f"{side}_n", torch.tensor(0, dtype=torch.int64), "sum")
            self.add_state(f"{side}_p_sum", torch.tensor(0.0, dtype=torch.float64), "sum")
        self.add_state("fake_plogp_sum", torch.tensor(0.0, dtype=torch.float64), "sum")

    def update(self, x: torch.Tensor, real: bool = False) -> None:
        side = self.side(real)
        self.check_rows(x, side, "logits")
        p, plogp = class_probabilities(x.detach())
        setattr(self, f"{side}_n", getattr(self, f"{side}_n") + x.shape[0])
        setattr(self, f"{side}_p_sum", getattr(self, f"{side}_p_sum") + p.sum(0))
        if side == "fake":
            self.fake_plogp_sum = self.fake_plogp_sum + plogp.sum()

    def compute(self) -> dict[str, float]:
        counts = {side: int(getattr(self, f"{side}_n")) for side in ("real", "fake")}
        for side, count in counts.items():
            if count == 0:
                raise ValueError(f"mode_score has no {side} samples; call update() first")
        if self.real_p_sum.shape != self.fake_p_sum.shape:
            raise ValueError(
                f"mode_score: the real logits have {self.real_p_sum.shape[0]} classes, the "
                f"generated ones {self.fake_p_sum.shape[0]}; both sides need the same extractor"
            )
        self.notes.update(num_real=counts["real"], num_fake=counts["fake"])
        value = mode_score_from_sums(
            counts["fake"], self.fake_p_sum, self.fake_plogp_sum, counts["real"], self.real_p_sum
        )
        return {"mode_score": value}
