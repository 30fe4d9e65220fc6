r"""The Wasserstein-1 (earth mover's) distance between real and generated features, one of the
sample-based metrics compared by Xu et al., 2018, "An empirical study on evaluation metrics of
generative adversarial networks".

Between the empirical distributions of ``X`` ``(m, D)`` and ``Y`` ``(n, D)``, each sample of weight
``1/m`` or ``1/n``, with the Euclidean ground cost,

.. math::
    W_1 = \min_{T \ge 0,\; T 1 = 1/m,\; T^\top 1 = 1/n} \sum_{i, j} T_{ij} \lVert x_i - y_j \rVert.

Exact for the sizes of an evaluation: with ``m = n`` an optimal plan is a permutation (Birkhoff),
so it is an assignment problem (``scipy.optimize.linear_sum_assignment``); otherwise the transport
problem itself, solved exactly by POT's network simplex (``ot.emd2``). The pairwise costs are
computed in float64 on centred features. Both solvers grow faster than ``m n`` in time, so above
``wasserstein_exact_max`` samples per side the metric reports the *sliced* distance instead,

.. math::
    SW_1 = \mathbb{E}_{\theta \sim U(S^{D-1})}\, W_1(\theta^\top X, \theta^\top Y)

(Rabin et al., 2011, "Wasserstein Barycenter and its Application to Texture Mixing"), a Monte
Carlo mean over ``wasserstein_projections`` seeded random directions of exact one-dimensional
distances (sorted projections). It is another quantity, not an estimate of :math:`W_1`: it is at
most :math:`W_1` and typically far smaller in high dimension. Its output key is therefore
``wasserstein_sliced``, never ``wasserstein``, and the notes name the method.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from labcore.metrics.base import FeatureSetsMetric
from labcore.schema import hp

EMD_MAX_ITERATIONS = 100_000_000
"""Network simplex iterations allowed before POT gives up (far more than evaluations need)."""


def euclidean_costs(x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Pairwise Euclidean distances ``(m, n)`` in float64, from features centred on ``x``'s mean."""
    shift = x.double().mean(0)
    a, b = x.double() - shift, y.to(x.device).double() - shift
    sq = a.square().sum(1)[:, None] + b.square().sum(1)[None, :] - 2.0 * a @ b.T
    return sq.clamp_(min=0.0).sqrt_().cpu().numpy()


def transport_cost(costs: np.ndarray) -> float:
    """The optimal transport cost between uniform weights on the rows and on the columns."""
    m, n = costs.shape
    if m == n:
        # imported here: scipy.optimize takes a third of a second, which every command would pay
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(costs)
        return float(costs[rows, cols].mean())
    import ot

    value, log = ot.emd2(
        np.full(m, 1.0 / m), np.full(n, 1.0 / n), costs, numItermax=EMD_MAX_ITERATIONS, log=True
    )
    if log.get("warning"):
        raise RuntimeError(f"the exact transport solver did not converge: {log['warning']}")
    return float(value)


def wasserstein1(x: torch.Tensor, y: torch.Tensor) -> float:
    """Exact Wasserstein-1 distance between the samples ``x`` ``(m, D)`` and ``y`` ``(n, D)``."""
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"feature dimensions differ: {x.shape[1]} and {y.shape[1]}")
    return transport_cost(euclidean_costs(x, y))


def random_directions(dim: int, count: int, seed: int) -> torch.Tensor:
    """``count`` directions uniform on the unit sphere of ``R^dim``, ``(dim, count)`` float64."""
    generator = torch.Generator().manual_seed(seed)
    directions = torch.randn(dim, count, generator=generator, dtype=torch.float64)
    return directions / torch.linalg.vector_norm(directions, dim=0)


def wasserstein1_1d(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Exact 1-D Wasserstein-1 distances of the columns of ``x`` ``(m, L)`` and ``y`` ``(n, L)``.

    :math:`\int_0^1 |F_x^{-1}(t) - F_y^{-1}(t)|\, dt`: both quantile functions are steps, constant
    between the merged breakpoints ``i/m`` and ``j/n``, so the integral is a finite sum.
    """
    m, n = x.shape[0], y.shape[0]
    xs, ys = x.sort(0).values, y.sort(0).values
    dtype, device = x.dtype, x.device
    steps = torch.cat([torch.arange(1, m + 1, dtype=dtype, device=device) / m,
                       torch.arange(1, n + 1, dtype=dtype, device=device) / n]).sort().values
    widths = torch.diff(steps, prepend=steps.new_zeros(1))
    middle = steps - widths / 2
    ix = (middle * m).floor().long().clamp_(0, m - 1)
    iy = (middle * n).floor().long().clamp_(0, n - 1)
    return (widths[:, None] * (xs[ix] - ys[iy]).abs()).sum(0)


def sliced_wasserstein1(x: torch.Tensor, y: torch.Tensor, projections: int, seed: int) -> float:
    """Sliced Wasserstein-1 distance: the mean over ``projections`` random directions (seeded)
    of the exact 1-D distance between the projected samples (module docstring)."""
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"feature dimensions differ: {x.shape[1]} and {y.shape[1]}")
    directions = random_directions(x.shape[1], projections, seed).to(x.device)
    return float(wasserstein1_1d(x.double() @ directions, y.to(x.device).double() @ directions)
                 .mean())


@dataclasses.dataclass
class WassersteinConfig:
    wasserstein_exact_max: int = hp(
        2000, "largest side solved exactly; above it the sliced distance is reported instead"
    )
    wasserstein_projections: int = hp(1000, "random directions of the sliced distance")
    seed: int = hp(0, "seed of the sliced distance's directions")

    def __post_init__(self) -> None:
        for key in ("wasserstein_exact_max", "wasserstein_projections"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1, got {getattr(self, key)}")


class Wasserstein(FeatureSetsMetric):
    """Wasserstein-1 (earth mover's) distance between real and generated features:
    ``{"wasserstein"}`` exact, or ``{"wasserstein_sliced"}`` above ``wasserstein_exact_max``."""

    name = "wasserstein"
    Config = WassersteinConfig
    higher_is_better = {"wasserstein": False, "wasserstein_sliced": False}

    def compute(self) -> dict[str, float]:
        real, fake = self.sides()
        config = self.config
        if max(real.shape[0], fake.shape[0]) <= config.wasserstein_exact_max:
            solver = "assignment" if real.shape[0] == fake.shape[0] else "network simplex"
            self.notes["method"] = f"exact ({solver})"
            return {"wasserstein": wasserstein1(real, fake)}
        self.notes["method"] = (
            f"sliced: more than wasserstein_exact_max = {config.wasserstein_exact_max} samples "
            f"on a side; mean 1-D distance over {config.wasserstein_projections} random "
            f"directions (seed {config.seed}), a smaller quantity than the exact distance"
        )
        value = sliced_wasserstein1(real, fake, config.wasserstein_projections, config.seed)
        return {"wasserstein_sliced": value}
