r"""Fréchet Inception Distance (Heusel et al., 2017, "GANs Trained by a Two Time-Scale Update Rule
Converge to a Local Nash Equilibrium", eq. 6).

The Fréchet distance between Gaussians fitted to two sets of features,

.. math::
    d^2 = \lVert \mu_1 - \mu_2 \rVert^2 + \operatorname{Tr}\Sigma_1 + \operatorname{Tr}\Sigma_2
          - 2 \operatorname{Tr}\big( (\Sigma_1 \Sigma_2)^{1/2} \big),

in float64. The trace of the matrix square root is computed exactly without ``sqrtm``: with any
factor :math:`F_1` of :math:`\Sigma_1 = F_1^\top F_1` (``r_1 x D``), the eigenvalues of
:math:`\Sigma_1 \Sigma_2` are those of the symmetric PSD :math:`F_1 \Sigma_2 F_1^\top`, so

.. math::
    \operatorname{Tr}(\Sigma_1 \Sigma_2)^{1/2}
    = \sum_i \sqrt{\lambda_i(F_1 \Sigma_2 F_1^\top)} = \lVert F_1 F_2^\top \rVert_*

(one ``eigh``; the second form, the nuclear norm, when both sides have factors; a covariance of
``n`` samples has rank ``n - 1`` at most, so only that many eigenvalues are kept). Factors come
from the samples themselves when a side has ``N <= D`` of them (``F = (X - \mu)/\sqrt{N-1}``,
``N x D``: the work moves to the ``N``-dimensional sample space), else from a Cholesky
factorisation (an eigendecomposition when the covariance is singular). The reference side's factor
is computed once and cached with its statistics (:meth:`FID.derived_reference`).

Statistics accumulate as float64 running sums (count, sum, sum of outer products), so no set of
features is held whole; samples are kept only while a side has at most ``D`` of them.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import torch

from labcore.metrics.base import Metric


@dataclasses.dataclass
class GaussianStats:
    """Mean ``mu`` ``(D,)`` and covariance ``sigma`` ``(D, D)`` (float64) of ``n`` feature vectors.

    ``factor`` ``(r, D)``, when known, satisfies ``sigma = factor.T @ factor``.
    """

    n: int
    mu: torch.Tensor
    sigma: torch.Tensor
    factor: torch.Tensor | None = None

    @classmethod
    def from_sums(
        cls, n: int, total: torch.Tensor, outer: torch.Tensor, samples: torch.Tensor | None = None
    ) -> GaussianStats:
        """Statistics from ``n``, the sum ``(D,)`` and the sum of outer products ``(D, D)``.

        ``samples`` ``(n, D)``, when given, supplies the sample-space factor.
        """
        if n < 2:
            raise ValueError(f"a covariance needs at least 2 samples, got {n}")
        mu = total / n
        sigma = (outer - n * torch.outer(mu, mu)) / (n - 1)
        sigma = (sigma + sigma.T) / 2
        factor = None
        if samples is not None:
            factor = (samples.double() - mu) / (n - 1) ** 0.5
        return cls(n=n, mu=mu, sigma=sigma, factor=factor)

    @classmethod
    def from_features(cls, x: torch.Tensor) -> GaussianStats:
        """Statistics of features ``x`` ``(N, D)`` (sample-space factor when ``N <= D``)."""
        x = x.double()
        n, dim = x.shape
        return cls.from_sums(n, x.sum(0), x.T @ x, x if n <= dim else None)

    def to(self, device: torch.device | str) -> GaussianStats:
        factor = None if self.factor is None else self.factor.to(device, torch.float64)
        return GaussianStats(
            self.n, self.mu.to(device, torch.float64), self.sigma.to(device, torch.float64), factor
        )

    def factorised(self) -> GaussianStats:
        """These statistics with a factor (Cholesky, or eigh when ``sigma`` is singular)."""
        if self.factor is not None:
            return self
        return dataclasses.replace(self, factor=covariance_factor(self.sigma))


def covariance_factor(sigma: torch.Tensor) -> torch.Tensor:
    """``F`` ``(r, D)`` with ``F.T @ F == sigma`` for a symmetric PSD ``sigma`` ``(D, D)``.

    Cholesky when ``sigma`` is positive definite; otherwise the eigenvectors of the eigenvalues
    above rounding level (``D eps lambda_max``), the others being zero up to rounding.
    """
    lower, info = torch.linalg.cholesky_ex(sigma)
    if int(info) == 0:
        return lower.T
    values, vectors = torch.linalg.eigh(sigma)
    keep = values > values[-1] * sigma.shape[0] * torch.finfo(torch.float64).eps
    return values[keep].sqrt()[:, None] * vectors[:, keep].T


def sandwich(factor: torch.Tensor, sigma: torch.Tensor, blocks: int = 4) -> torch.Tensor:
    """The lower triangle of ``factor @ sigma @ factor.T`` (``(r, r)``; zeros above).

    An upper-triangular (Cholesky) ``factor`` is multiplied block by block, skipping its zero
    blocks: with 4 x 4 blocks this takes 1.09 instead of 2 dense products.
    """
    size = factor.shape[0]
    out = torch.zeros(size, size, dtype=factor.dtype, device=factor.device)
    if size != factor.shape[1] or bool(torch.tril(factor, -1).any()):
        return torch.tril(factor @ sigma @ factor.T, out=out)
    edge = [size * i // blocks for i in range(blocks + 1)]
    for i in range(blocks):
        rows = slice(edge[i], edge[i + 1])
        product = factor[rows, edge[i]:] @ sigma[edge[i]:, :]
        for j in range(i + 1):
            cols = slice(edge[j], edge[j + 1])
            out[rows, cols] = product[:, edge[j]:] @ factor[cols, edge[j]:].T
    return out.tril_()


def trace_sqrt_product(a: GaussianStats, b: GaussianStats) -> torch.Tensor:
    """``Tr((sigma_a sigma_b)^(1/2))`` in float64, exactly (one symmetric eigenvalue problem)."""
    if a.factor is None and b.factor is None:
        a = a.factorised()
    if a.factor is not None and b.factor is not None:
        cross = a.factor @ b.factor.T
        gram = cross @ cross.T if cross.shape[0] <= cross.shape[1] else cross.T @ cross
    else:
        factor, other = (a.factor, b.sigma) if a.factor is not None else (b.factor, a.sigma)
        gram = sandwich(factor, other)
    # A covariance of n samples has rank n - 1 at most: the other eigenvalues are exactly zero.
    rank = min(a.n - 1, b.n - 1, gram.shape[0])
    eigenvalues = torch.linalg.eigvalsh(gram)[gram.shape[0] - rank :]
    return eigenvalues.clamp(min=0).sqrt().sum()


def frechet_distance(a: GaussianStats, b: GaussianStats) -> float:
    """The Fréchet distance between the Gaussians ``a`` and ``b`` (see the module docstring)."""
    if a.mu.shape != b.mu.shape:
        raise ValueError(f"feature dimensions differ: {a.mu.shape[0]} and {b.mu.shape[0]}")
    b = b.to(a.mu.device)
    mean_term = (a.mu - b.mu).square().sum()
    traces = torch.trace(a.sigma) + torch.trace(b.sigma)
    return float(mean_term + traces - 2 * trace_sqrt_product(a, b))


@dataclasses.dataclass
class FIDConfig:
    """FID has no options."""


class FID(Metric):
    """Fréchet Inception Distance between real and generated features (Heusel et al., 2017).

    ``update(x, real)`` with features ``x`` ``(B, D)``; ``compute()`` gives ``{"fid": d^2}``. A side
    with ``N <= D`` samples has a singular covariance: the value is still exact for those samples
    but biased upwards, and a warning says so.
    """

    name = "fid"
    Config = FIDConfig
    higher_is_better = {"fid": False}

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        for side in ("real", "fake"):
            self.add_state(f"{side}_n", torch.tensor(0, dtype=torch.int64), "sum")
            self.add_state(f"{side}_sum", torch.tensor(0.0, dtype=torch.float64), "sum")
            self.add_state(f"{side}_outer", torch.tensor(0.0, dtype=torch.float64), "sum")
            self.add_state(f"{side}_samples", [], "cat")

    def update(self, x: torch.Tensor, real: bool = False) -> None:
        side = self.side(real)
        self.check_rows(x, side)
        x64 = x.detach().double()
        n = getattr(self, f"{side}_n") + x.shape[0]
        setattr(self, f"{side}_n", n)
        setattr(self, f"{side}_sum", getattr(self, f"{side}_sum") + x64.sum(0))
        setattr(self, f"{side}_outer", getattr(self, f"{side}_outer") + x64.T @ x64)
        samples = getattr(self, f"{side}_samples")
        setattr(self, f"{side}_samples", samples + [x.detach()] if n <= x.shape[1] else [])

    def stats(self, side: str) -> GaussianStats:
        """The Gaussian statistics of ``side`` (``"real"`` or ``"fake"``)."""
        n = int(getattr(self, f"{side}_n"))
        if n == 0:
            raise ValueError(f"FID has no {side} samples; call update() first")
        if n < 2:
            raise ValueError(
                f"fid: a covariance needs at least 2 samples, the "
                f"{'real' if side == 'real' else 'generated'} side has {n}"
            )
        samples = getattr(self, f"{side}_samples")
        kept = torch.cat(samples) if samples and sum(s.shape[0] for s in samples) == n else None
        total, outer = getattr(self, f"{side}_sum"), getattr(self, f"{side}_outer")
        if kept is not None:
            kept = kept.to(total.device)
        return GaussianStats.from_sums(n, total, outer, kept)

    def derived_reference(self) -> dict[str, Any]:
        if "real_factor" not in self._derived:
            self._derived["real_factor"] = self.stats("real").factorised().factor
        return {"real_factor": self._derived["real_factor"]}

    def compute(self) -> dict[str, float]:
        real, fake = self.stats("real"), self.stats("fake")
        dim = real.mu.shape[0]
        if fake.mu.shape[0] != dim:
            raise ValueError(
                f"fid: the real features are {dim}-dimensional, the generated ones "
                f"{fake.mu.shape[0]}-dimensional; both sides need the same extractor"
            )
        messages = [
            f"FID: the {side} side has {stats.n} samples of {dim}-dimensional features "
            f"(N <= D): its covariance is singular (rank at most N - 1), so the FID is biased "
            f"upwards; use more than {dim} samples per side for a comparable value"
            for side, stats in (("real", real), ("fake", fake))
            if stats.n <= dim
        ]
        for message in messages:
            warnings.warn(message, stacklevel=2)
        if messages:
            self.notes["warnings"] = messages
        real.factor = self.derived_reference()["real_factor"].to(real.mu)
        self.notes.update(num_real=real.n, num_fake=fake.n)
        return {"fid": frechet_distance(real, fake)}
