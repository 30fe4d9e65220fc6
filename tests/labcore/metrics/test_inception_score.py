"""Inception Score against a direct float64 loop over splits."""

import numpy as np
import pytest
import torch

from labcore.metrics import InceptionScore, inception_score


def reference_is(logits: np.ndarray, splits: int) -> tuple[float, float]:
    """Salimans et al.'s formula, split by split, as torch-fidelity cuts the splits."""
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    n, scores = len(p), []
    for s in range(splits):
        part = p[s * n // splits : (s + 1) * n // splits]
        marginal = part.mean(0)
        scores.append(np.exp((part * (np.log(part) - np.log(marginal))).sum(1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


@pytest.mark.parametrize("n, splits", [(1000, 10), (997, 7), (50, 1)])
def test_matches_reference(n, splits):
    logits = torch.randn(n, 12, generator=torch.Generator().manual_seed(n)) * 3
    mean, std = inception_score(logits, splits)
    ref_mean, ref_std = reference_is(logits.double().numpy(), splits)
    assert mean == pytest.approx(ref_mean, rel=1e-6)
    assert std == pytest.approx(ref_std, rel=1e-6, abs=1e-12)


def test_known_values():
    uniform = torch.zeros(100, 10)
    assert inception_score(uniform, 5) == pytest.approx((1.0, 0.0))
    confident = torch.eye(10).repeat(10, 1) * 100  # every class equally often, each certain
    assert inception_score(confident, 1)[0] == pytest.approx(10.0, rel=1e-6)


def test_metric_is_batch_invariant_and_one_sided():
    logits = torch.randn(300, 8, generator=torch.Generator().manual_seed(1))
    values = []
    for batch in (1, 64, 300):
        metric = InceptionScore(InceptionScore.Config(is_splits=3))
        for part in logits.split(batch):
            metric.update(part)
        values.append(metric.compute())
    assert values[0] == values[1] == values[2]
    with pytest.raises(ValueError, match="generated samples only"):
        metric.update(logits, real=True)


def test_too_many_splits_is_an_error():
    with pytest.raises(ValueError, match="is_splits"):
        inception_score(torch.zeros(3, 4), 5)
