"""k-NN radii and 1-NN against scikit-learn's NearestNeighbors; PRDC against its formulas."""

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist
from sklearn.neighbors import NearestNeighbors

from labcore.metrics import PRDC, OneNN, knn_radii, one_nn_accuracy, prdc
from labcore.metrics import nn as nn_module
from labcore.metrics.nn import kth_neighbour
from labcore.metrics.pairwise import Points


def sets(seed=0, n=260, m=210, d=24, shift=0.3):
    g = torch.Generator().manual_seed(seed)
    real = torch.randn(n, d, generator=g)
    fake = torch.randn(m, d, generator=g) * 1.1 + shift
    return real, fake


def sklearn_radii(x: np.ndarray, k: int) -> np.ndarray:
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
    return distances[:, k]


def sklearn_one_nn(real: np.ndarray, fake: np.ndarray) -> dict:
    pooled = np.concatenate([real, fake])
    labels = np.r_[np.ones(len(real)), np.zeros(len(fake))]
    _, index = NearestNeighbors(n_neighbors=2).fit(pooled).kneighbors(pooled)
    correct = labels[index[:, 1]] == labels
    return {"1nn": correct.mean(), "1nn_real": correct[: len(real)].mean(),
            "1nn_fake": correct[len(real):].mean()}


def reference_prdc(real: np.ndarray, fake: np.ndarray, k: int) -> dict:
    real_r, fake_r = sklearn_radii(real, k), sklearn_radii(fake, k)
    d = cdist(real, fake)
    in_real_balls = d <= real_r[:, None]
    return {
        "precision": in_real_balls.any(0).mean(),
        "recall": (d <= fake_r[None, :]).any(1).mean(),
        "density": in_real_balls.sum() / (k * len(fake)),
        "coverage": (d.min(1) <= real_r).mean(),
    }


