"""MMD² and KID against the explicit float64 double sums."""

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist, pdist

from labcore.metrics import (
    KID,
    MMD,
    GaussianKernel,
    PolynomialKernel,
    median_bandwidth,
    mmd2_unbiased,
)
from labcore.metrics.kernel import (
    kid_subsets,
    subset_indices,
    subset_mmd2_each,
    subset_mmd2_shared,
)


def explicit_mmd2(x: np.ndarray, y: np.ndarray, kernel) -> float:
    """The unbiased estimator written out: every pair, float64, diagonals left out."""
    m, n = len(x), len(y)
    kxx, kyy, kxy = kernel(x, x), kernel(y, y), kernel(x, y)
    within_x = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    within_y = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(within_x + within_y - 2 * kxy.sum() / (m * n))


def poly(x, y):
    return (x @ y.T / x.shape[1] + 1) ** 3


def gaussian(bandwidth):
    return lambda x, y: np.exp(-cdist(x, y, "sqeuclidean") / (2 * bandwidth**2))


def sets(seed=0, m=230, n=190, d=20):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(m, d, generator=g)
    y = torch.randn(n, d, generator=g) * 1.2 + 0.3
    return x, y


@pytest.mark.parametrize("chunk", [17, 64, 1024])
def test_polynomial_mmd_matches_double_sum(chunk):
    x, y = sets()
    expected = explicit_mmd2(x.double().numpy(), y.double().numpy(), poly)
    assert mmd2_unbiased(x, y, PolynomialKernel(), chunk) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("chunk", [17, 64, 1024])
def test_gaussian_mmd_matches_double_sum(chunk):
    x, y = sets(1)
    expected = explicit_mmd2(x.double().numpy(), y.double().numpy(), gaussian(4.0))
    assert mmd2_unbiased(x, y, GaussianKernel(4.0), chunk) == pytest.approx(expected, rel=1e-6)


def test_chunk_size_changes_the_estimate_only_by_rounding():
    # Tiles are float32 kernel values summed in float64, so the tiling changes each kernel value
    # by a few float32 ulps at most: the estimate moves by at most float32's epsilon times the
    # mean |k| of its three terms. A lost or doubled tile moves it by O(1 / m) of a term instead.
    x, y = sets(2)
    values = [mmd2_unbiased(x, y, PolynomialKernel(), c) for c in (5, 13, 100, 4096)]
    xd, yd = x.double().numpy(), y.double().numpy()
    scale = sum(np.abs(poly(a, b)).mean() for a, b in ((xd, xd), (yd, yd), (xd, yd), (xd, yd)))
    assert max(values) - min(values) <= np.finfo(np.float32).eps * scale


def test_median_heuristic_is_the_median_pooled_distance():
    x, y = sets(3)
    pooled = np.concatenate([x.double().numpy(), y.double().numpy()])
    assert median_bandwidth(x, y) == pytest.approx(float(np.median(pdist(pooled))), rel=1e-12)
    assert median_bandwidth(x, y, points=50) == pytest.approx(
        float(np.median(pdist(np.concatenate([pooled[:50], pooled[230:280]])))), rel=1e-12
    )


def test_mmd_metric_uses_the_median_bandwidth_and_records_it():
    x, y = sets(4)
    metric = MMD()
    for part in x.split(50):
        metric.update(part, real=True)
    metric.update(y)
    value = metric.compute()["mmd2"]
    bandwidth = metric.notes["bandwidth"]
    expected = explicit_mmd2(x.double().numpy(), y.double().numpy(), gaussian(bandwidth))
    assert value == pytest.approx(expected, rel=1e-6)


def test_kid_subsets_are_unbiased_mmds_of_seeded_subsets():
    x, y = sets(5, m=120, n=110)
    metric = KID(KID.Config(kid_subsets=4, kid_subset_size=50, seed=3, chunk_size=32))
    metric.update(x, real=True)
    metric.update(y)
    result = metric.compute()
    generator = torch.Generator().manual_seed(3)
    values = []
    for _ in range(4):
        i = torch.randperm(120, generator=generator)[:50]
        j = torch.randperm(110, generator=generator)[:50]
        values.append(explicit_mmd2(x[i].double().numpy(), y[j].double().numpy(), poly))
    assert result["kid"] == pytest.approx(np.mean(values), rel=1e-6)
    assert result["kid_std"] == pytest.approx(np.std(values), rel=1e-5)


def test_kid_without_subsets_is_one_estimate_on_everything():
    x, y = sets(6)
    metric = KID(KID.Config(kid_subsets=0))
    metric.update(x, real=True)
    metric.update(y)
    expected = explicit_mmd2(x.double().numpy(), y.double().numpy(), poly)
    assert metric.compute() == {"kid": pytest.approx(expected, rel=1e-6)}


def test_same_distribution_gives_mmd_near_zero():
    g = torch.Generator().manual_seed(7)
    x, y = torch.randn(400, 8, generator=g), torch.randn(400, 8, generator=g)
    shifted = y + 2.0
    close = mmd2_unbiased(x, y, GaussianKernel(3.0))
    far = mmd2_unbiased(x, shifted, GaussianKernel(3.0))
    assert abs(close) < 0.01 < far


def test_too_few_samples_is_an_error():
    with pytest.raises(ValueError, match="at least 2"):
        mmd2_unbiased(torch.zeros(1, 3), torch.zeros(5, 3), PolynomialKernel())


@pytest.mark.parametrize("route", [subset_mmd2_each, subset_mmd2_shared])
@pytest.mark.parametrize("chunk", [16, 45, 1024])
def test_both_subset_routes_give_the_explicit_subset_mmds(route, chunk):
    x, y = sets(8, m=90, n=70, d=12)
    x_index, y_index = subset_indices(90, 70, 6, 30, seed=4)
    got = route(x, y, x_index, y_index, PolynomialKernel(), chunk)
    expected = [
        explicit_mmd2(x[i].double().numpy(), y[j].double().numpy(), poly)
        for i, j in zip(x_index, y_index)
    ]
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


def test_many_subsets_take_the_shared_pass_and_agree(monkeypatch):
    x, y = sets(9, m=200, n=180, d=16)
    from labcore.metrics import kernel as kernel_module

    used = []
    shared = kernel_module.subset_mmd2_shared
    monkeypatch.setattr(kernel_module, "subset_mmd2_shared",
                        lambda *args: used.append(True) or shared(*args))
    values = kid_subsets(x, y, subsets=40, size=60, seed=1, chunk_size=64)
    assert used == [True]
    x_index, y_index = subset_indices(200, 180, 40, 60, seed=1)
    each = subset_mmd2_each(x, y, x_index, y_index, PolynomialKernel(), 64)
    np.testing.assert_allclose(values.numpy(), each.numpy(), rtol=1e-6)


def test_kid_subsets_as_large_as_a_side_give_one_estimate_and_say_so():
    x, y = sets(10, m=120, n=100)
    metric = KID(KID.Config(kid_subsets=100, kid_subset_size=100))
    metric.update(x, real=True)
    metric.update(y)
    with pytest.warns(UserWarning, match="not below the smaller side's 100 samples"):
        result = metric.compute()
    expected = explicit_mmd2(x.double().numpy(), y.double().numpy(), poly)
    assert result == {"kid": pytest.approx(expected, rel=1e-6)}
    assert metric.notes["subsets"] == 0 and "one estimate" in metric.notes["warnings"][0]
