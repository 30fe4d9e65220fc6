"""The Wasserstein-1 distance against brute force: every permutation, and the transport LP."""

import itertools

import numpy as np
import pytest
import torch
from scipy.optimize import linprog
from scipy.spatial.distance import cdist
from scipy.stats import wasserstein_distance

from labcore.metrics import Wasserstein, sliced_wasserstein1, wasserstein1
from labcore.metrics.wasserstein import random_directions, wasserstein1_1d


def points(seed, n, d=5, shift=0.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64) + shift


def all_permutations(x: np.ndarray, y: np.ndarray) -> float:
    cost = cdist(x, y)
    return min(cost[range(len(x)), list(p)].mean() for p in itertools.permutations(range(len(y))))


def transport_lp(x: np.ndarray, y: np.ndarray) -> float:
    """min <T, C> over T >= 0 with row sums 1/m and column sums 1/n (HiGHS)."""
    cost = cdist(x, y)
    m, n = cost.shape
    rows = np.kron(np.eye(m), np.ones(n))
    cols = np.kron(np.ones(m), np.eye(n))
    equality = np.vstack([rows, cols])
    target = np.r_[np.full(m, 1 / m), np.full(n, 1 / n)]
    result = linprog(cost.ravel(), A_eq=equality, b_eq=target, bounds=(0, None), method="highs")
    assert result.success
    return float(result.fun)


@pytest.mark.parametrize("n", [1, 2, 5, 7])
def test_equal_sizes_match_the_best_permutation(n):
    x, y = points(n, n), points(n + 100, n, shift=0.4)
    expected = all_permutations(x.numpy(), y.numpy())
    assert wasserstein1(x, y) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("m", "n"), [(3, 7), (8, 5), (13, 20)])
def test_unequal_sizes_match_the_transport_lp(m, n):
    x, y = points(m, m), points(n + 50, n, shift=0.3)
    expected = transport_lp(x.numpy(), y.numpy())
    assert wasserstein1(x, y) == pytest.approx(expected, rel=1e-9)


def test_one_dimensional_distances_match_scipy():
    x, y = points(1, 37, d=4), points(2, 23, d=4, shift=0.5)
    got = wasserstein1_1d(x, y)
    for column in range(4):
        expected = wasserstein_distance(x[:, column].numpy(), y[:, column].numpy())
        assert float(got[column]) == pytest.approx(expected, rel=1e-12)


def test_sliced_distance_is_the_mean_of_the_projected_ones_and_below_w1():
    x, y = points(3, 40, d=6), points(4, 30, d=6, shift=0.6)
    directions = random_directions(6, 50, seed=9)
    projected = [
        wasserstein_distance((x @ directions[:, i]).numpy(), (y @ directions[:, i]).numpy())
        for i in range(50)
    ]
    sliced = sliced_wasserstein1(x, y, 50, seed=9)
    assert sliced == pytest.approx(np.mean(projected), rel=1e-12)
    assert sliced < wasserstein1(x, y)


def test_metric_is_exact_up_to_its_limit_then_says_it_is_sliced():
    x, y = points(5, 60).float(), points(6, 50, shift=0.2).float()
    metric = Wasserstein(Wasserstein.Config(wasserstein_exact_max=60))
    metric.update(x, real=True)
    metric.update(y)
    exact = metric.compute()
    assert exact == {"wasserstein": pytest.approx(transport_lp(x.double().numpy(),
                                                               y.double().numpy()), rel=1e-6)}
    assert metric.notes["method"] == "exact (network simplex)"
    small = Wasserstein(Wasserstein.Config(wasserstein_exact_max=59, wasserstein_projections=20))
    small.update(x, real=True)
    small.update(y)
    sliced = small.compute()
    assert list(sliced) == ["wasserstein_sliced"]
    assert sliced["wasserstein_sliced"] == pytest.approx(sliced_wasserstein1(x, y, 20, 0))
    assert small.notes["method"].startswith("sliced")