@pytest.mark.parametrize("chunk", [16, 100, 1024])
def test_knn_radii_match_sklearn(chunk):
    real, _ = sets()
    expected = sklearn_radii(real.double().numpy(), 5)
    np.testing.assert_allclose(knn_radii(real, 5, chunk).numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("k", [1, 3])
def test_kth_neighbour_between_sets_matches_sklearn(k):
    real, fake = sets(1)
    distances, index = NearestNeighbors(n_neighbors=k).fit(real.double().numpy()).kneighbors(
        fake.double().numpy()
    )
    shift = real.double().mean(0)
    d2, found = kth_neighbour(Points.prepare(fake, shift), Points.prepare(real, shift), k, 50)
    np.testing.assert_allclose(d2.sqrt().numpy(), distances[:, -1], rtol=1e-6)
    assert (found.numpy() == index[:, -1]).all()


def test_far_from_the_origin_stays_exact():
    g = torch.Generator().manual_seed(2)
    x = 1000.0 + torch.randn(300, 4, generator=g, dtype=torch.float64) * 1e-4
    expected = sklearn_radii(x.numpy(), 3)
    np.testing.assert_allclose(knn_radii(x, 3, 64).numpy(), expected, rtol=1e-6)


def test_ties_beyond_the_candidates_are_searched_again_exactly(monkeypatch):
    # The vertices of a simplex are all sqrt(2) apart: no float32 candidate list can decide.
    redone = []
    search_again = nn_module._exact_rows

    def spy(query, ref, rows, *args):
        redone.append(len(rows))
        return search_again(query, ref, rows, *args)

    monkeypatch.setattr(nn_module, "_exact_rows", spy)
    x = torch.eye(40)
    d2, index = kth_neighbour(Points.prepare(x, x.double().mean(0)), None, 2, 16)
    assert redone == [40]
    torch.testing.assert_close(d2, torch.full((40,), 2.0, dtype=torch.float64))
    assert index.tolist() == [2, 2] + [1] * 38  # the second-lowest index other than itself


@pytest.mark.parametrize("chunk", [16, 77, 1024])
def test_one_nn_matches_sklearn(chunk):
    real, fake = sets(3)
    expected = sklearn_one_nn(real.double().numpy(), fake.double().numpy())
    assert one_nn_accuracy(real, fake, chunk) == pytest.approx(expected, rel=1e-12)


def test_one_nn_known_cases():
    g = torch.Generator().manual_seed(4)
    a, b = torch.randn(400, 6, generator=g), torch.randn(400, 6, generator=g)
    assert one_nn_accuracy(a, b)["1nn"] == pytest.approx(0.5, abs=0.07)
    assert one_nn_accuracy(a, b + 50.0) == {"1nn": 1.0, "1nn_real": 1.0, "1nn_fake": 1.0}
    assert one_nn_accuracy(a, a.clone())["1nn"] == 0.0  # memorised copies


@pytest.mark.parametrize("chunk", [16, 90, 1024])
def test_prdc_matches_reference(chunk):
    real, fake = sets(5)
    expected = reference_prdc(real.double().numpy(), fake.double().numpy(), 4)
    assert prdc(real, fake, 4, chunk) == pytest.approx(expected, rel=1e-12)


def test_prdc_metric_caches_real_radii_and_agrees():
    real, fake = sets(6)
    metric = PRDC(PRDC.Config(knn_k=3, chunk_size=64))
    for part in real.split(70):
        metric.update(part, real=True)
    state = metric.reference_state()
    r2 = state["real_sq_radii"]
    np.testing.assert_allclose(r2.sqrt().numpy(), sklearn_radii(real.double().numpy(), 3),
                               rtol=1e-6)
    restored = PRDC(PRDC.Config(knn_k=3, chunk_size=64))
    restored.load_reference_state(state)
    restored.update(fake)
    expected = reference_prdc(real.double().numpy(), fake.double().numpy(), 3)
    assert restored.compute() == pytest.approx(expected, rel=1e-12)


def test_one_nn_metric_is_batch_invariant():
    real, fake = sets(7)
    results = []
    for batch in (1, 33, 500):
        metric = OneNN()
        for part in real.split(batch):
            metric.update(part, real=True)
        for part in fake.split(batch):
            metric.update(part)
        results.append(metric.compute())
    assert results[0] == results[1] == results[2]


def test_k_out_of_range_is_an_error():
    with pytest.raises(ValueError, match="k must be between 1 and 4"):
        knn_radii(torch.randn(5, 2), 5)


def test_points_on_a_ball_boundary_count_as_inside():
    grid = torch.stack(torch.meshgrid(torch.arange(6.0), torch.arange(6.0), indexing="ij"), -1)
    real = grid.reshape(-1, 2) * 3.0
    fake = real[:20] + torch.tensor([3.0, 0.0])  # exactly one grid step from a real point
    expected = reference_prdc(real.double().numpy(), fake.double().numpy(), 4)
    assert prdc(real, fake, 4, chunk_size=7) == pytest.approx(expected, rel=1e-12)
    assert expected["precision"] == 1.0


def brute_force_prdc(real: np.ndarray, fake: np.ndarray, k: int) -> dict:
    """Closed k-NN balls from full float64 distance matrices, each point left out of its own."""
    within_real, within_fake = cdist(real, real), cdist(fake, fake)
    np.fill_diagonal(within_real, np.inf)
    np.fill_diagonal(within_fake, np.inf)
    real_r = np.sort(within_real, 1)[:, k - 1]
    fake_r = np.sort(within_fake, 1)[:, k - 1]
    d = cdist(real, fake)
    in_real_balls = d <= real_r[:, None]
    return {
        "precision": in_real_balls.any(0).mean(),
        "recall": (d <= fake_r[None, :]).any(1).mean(),
        "density": in_real_balls.sum() / (k * len(fake)),
        "coverage": in_real_balls.any(1).mean(),
    }


@pytest.mark.parametrize("seed", range(4))
def test_prdc_with_duplicated_samples_matches_closed_balls(seed):
    # Tripled points put generated copies exactly on the boundary of real k-NN balls, and make
    # the float32 candidates undecidable, so the radii come from the float64 re-search.
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(60, 16, generator=g)
    real = torch.cat([base, base[:40], base[:20]])[torch.randperm(120, generator=g)]
    fake = torch.cat([base[10:50], torch.randn(40, 16, generator=g), base[:20]])
    expected = brute_force_prdc(real.double().numpy(), fake.double().numpy(), 5)
    assert prdc(real, fake, 5, chunk_size=32) == expected
