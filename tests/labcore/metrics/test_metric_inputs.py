"""Bad inputs to the metric components: errors naming the metric and the side, never numbers."""

import pytest
import torch

from labcore.metrics import FID, KID, MMD, PRDC, InceptionScore, ModeScore, OneNN, Wasserstein

FEATURE_METRICS = [FID, KID, MMD, OneNN, PRDC, Wasserstein]


def features(n=20, d=6, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("cls", FEATURE_METRICS)
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("real", [True, False])
def test_non_finite_features_are_refused_naming_the_side(cls, bad, real):
    x = features()
    x[[3, 11], 2] = bad
    side = "real" if real else "generated"
    pattern = rf"2 of the 20 {side} features vectors hold NaN.*\[3, 11\]"
    with pytest.raises(ValueError, match=pattern):
        cls().update(x, real=real)


@pytest.mark.parametrize("cls", [InceptionScore, ModeScore])
def test_non_finite_logits_are_refused(cls):
    x = features()
    x[0, 0] = float("nan")
    with pytest.raises(ValueError, match="generated logits vectors hold NaN"):
        cls().update(x)


@pytest.mark.parametrize("cls", FEATURE_METRICS)
def test_features_of_different_widths_are_refused(cls):
    metric = cls()
    metric.update(features(d=6), real=True)
    metric.update(features(d=5, seed=1))
    with pytest.raises(ValueError, match="real features are 6-dimensional, the generated ones 5"):
        metric.compute()


@pytest.mark.parametrize("cls", [KID, MMD, OneNN, PRDC, Wasserstein, FID])
def test_one_sample_on_a_side_is_refused(cls):
    metric = cls()
    metric.update(features(), real=True)
    metric.update(features(n=1, seed=1))
    with pytest.raises(ValueError, match="the generated side has 1"):
        metric.compute()


def test_prdc_needs_more_samples_than_k():
    metric = PRDC(PRDC.Config(knn_k=5))
    metric.update(features(n=5), real=True)
    metric.update(features(seed=1))
    with pytest.raises(ValueError, match="at least 6 samples per side, the real side has 5"):
        metric.compute()
