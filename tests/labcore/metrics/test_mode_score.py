"""Mode Score against an independent float64 numpy reference, and its Inception Score identity."""

import numpy as np
import pytest
import torch
from scipy.special import rel_entr, softmax

from labcore.metrics import InceptionScore, ModeScore, inception_score


def reference_mode_score(fake_logits: np.ndarray, real_logits: np.ndarray) -> float:
    """exp(E_x KL(p(y|x) || p(y)) - KL(p(y) || p(y*))), written out with scipy in float64."""
    p = softmax(fake_logits.astype(np.float64), axis=1)
    marginal = p.mean(0)
    real_marginal = softmax(real_logits.astype(np.float64), axis=1).mean(0)
    expected_kl = rel_entr(p, marginal[None, :]).sum(1).mean()
    return float(np.exp(expected_kl - rel_entr(marginal, real_marginal).sum()))


def logits(seed, n, classes=10, scale=3.0, bias=None):
    g = torch.Generator().manual_seed(seed)
    out = torch.randn(n, classes, generator=g) * scale
    return out if bias is None else out + torch.tensor(bias)


def score(fake, real, batch=64):
    metric = ModeScore()
    for part in real.split(batch):
        metric.update(part, real=True)
    for part in fake.split(batch):
        metric.update(part)
    return metric.compute()["mode_score"]


@pytest.mark.parametrize("seed", range(3))
def test_mode_score_matches_the_float64_reference(seed):
    fake = logits(seed, 300, bias=[2.0] + [0.0] * 9)  # class 0 over-represented
    real = logits(seed + 10, 250)
    expected = reference_mode_score(fake.numpy(), real.numpy())
    assert score(fake, real) == pytest.approx(expected, rel=1e-12)
    assert score(fake, real) < inception_score(fake, 1)[0]  # the marginal mismatch costs


def test_mode_score_equals_the_inception_score_when_the_marginals_agree():
    fake = logits(4, 200)
    assert score(fake, fake.clone()) == pytest.approx(inception_score(fake, 1)[0], rel=1e-12)
    metric = InceptionScore(InceptionScore.Config(is_splits=1))
    metric.update(fake)
    assert score(fake, fake.clone()) == pytest.approx(metric.compute()["is"], rel=1e-12)


def test_mode_score_does_not_depend_on_batching_and_caches_the_real_side():
    fake, real = logits(5, 170), logits(6, 130)
    values = {score(fake, real, batch) for batch in (1, 17, 500)}
    assert max(values) == pytest.approx(min(values), rel=1e-13)
    metric = ModeScore()
    metric.update(real, real=True)
    restored = ModeScore()
    restored.load_reference_state(metric.reference_state())
    restored.update(fake)
    assert restored.compute()["mode_score"] == pytest.approx(score(fake, real), rel=1e-13)


def test_bad_logits_are_errors_naming_the_side():
    metric = ModeScore()
    bad = logits(7, 5)
    bad[2, 3] = float("nan")
    with pytest.raises(ValueError, match="1 of the 5 generated logits vectors hold NaN"):
        metric.update(bad)
    metric.update(logits(8, 5, classes=4), real=True)
    metric.update(logits(9, 5))
    with pytest.raises(ValueError, match="real logits have 4 classes, the generated ones 10"):
        metric.compute()
