r"""Nearest-neighbour metrics on chunked k-NN machinery.

- Leave-one-out 1-NN two-sample accuracy (Lopez-Paz and Oquab, 2017, "Revisiting Classifier
  Two-Sample Tests"; Xu et al., 2018, "An empirical study on evaluation metrics of generative
  adversarial networks", sec. 3): pool real and generated features, label each point by its set,
  classify it by the label of its nearest other point. 0.5 is ideal (the sets are
  indistinguishable), 1.0 means they are separated, below 0.5 means the generated points sit on
  top of real ones (memorisation).
- Improved precision and recall (Kynkäänniemi et al., 2019, eq. 1-2) and density and coverage
  (Naeem et al., 2020, eq. 3-4) from the k-NN balls :math:`B(x, \mathrm{NND}_k(x))` of each set:

  .. math::
      \text{precision} = \tfrac{1}{M}\textstyle\sum_j 1[\exists i: Y_j \in B(X_i)], \quad
      \text{recall} = \tfrac{1}{N}\textstyle\sum_i 1[\exists j: X_i \in B(Y_j)],

      \text{density} = \tfrac{1}{kM}\textstyle\sum_j \sum_i 1[Y_j \in B(X_i)], \quad
      \text{coverage} = \tfrac{1}{N}\textstyle\sum_i 1[\exists j: Y_j \in B(X_i)],

  with real ``X`` ``(N, D)``, generated ``Y`` ``(M, D)``, balls closed.

Every pairwise matrix is visited in float32 tiles (:mod:`labcore.metrics.pairwise`); the k-th
nearest neighbour and ball memberships are then settled in float64 (see :func:`kth_neighbour` and
:func:`prdc`), so they are exact whatever the chunk size. Ties go to the lower index.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from labcore.metrics.base import FeatureSetsMetric
from labcore.metrics.pairwise import (
    UNIT_ROUNDOFF_F32,
    Points,
    chunks,
    error_bound,
    exact_sq_dist,
    exact_sq_dist_rows,
    sq_dist_tile,
)
from labcore.schema import hp

MARGIN = 2
"""Extra float32 candidates kept per point beyond the k wanted."""
UNIT_ROUNDOFF_F64 = 2.0**-53


def expansion_error_f64(dim: int) -> float:
    """Bound on a float64 ``||a||^2 + ||b||^2 - 2 a.b``'s error, per unit of ``||a||^2 + ||b||^2``.

    Each ``dim``-term dot product errs by at most ``dim u`` times the product of the norms
    (Higham, 2002, "Accuracy and Stability of Numerical Algorithms", eq. 3.5); with the three of
    them and the two additions, ``(2 dim + 4) u`` bounds the whole.
    """
    return (2 * dim + 4) * UNIT_ROUNDOFF_F64


def _fold(values, index, rows: slice, tile: torch.Tensor, first_col: int) -> None:
    """Fold ``tile`` ``(len(rows), t)`` (columns from ``first_col``) into the best of ``rows``.

    Once a row has its candidates, only entries below its current worst can enter; they are few,
    so they are gathered sparsely instead of ranking the whole tile again.
    """
    keep = values.shape[1]
    threshold = values[rows, -1]
    if bool(torch.isinf(threshold).any()):
        found, where = tile.topk(min(keep, tile.shape[1]), dim=1, largest=False)
        found_index = where + first_col
    else:
        row, col = (tile < threshold[:, None]).nonzero(as_tuple=True)
        if row.numel() == 0:
            return
        counts = torch.bincount(row, minlength=tile.shape[0])
        slot = torch.arange(row.shape[0], device=row.device) - (counts.cumsum(0) - counts)[row]
        found = tile.new_full((tile.shape[0], int(counts.max())), float("inf"))
        found_index = torch.full_like(found, -1, dtype=torch.int64)
        found[row, slot] = tile[row, col]
        found_index[row, slot] = col + first_col
    best, where = torch.cat([values[rows], found], 1).topk(keep, dim=1, largest=False)
    values[rows] = best
    index[rows] = torch.cat([index[rows], found_index], 1).gather(1, where)


def _candidates(query: Points, ref: Points, keep: int, leave_one_out: bool, chunk: int):
    """The ``keep`` smallest float32 squared distances and their indices, ``(N, keep)`` each.

    Leave-one-out searches visit each unordered pair of tiles once and fold it both ways.
    """
    n = len(query)
    values = torch.full((n, keep), float("inf"), device=query.fast.device)
    index = torch.full((n, keep), -1, dtype=torch.int64, device=query.fast.device)
    for rows in chunks(n, chunk):
        for cols in chunks(len(ref), chunk):
            if leave_one_out and cols.start < rows.start:
                continue
            tile = sq_dist_tile(query, rows, ref, cols)
            if leave_one_out and cols == rows:
                tile.fill_diagonal_(float("inf"))
            _fold(values, index, rows, tile, cols.start)
            if leave_one_out and cols != rows:
                _fold(values, index, cols, tile.T, rows.start)
    return values, index


def _exact_rows(query: Points, ref: Points, rows: torch.Tensor, k: int, leave_one_out: bool,
                chunk: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k-th nearest neighbour of query rows ``rows``, in float64 against all of ``ref``.

    The float64 expansion (a matrix product) ranks all of ``ref``; the entries it cannot order
    against the k-th one (within twice its error bound) are recomputed as differences, the same
    arithmetic as :func:`~labcore.metrics.pairwise.exact_sq_dist`, so a distance found here
    equals the one every later comparison computes for the same pair, ties included.
    """
    sq_dist = torch.empty(len(rows), dtype=torch.float64, device=rows.device)
    index = torch.empty(len(rows), dtype=torch.int64, device=rows.device)
    ref_sq_max = ref.sq.max().double() * 1.01  # float32 norms, well within 1%
    for part in chunks(len(rows), max(1, chunk * chunk // len(ref))):
        dist = exact_sq_dist_rows(query, rows[part], ref, chunk)
        if leave_one_out:
            dist[torch.arange(dist.shape[0], device=rows.device), rows[part]] = float("inf")
        rough = dist.kthvalue(k, dim=1).values
        rows_sq = query.exact(rows[part]).square().sum(1)
        window = 2 * expansion_error_f64(query.dim) * (rows_sq + ref_sq_max)
        below = (dist < (rough - window)[:, None]).sum(1)
        row, col = ((dist - rough[:, None]).abs() <= window[:, None]).nonzero(as_tuple=True)
        near = torch.full_like(dist, float("inf"))
        near[row, col] = exact_sq_dist(query, rows[part][row], ref, col, chunk)
        near, order = near.sort(dim=1, stable=True)
        rank = (k - 1 - below)[:, None]
        sq_dist[part], index[part] = near.gather(1, rank)[:, 0], order.gather(1, rank)[:, 0]
    return sq_dist, index


def _kth_exact(dist: torch.Tensor, index: torch.Tensor, k: int):
    """The k-th smallest of float64 ``dist`` ``(N, K)`` and its index, ties to the lower index."""
    order = index.argsort(1)
    dist, index = dist.gather(1, order), index.gather(1, order)
    dist, order = dist.sort(dim=1, stable=True)
    return dist[:, k - 1], index.gather(1, order[:, k - 1 : k])[:, 0]


def kth_neighbour(
    query: Points, ref: Points | None, k: int, chunk_size: int = 1024
) -> tuple[torch.Tensor, torch.Tensor]:
    """The k-th nearest neighbour in ``ref`` of each query point: float64 squared distance ``(N,)``
    and index ``(N,)``, exact (ties go to the lower index).

    ``ref=None`` searches ``query`` itself, leaving each point out of its own search. The float32
    tiles keep ``k + 2`` candidates per point. Where their values, give or take the error bound,
    single out the k-th one, only its distance is recomputed in float64; otherwise all candidates
    are, and a point whose k-th exact distance is not clearly below the candidates' float32 cut-off
    is searched again in float64 against all points.
    """
    leave_one_out = ref is None
    ref = query if leave_one_out else ref
    available = len(ref) - int(leave_one_out)
    if not 1 <= k <= available:
        raise ValueError(f"k must be between 1 and {available} (the points to search), got {k}")
    keep = min(k + MARGIN, available)
    values, index = _candidates(query, ref, keep, leave_one_out, chunk_size)
    n = len(query)
    rows = torch.arange(n, device=index.device)
    tolerance = error_bound(query.dim) * (query.sq + ref.sq.max()).double()
    values = values.double()
    kth = values[:, k - 1]
    clear = torch.ones(n, dtype=torch.bool, device=rows.device)
    if k > 1:
        clear &= values[:, k - 2] + tolerance < kth - tolerance
    if keep > k:
        clear &= kth + tolerance < values[:, k] - tolerance
    sq_dist = torch.empty(n, dtype=torch.float64, device=rows.device)
    nearest = index[:, k - 1].clone()
    sq_dist[clear] = exact_sq_dist(query, rows[clear], ref, nearest[clear], chunk_size)
    unclear = rows[~clear]
    if len(unclear):
        pairs = exact_sq_dist(
            query, unclear.repeat_interleave(keep), ref, index[unclear].flatten(), chunk_size
        ).view(-1, keep)
        sq_dist[unclear], nearest[unclear] = _kth_exact(pairs, index[unclear], k)
        if keep < available:
            cutoff = values[unclear, -1] - tolerance[unclear]
            redo = unclear[sq_dist[unclear] >= cutoff]
            if len(redo):
                sq_dist[redo], nearest[redo] = _exact_rows(
                    query, ref, redo, k, leave_one_out, chunk_size
                )
    return sq_dist, nearest


def knn_radii(x: torch.Tensor, k: int, chunk_size: int = 1024) -> torch.Tensor:
    """Distance ``(N,)`` float64 from each point of ``x`` ``(N, D)`` to its k-th nearest other."""
    return _knn_sq_radii(x, k, chunk_size).sqrt()


def _knn_sq_radii(x: torch.Tensor, k: int, chunk_size: int) -> torch.Tensor:
    points = Points.prepare(x, x.mean(0, dtype=torch.float64))
    return kth_neighbour(points, None, k, chunk_size)[0]


def one_nn_accuracy(real: torch.Tensor, fake: torch.Tensor, chunk_size: int = 1024) -> dict:
    """Leave-one-out 1-NN accuracy of real ``(N, D)`` against generated ``(M, D)`` features.

    Returns ``{"1nn": overall, "1nn_real": on real points, "1nn_fake": on generated points}``.
    """
    fake = fake.to(real.device)
    dtype = torch.promote_types(real.dtype, fake.dtype)
    pooled = torch.cat([real.to(dtype), fake.to(dtype)])
    labels = torch.cat(
        [
            torch.ones(real.shape[0], dtype=torch.bool, device=real.device),
            torch.zeros(fake.shape[0], dtype=torch.bool, device=real.device),
        ]
    )
    points = Points.prepare(pooled, real.mean(0, dtype=torch.float64))
    _, nearest = kth_neighbour(points, None, 1, chunk_size)
    correct = (labels[nearest] == labels).double()
    return {
        "1nn": float(correct.mean()),
        "1nn_real": float(correct[labels].mean()),
        "1nn_fake": float(correct[~labels].mean()),
    }


def prdc(real: torch.Tensor, fake: torch.Tensor, k: int = 5, chunk_size: int = 1024) -> dict:
    """Precision, recall, density and coverage of generated ``(M, D)`` against real ``(N, D)``.

    The k-NN balls of both sets come from :func:`kth_neighbour`; a tile entry within the float32
    error bound of a ball's boundary is decided in float64.
    """
    return _prdc(real, fake.to(real.device), _knn_sq_radii(real, k, chunk_size), k, chunk_size)


def _prdc(
    real: torch.Tensor, fake: torch.Tensor, real_r2: torch.Tensor, k: int, chunk: int
) -> dict:
    shift = real.mean(0, dtype=torch.float64)
    a, b = Points.prepare(real, shift), Points.prepare(fake, shift)
    fake_r2 = kth_neighbour(b, None, k, chunk)[0]
    real_r2 = real_r2.to(real.device)
    bound, slack = error_bound(a.dim), 4 * UNIT_ROUNDOFF_F32
    real_tol = bound * (a.sq.double() + b.sq.max().double()) + slack * real_r2
    fake_tol = bound * (b.sq.double() + a.sq.max().double()) + slack * fake_r2

    def inside(d2: torch.Tensor, rows: slice, cols: slice, real_balls: bool) -> torch.Tensor:
        """Which tile entries lie in the real balls (of the rows) or generated ones (columns)."""
        r2, tol = (real_r2[rows, None], real_tol[rows, None]) if real_balls else (
            fake_r2[None, cols], fake_tol[None, cols])
        gap = d2 - r2.float()
        result = gap <= 0
        unsure = gap.abs() <= tol.float()
        if unsure.any():
            i, j = unsure.nonzero(as_tuple=True)
            exact = exact_sq_dist(a, i + rows.start, b, j + cols.start, chunk)
            result[i, j] = exact <= (r2[i, 0] if real_balls else r2[0, j])
        return result

    in_real_balls = torch.zeros(len(b), dtype=torch.int64, device=real.device)
    covered = torch.zeros(len(a), dtype=torch.bool, device=real.device)
    in_fake_manifold = torch.zeros(len(a), dtype=torch.bool, device=real.device)
    for rows in chunks(len(a), chunk):
        for cols in chunks(len(b), chunk):
            d2 = sq_dist_tile(a, rows, b, cols)
            real_ball, fake_ball = inside(d2, rows, cols, True), inside(d2, rows, cols, False)
            in_real_balls[cols] += real_ball.sum(0)
            covered[rows] |= real_ball.any(1)
            in_fake_manifold[rows] |= fake_ball.any(1)
    return {
        "precision": float((in_real_balls > 0).double().mean()),
        "recall": float(in_fake_manifold.double().mean()),
        "density": float(in_real_balls.double().sum() / (k * len(b))),
        "coverage": float(covered.double().mean()),
    }


@dataclasses.dataclass
class OneNNConfig:
    chunk_size: int = hp(1024, "tile edge of the distance matrix")


class OneNN(FeatureSetsMetric):
    """Leave-one-out 1-NN two-sample accuracy (Lopez-Paz and Oquab, 2017); 0.5 is ideal.

    ``compute()`` gives ``{"1nn", "1nn_real", "1nn_fake"}``: the accuracy overall and on each side.
    """

    name = "1nn"
    Config = OneNNConfig
    # 0.5 is ideal: higher means separable sets, lower means memorised training samples.
    higher_is_better = {"1nn": None, "1nn_real": None, "1nn_fake": None}

    def compute(self) -> dict[str, float]:
        real, fake = self.sides()
        return one_nn_accuracy(real, fake, self.config.chunk_size)


@dataclasses.dataclass
class PRDCConfig:
    knn_k: int = hp(5, "k of the k-NN radii")
    chunk_size: int = hp(1024, "tile edge of the distance matrices")


class PRDC(FeatureSetsMetric):
    """Improved precision and recall (Kynkäänniemi et al., 2019), density and coverage (Naeem
    et al., 2020) with ``knn_k``-NN balls; ``{"precision", "recall", "density", "coverage"}``.

    The real k-NN radii depend on the real side only and are cached with it.
    """

    name = "prdc"
    Config = PRDCConfig
    higher_is_better = {"precision": True, "recall": True, "density": True, "coverage": True}

    def min_samples(self) -> int:
        return self.config.knn_k + 1

    def derived_reference(self) -> dict[str, Any]:
        if "real_sq_radii" not in self._derived:
            real = self.cat("real_x")
            if real.shape[0] < self.min_samples():
                raise ValueError(
                    f"prdc: needs at least knn_k + 1 = {self.min_samples()} samples per side, "
                    f"the real side has {real.shape[0]}"
                )
            self._derived["real_sq_radii"] = _knn_sq_radii(
                real, self.config.knn_k, self.config.chunk_size
            )
        return {"real_sq_radii": self._derived["real_sq_radii"]}

    def compute(self) -> dict[str, float]:
        real, fake = self.sides()
        r2 = self.derived_reference()["real_sq_radii"]
        return _prdc(real, fake, r2, self.config.knn_k, self.config.chunk_size)
