r"""Kernel two-sample statistics: unbiased MMD² (Gretton et al., 2012, "A Kernel Two-Sample Test",
eq. 3) and the Kernel Inception Distance (Bińkowski et al., 2018, "Demystifying MMD GANs", eq. 2).

For samples ``X`` ``(m, D)`` and ``Y`` ``(n, D)`` and a kernel ``k``, the unbiased estimator is

.. math::
    \widehat{\mathrm{MMD}}^2_u = \frac{1}{m(m-1)} \sum_{i \ne j} k(x_i, x_j)
        + \frac{1}{n(n-1)} \sum_{i \ne j} k(y_i, y_j) - \frac{2}{mn} \sum_{i, j} k(x_i, y_j).

Kernels: KID's polynomial kernel :math:`k(x, y) = (x^\top y / D + 1)^3` and the Gaussian kernel
:math:`k(x, y) = \exp(-\lVert x - y \rVert^2 / (2\sigma^2))` with a given bandwidth or the
median heuristic (the median pairwise distance of the pooled samples). The three sums are taken
over float32 tiles (:mod:`labcore.metrics.pairwise`) accumulated in float64; the within-set sums
visit each unordered pair of tiles once.
"""

from __future__ import annotations

import dataclasses
import warnings

import torch

from labcore.metrics.base import FeatureSetsMetric
from labcore.metrics.pairwise import Points, chunks, dot_tile, sq_dist_tile
from labcore.schema import hp

MEDIAN_POINTS = 1000
"""Points per side pooled for the median heuristic (the first ones of each side)."""


@dataclasses.dataclass(frozen=True)
class PolynomialKernel:
    r""":math:`k(x, y) = (\gamma\, x^\top y + c_0)^d`; ``gamma=None`` means ``1 / D`` (KID)."""

    degree: int = 3
    gamma: float | None = None
    coef0: float = 1.0
    translation_invariant = False

    def tile(self, a: Points, rows: slice, b: Points, cols: slice) -> torch.Tensor:
        gamma = self.gamma if self.gamma is not None else 1.0 / a.dim
        return (dot_tile(a, rows, b, cols) * gamma + self.coef0).pow_(self.degree)


@dataclasses.dataclass(frozen=True)
class GaussianKernel:
    r""":math:`k(x, y) = \exp(-\lVert x - y \rVert^2 / (2 \sigma^2))` with ``bandwidth`` σ."""

    bandwidth: float
    translation_invariant = True

    def tile(self, a: Points, rows: slice, b: Points, cols: slice) -> torch.Tensor:
        scale = -0.5 / self.bandwidth**2
        return sq_dist_tile(a, rows, b, cols).clamp_(min=0.0).mul_(scale).exp_()


Kernel = PolynomialKernel | GaussianKernel


def kernel_sum(a: Points, b: Points | None, kernel: Kernel, chunk_size: int) -> torch.Tensor:
    """``sum_{i,j} k(a_i, b_j)`` (float64 scalar); ``b=None``: ``sum_{i != j} k(a_i, a_j)``."""
    total = torch.zeros((), dtype=torch.float64, device=a.fast.device)
    if b is not None:
        for rows in chunks(len(a), chunk_size):
            for cols in chunks(len(b), chunk_size):
                total += kernel.tile(a, rows, b, cols).sum(dtype=torch.float64)
        return total
    for rows in chunks(len(a), chunk_size):
        for cols in chunks(len(a), chunk_size):
            if cols.start < rows.start:
                continue
            tile = kernel.tile(a, rows, a, cols)
            if cols == rows:
                total += tile.sum(dtype=torch.float64) - tile.diagonal().sum(dtype=torch.float64)
            else:
                total += 2 * tile.sum(dtype=torch.float64)
    return total


def mmd2_unbiased(
    x: torch.Tensor, y: torch.Tensor, kernel: Kernel, chunk_size: int = 1024
) -> float:
    """Unbiased MMD² between ``x`` ``(m, D)`` and ``y`` ``(n, D)`` (module docstring)."""
    m, n = x.shape[0], y.shape[0]
    if m < 2 or n < 2:
        raise ValueError(f"unbiased MMD needs at least 2 samples per side, got {m} and {n}")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"feature dimensions differ: {x.shape[1]} and {y.shape[1]}")
    y = y.to(x.device)
    shift = x.double().mean(0) if kernel.translation_invariant else None
    a, b = Points.prepare(x, shift), Points.prepare(y, shift)
    kxx = kernel_sum(a, None, kernel, chunk_size) / (m * (m - 1))
    kyy = kernel_sum(b, None, kernel, chunk_size) / (n * (n - 1))
    kxy = kernel_sum(a, b, kernel, chunk_size) / (m * n)
    return float(kxx + kyy - 2 * kxy)


