r"""Chunked pairwise work: the N x M matrices of MMD, 1-NN and k-NN metrics, one tile at a time.

No pairwise matrix is ever held whole. It is computed in tiles of ``chunk_size`` rows by
``chunk_size`` columns, each tile one float32 matrix product on the features' device, and reduced at
once (summed, compared, or merged into running nearest-neighbour candidates); memory is bounded by
``chunk_size ** 2`` plus the features. Squared distances use the expansion

.. math::
    \lVert a - b \rVert^2 = \lVert a \rVert^2 + \lVert b \rVert^2 - 2\, a^\top b

on features centred by a common shift (distances do not change; the expansion loses less).

float32 tiles are fast but inexact, so the decisions they feed are made in float64: a tile entry
is within :func:`error_bound` of the exact squared distance, and whatever a bound this size could
change (which point is a nearest neighbour, which side of a ball boundary a point lies on) is
recomputed in float64 from the features. Nearest neighbours and ball memberships are therefore those
of float64 arithmetic, whatever the chunk size; kernel sums add float32 kernel values in float64,
so they agree across chunk sizes to about 1e-8 relative.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import torch

UNIT_ROUNDOFF_F32 = 2.0**-24
CONFIDENCE = 8.0
"""λ of the probabilistic rounding-error bound (exceeded with probability below 1e-13)."""


def error_bound(dim: int) -> float:
    r"""Bound on a float32 tile entry's error, per unit of ``||a||^2 + ||b||^2``.

    A ``dim``-term float32 dot product errs by at most :math:`\tilde\gamma_D \lVert a \rVert
    \lVert b \rVert` with :math:`\tilde\gamma_D = \lambda \sqrt{D} u` except with probability
    :math:`2 \exp(-\lambda^2 (1 - u)^2 / 2)` (Higham and Mary, 2019, "A New Approach to
    Probabilistic Rounding Error Analysis"); with the squared norms, the two additions and
    the rounding of the inputs, :math:`\lVert a \rVert^2 + \lVert b \rVert^2 - 2 a^\top b` errs by
    less than :math:`(2 \tilde\gamma_D + 6u)(\lVert a \rVert^2 + \lVert b \rVert^2)`.
    """
    return (2 * CONFIDENCE * math.sqrt(dim) + 6) * UNIT_ROUNDOFF_F32


@dataclasses.dataclass
class Points:
    """Features prepared for tiles.

    ``source`` holds the features as given ``(N, D)``; ``shift`` ``(D,)`` float64 is subtracted from
    every point (a common shift changes no distance); ``fast`` ``(N, D)`` float32 and ``sq``
    ``(N,)`` float32 squared norms feed the tiles; :meth:`exact` gives float64 rows on demand.
    """

    source: torch.Tensor
    shift: torch.Tensor
    fast: torch.Tensor
    sq: torch.Tensor

    @classmethod
    def prepare(cls, x: torch.Tensor, shift: torch.Tensor | None = None) -> Points:
        """Points of ``x`` ``(N, D)`` shifted by ``shift`` (None: unshifted, and no copy of
        float32 features is made)."""
        if x.dim() != 2:
            raise ValueError(f"expected features of shape (N, D), got {tuple(x.shape)}")
        work = x if x.dtype == torch.float64 else x.float()
        if shift is None:
            shift = torch.zeros(x.shape[1], dtype=torch.float64, device=x.device)
            fast = work.float()
        else:
            fast = (work - shift.to(work.dtype)).float()
        sq = torch.linalg.vector_norm(fast, dim=1).square_()
        return cls(source=x, shift=shift, fast=fast, sq=sq)

    def __len__(self) -> int:
        return self.source.shape[0]

    @property
    def dim(self) -> int:
        return self.source.shape[1]

    def exact(self, index: torch.Tensor | slice) -> torch.Tensor:
        """Rows ``index`` shifted, in float64 (``(..., D)``)."""
        return self.source[index].double() - self.shift


def chunks(n: int, size: int) -> Iterator[slice]:
    """Consecutive slices of ``range(n)`` of at most ``size`` elements."""
    if size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {size}")
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def sq_dist_tile(a: Points, rows: slice, b: Points, cols: slice) -> torch.Tensor:
    """float32 squared distances ``(rows, cols)`` of ``a[rows]`` and ``b[cols]``.

    Entries are within :func:`error_bound` of the exact values, so they may be slightly negative.
    """
    base = a.sq[rows, None] + b.sq[None, cols]
    return torch.addmm(base, a.fast[rows], b.fast[cols].T, alpha=-2.0)


def dot_tile(a: Points, rows: slice, b: Points, cols: slice) -> torch.Tensor:
    """float32 dot products ``(rows, cols)`` of ``a[rows]`` and ``b[cols]``."""
    return a.fast[rows] @ b.fast[cols].T


def exact_sq_dist(a: Points, a_index: torch.Tensor, b: Points, b_index: torch.Tensor, chunk: int):
    """float64 squared distances of the pairs ``(a[a_index[p]], b[b_index[p]])``, ``(P,)``.

    Works through the pairs a few at a time, so memory stays within ``chunk^2`` float64 values.
    """
    out = torch.empty(a_index.shape[0], dtype=torch.float64, device=a.fast.device)
    for part in chunks(a_index.shape[0], max(1, chunk * chunk // a.dim)):
        diff = a.exact(a_index[part]) - b.exact(b_index[part])
        out[part] = diff.square().sum(1)
    return out


def exact_sq_dist_rows(a: Points, a_index: torch.Tensor, b: Points, chunk: int) -> torch.Tensor:
    """float64 squared distances ``(len(a_index), len(b))`` from rows ``a_index`` to all ``b``."""
    rows = a.exact(a_index)
    out = torch.empty(rows.shape[0], len(b), dtype=torch.float64, device=a.fast.device)
    rows_sq = rows.square().sum(1)
    for cols in chunks(len(b), chunk):
        other = b.exact(cols)
        dist = rows_sq[:, None] + other.square().sum(1)[None, :] - 2.0 * rows @ other.T
        out[:, cols] = dist.clamp_(min=0.0)
    return out
