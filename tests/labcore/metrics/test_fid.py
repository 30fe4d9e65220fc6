"""FID against an independent float64 reference (scipy.linalg.sqrtm, in the test only)."""

import warnings

import numpy as np
import pytest
import scipy.linalg
import torch

from labcore.metrics import FID, GaussianStats, frechet_distance
from labcore.metrics.fid import sandwich


def reference_fid(x: np.ndarray, y: np.ndarray) -> float:
    """pytorch-fid's formula: sqrtm of the covariance product, all in float64."""
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def sample_space_fid(x: np.ndarray, y: np.ndarray) -> float:
    """N <= D reference: Tr sqrt(S1 S2) as the nuclear norm of Xc Yc^T (scipy's SVD)."""
    xc, yc = x - x.mean(0), y - y.mean(0)
    nuclear = scipy.linalg.svdvals(xc @ yc.T).sum() / np.sqrt((len(x) - 1) * (len(y) - 1))
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    mean = ((x.mean(0) - y.mean(0)) ** 2).sum()
    return float(mean + np.trace(s1) + np.trace(s2) - 2 * nuclear)


def features(n, d, seed, shift=0.0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(d, d, generator=g) / d**0.5
    return torch.relu(torch.randn(n, d, generator=g) @ mix * scale + shift)


def fid_of(real, fake, batch=64):
    metric = FID()
    for part in real.split(batch):
        metric.update(part, real=True)
    for part in fake.split(batch):
        metric.update(part, real=False)
    return metric.compute()["fid"]


def test_fid_matches_sqrtm_reference():
    real, fake = features(400, 24, 0), features(300, 24, 1, shift=0.2, scale=1.3)
    expected = reference_fid(real.double().numpy(), fake.double().numpy())
    assert fid_of(real, fake) == pytest.approx(expected, rel=1e-6)


def test_fid_does_not_depend_on_batch_size_or_merging():
    real, fake = features(300, 16, 2), features(200, 16, 3, shift=0.1)
    values = [fid_of(real, fake, batch) for batch in (1, 7, 64, 1000)]
    assert max(values) - min(values) <= 1e-9 * abs(values[0])
    left, right = FID(), FID()
    left.update(real[:100], real=True)
    right.update(real[100:], real=True)
    left.update(fake[:150])
    right.update(fake[150:])
    left.merge(right)
    assert left.compute()["fid"] == pytest.approx(values[0], rel=1e-9)


def test_identical_sets_give_zero():
    real = features(200, 12, 4)
    assert abs(fid_of(real, real.clone())) < 1e-9


def test_equal_covariance_gives_squared_mean_distance():
    g = torch.Generator().manual_seed(5)
    a = torch.randn(8, 8, generator=g, dtype=torch.float64)
    sigma = a @ a.T + torch.eye(8, dtype=torch.float64)
    mu1 = torch.randn(8, generator=g, dtype=torch.float64)
    mu2 = torch.randn(8, generator=g, dtype=torch.float64)
    fid = frechet_distance(GaussianStats(10, mu1, sigma), GaussianStats(10, mu2, sigma))
    assert fid == pytest.approx(float((mu1 - mu2).square().sum()), rel=1e-9)


def test_few_samples_warn_and_stay_exact():
    real, fake = features(20, 40, 6), features(30, 40, 7, shift=0.3)
    metric = FID()
    metric.update(real, real=True)
    metric.update(fake)
    with pytest.warns(UserWarning, match="N <= D"):
        value = metric.compute()["fid"]
    assert np.isfinite(value)
    expected = sample_space_fid(real.double().numpy(), fake.double().numpy())
    assert value == pytest.approx(expected, rel=1e-12)
    assert "N <= D" in metric.notes["warnings"][0]


def test_every_factor_route_agrees():
    real, fake = features(120, 30, 8), features(100, 30, 9, shift=0.2)
    a, b = GaussianStats.from_features(real), GaussianStats.from_features(fake)
    expected = frechet_distance(a, b)
    no_factor = GaussianStats(b.n, b.mu, b.sigma)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert frechet_distance(a, no_factor) == pytest.approx(expected, rel=1e-9)
        assert frechet_distance(no_factor, a) == pytest.approx(expected, rel=1e-9)
        assert frechet_distance(no_factor, no_factor) == pytest.approx(0.0, abs=1e-9)


def test_singular_covariance_uses_eigh_factor():
    g = torch.Generator().manual_seed(10)
    basis = torch.randn(3, 6, generator=g, dtype=torch.float64)
    real = torch.randn(200, 3, generator=g, dtype=torch.float64) @ basis
    fake = torch.randn(150, 6, generator=g, dtype=torch.float64)
    a = GaussianStats.from_features(real)
    b = GaussianStats.from_features(fake)
    assert a.factorised().factor.shape[0] <= 4
    expected = reference_fid(real.numpy(), fake.numpy())
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_cached_reference_state_gives_the_same_value():
    real, fake = features(150, 10, 11), features(140, 10, 12, shift=0.4)
    first = FID()
    first.update(real, real=True)
    state = first.reference_state()
    assert state["real_factor"].shape == (10, 10)
    second = FID()
    second.load_reference_state(state)
    second.update(fake)
    first.update(fake)
    assert second.compute()["fid"] == first.compute()["fid"]


def test_reset_and_errors():
    metric = FID()
    metric.update(features(10, 4, 13), real=True)
    metric.reset()
    with pytest.raises(ValueError, match="no real samples"):
        metric.compute()
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        metric.update(torch.zeros(3, 4, 5))


@pytest.mark.parametrize("upper", [True, False])
def test_sandwich_is_the_lower_triangle_of_the_product(upper):
    g = torch.Generator().manual_seed(14)
    a = torch.randn(10, 10, generator=g, dtype=torch.float64)
    sigma = a @ a.T
    factor = torch.linalg.cholesky(sigma).T if upper else torch.randn(7, 10, generator=g,
                                                                        dtype=torch.float64)
    torch.testing.assert_close(sandwich(factor, sigma, blocks=3),
                               torch.tril(factor @ sigma @ factor.T))