def median_bandwidth(x: torch.Tensor, y: torch.Tensor, points: int = MEDIAN_POINTS) -> float:
    """The median pairwise Euclidean distance among the first ``points`` of each side, pooled."""
    pooled = torch.cat([x[:points].double(), y[:points].to(x.device).double()])
    pooled = pooled - pooled.mean(0)
    sq = pooled.square().sum(1)
    sq_dist = torch.addmm(sq[:, None] + sq[None, :], pooled, pooled.T, alpha=-2.0).clamp_(min=0)
    upper = torch.triu_indices(len(pooled), len(pooled), 1, device=pooled.device)
    median = float(torch.quantile(sq_dist[upper[0], upper[1]].sqrt(), 0.5))
    if median <= 0:
        raise ValueError(
            "the median pairwise distance is 0 (most samples coincide); give the Gaussian kernel "
            "a bandwidth with [evaluate] mmd_bandwidth"
        )
    return median


def subset_indices(
    n_real: int, n_fake: int, subsets: int, size: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """KID's subsets: ``(subsets, size)`` indices into each side, drawn without replacement
    (real then generated, subset by subset) from a CPU generator seeded with ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    real, fake = [], []
    for _ in range(subsets):
        real.append(torch.randperm(n_real, generator=generator)[:size])
        fake.append(torch.randperm(n_fake, generator=generator)[:size])
    return torch.stack(real), torch.stack(fake)


def subset_mmd2_each(
    x: torch.Tensor, y: torch.Tensor, x_index: torch.Tensor, y_index: torch.Tensor,
    kernel: Kernel, chunk_size: int = 1024,
) -> torch.Tensor:
    """Unbiased MMD² of every subset pair ``(x[x_index[s]], y[y_index[s]])``, one by one."""
    values = [
        mmd2_unbiased(x[i.to(x.device)], y[j.to(x.device)], kernel, chunk_size)
        for i, j in zip(x_index, y_index, strict=True)
    ]
    return torch.tensor(values, dtype=torch.float64)


def subset_mmd2_shared(
    x: torch.Tensor, y: torch.Tensor, x_index: torch.Tensor, y_index: torch.Tensor,
    kernel: Kernel, chunk_size: int = 1024,
) -> torch.Tensor:
    r"""The same values as :func:`subset_mmd2_each`, from one pass over the kernel matrices of all
    samples.

    Subsets drawn from the same samples share their kernel values: with the membership matrix
    :math:`S` (``(N, subsets)``, 1 where a sample is in a subset) the sum of ``k`` over the pairs
    of subset ``s`` is :math:`(S^\top K S)_{ss}`, gathered tile by tile (a float32 kernel tile,
    then :math:`S_{rows}^\top K S_{cols}` in float64). The within-set matrices are visited one
    triangle of tiles each, so the work is that of :math:`(m + n)^2 / 2` kernel values whatever the
    number of subsets; :func:`kid_subsets` picks this route when that is less than the subsets'.
    """
    subsets, m, n = x_index.shape[0], x_index.shape[1], y_index.shape[1]
    a, b = Points.prepare(x), Points.prepare(y.to(x.device))

    def membership(index: torch.Tensor, count: int) -> torch.Tensor:
        out = torch.zeros(count, subsets, dtype=torch.float64, device=x.device)
        out[index.T.to(x.device), torch.arange(subsets, device=x.device)] = 1.0
        return out

    in_x, in_y = membership(x_index, len(a)), membership(y_index, len(b))

    def pair_sums(p: Points, in_p: torch.Tensor, q: Points | None, in_q: torch.Tensor | None):
        total = torch.zeros(subsets, dtype=torch.float64, device=x.device)
        same = q is None
        q, in_q = (p, in_p) if same else (q, in_q)
        for rows in chunks(len(p), chunk_size):
            for cols in chunks(len(q), chunk_size):
                if same and cols.start < rows.start:
                    continue
                tile = kernel.tile(p, rows, q, cols).double()
                part = ((in_p[rows].T @ tile) * in_q[cols].T).sum(1)
                if same and cols == rows:
                    part -= in_p[rows].T @ tile.diagonal()
                total += part if not same or cols == rows else 2 * part
        return total

    within_x = pair_sums(a, in_x, None, None) / (m * (m - 1))
    within_y = pair_sums(b, in_y, None, None) / (n * (n - 1))
    cross = pair_sums(a, in_x, b, in_y) / (m * n)
    return (within_x + within_y - 2 * cross).cpu()


def kid_subsets(
    x: torch.Tensor, y: torch.Tensor, subsets: int, size: int, seed: int = 0,
    chunk_size: int = 1024, kernel: Kernel | None = None,
) -> torch.Tensor:
    """Unbiased MMD² (KID's kernel by default) of ``subsets`` random subset pairs of ``size``
    samples per side (:func:`subset_indices`), ``(subsets,)`` float64.

    The subsets are computed one by one (:func:`subset_mmd2_each`) or from one shared pass
    (:func:`subset_mmd2_shared`), whichever visits fewer kernel values: ``2 size^2`` per subset
    (two within-set triangles and the cross matrix) against ``(m + n)^2 / 2`` once. For 100
    subsets of 1,000 out of 2 x 5,000 samples the shared pass does a sixth of the work.
    """
    kernel = kernel if kernel is not None else PolynomialKernel()
    x_index, y_index = subset_indices(x.shape[0], y.shape[0], subsets, size, seed)
    shared = (x.shape[0] + y.shape[0]) ** 2 / 2 < subsets * 2 * size**2
    route = subset_mmd2_shared if shared else subset_mmd2_each
    return route(x, y.to(x.device), x_index, y_index, kernel, chunk_size)


@dataclasses.dataclass
class KIDConfig:
    kid_subsets: int = hp(100, "random subsets averaged (0: one estimate on all samples)")
    kid_subset_size: int = hp(1000, "samples per subset and side (below the smaller side)")
    seed: int = hp(0, "seed of the subset draws")
    chunk_size: int = hp(1024, "tile edge of the kernel matrices")


class KID(FeatureSetsMetric):
    """Kernel Inception Distance (Bińkowski et al., 2018): MMD² with ``(x.y / D + 1)^3``.

    With ``kid_subsets > 0``, the mean and standard deviation (population) of the unbiased MMD²
    over that many subsets of ``kid_subset_size`` samples per side, drawn without replacement from
    a generator seeded with ``seed`` (as torch-fidelity and torchmetrics do): ``{"kid",
    "kid_std"}``. With 0, or when ``kid_subset_size`` is not below the smaller side's sample count
    (the subsets would be the whole side, the same estimate repeated; a warning and the notes
    say so), one unbiased estimate on all samples: ``{"kid"}``.

    The value is the MMD² itself, not scaled: as torch-fidelity, clean-fid and torchmetrics report
    it. Papers often print it multiplied by 1,000 (or 100); say so when comparing with them.
    """

    name = "kid"
    Config = KIDConfig
    higher_is_better = {"kid": False, "kid_std": None}

    def compute(self) -> dict[str, float]:
        real, fake = self.sides()
        kernel = PolynomialKernel()
        config, chunk = self.config, self.config.chunk_size
        smaller = min(real.shape[0], fake.shape[0])
        if config.kid_subsets and config.kid_subset_size >= smaller:
            message = (
                f"KID: kid_subset_size {config.kid_subset_size} is not below the smaller side's "
                f"{smaller} samples, so every subset would be that whole side; one estimate on "
                "all samples is reported instead (no kid_std); lower kid_subset_size or draw "
                "more samples for the subset mean and spread"
            )
            warnings.warn(message, stacklevel=2)
            self.notes["warnings"] = [message]
        if config.kid_subsets == 0 or config.kid_subset_size >= smaller:
            self.notes["subsets"] = 0
            return {"kid": mmd2_unbiased(real, fake, kernel, chunk)}
        self.notes.update(subsets=config.kid_subsets, subset_size=config.kid_subset_size)
        values = kid_subsets(
            real, fake, config.kid_subsets, config.kid_subset_size, config.seed, chunk, kernel
        )
        return {"kid": float(values.mean()), "kid_std": float(values.std(correction=0))}


@dataclasses.dataclass
class MMDConfig:
    mmd_bandwidth: float = hp(0.0, "Gaussian kernel bandwidth (0: median heuristic)")
    chunk_size: int = hp(1024, "tile edge of the kernel matrices")


class MMD(FeatureSetsMetric):
    """Unbiased MMD² with a Gaussian kernel (Gretton et al., 2012); ``{"mmd2": ...}``.

    The bandwidth is ``mmd_bandwidth`` or, when 0, the median heuristic (recorded in the notes).
    """

    name = "mmd"
    Config = MMDConfig
    higher_is_better = {"mmd2": False}

    def compute(self) -> dict[str, float]:
        real, fake = self.sides()
        bandwidth = self.config.mmd_bandwidth or median_bandwidth(real, fake)
        self.notes["bandwidth"] = bandwidth
        value = mmd2_unbiased(real, fake, GaussianKernel(bandwidth), self.config.chunk_size)
        return {"mmd2": value}
