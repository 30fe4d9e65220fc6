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


@dataclasses.dataclass
class KIDConfig:
    kid_subsets: int = hp(100, "random subsets averaged (0: one estimate on all samples)")
    kid_subset_size: int = hp(1000, "samples per subset and side (at most the smaller side)")
    seed: int = hp(0, "seed of the subset draws")
    chunk_size: int = hp(1024, "tile edge of the kernel matrices")


class KID(FeatureSetsMetric):
    """Kernel Inception Distance (Bińkowski et al., 2018): MMD² with ``(x.y / D + 1)^3``.

    With ``kid_subsets > 0``, the mean and standard deviation (population) of the unbiased MMD²
    over that many subsets of ``kid_subset_size`` samples per side, drawn without replacement from
    a generator seeded with ``seed`` (as torch-fidelity and torchmetrics do); with 0, one unbiased
    estimate on all samples. ``compute()`` gives ``{"kid": ..., "kid_std": ...}``.
    """

    name = "kid"
    Config = KIDConfig

    def compute(self) -> dict[str, float]:
        real, fake = self.cat("real_x"), self.cat("fake_x")
        kernel = PolynomialKernel()
        chunk = self.config.chunk_size
        self.notes.update(num_real=real.shape[0], num_fake=fake.shape[0])
        if self.config.kid_subsets == 0:
            return {"kid": mmd2_unbiased(real, fake.to(real.device), kernel, chunk)}
        size = min(self.config.kid_subset_size, real.shape[0], fake.shape[0])
        self.notes["subset_size"] = size
        generator = torch.Generator().manual_seed(self.config.seed)
        fake = fake.to(real.device)
        values = []
        for _ in range(self.config.kid_subsets):
            real_index = torch.randperm(real.shape[0], generator=generator)[:size]
            fake_index = torch.randperm(fake.shape[0], generator=generator)[:size]
            subsets = real[real_index.to(real.device)], fake[fake_index.to(real.device)]
            values.append(mmd2_unbiased(*subsets, kernel, chunk))
        values = torch.tensor(values, dtype=torch.float64)
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

    def compute(self) -> dict[str, float]:
        real, fake = self.cat("real_x"), self.cat("fake_x")
        fake = fake.to(real.device)
        bandwidth = self.config.mmd_bandwidth or median_bandwidth(real, fake)
        self.notes.update(bandwidth=bandwidth, num_real=real.shape[0], num_fake=fake.shape[0])
        value = mmd2_unbiased(real, fake, GaussianKernel(bandwidth), self.config.chunk_size)
        return {"mmd2": value}
