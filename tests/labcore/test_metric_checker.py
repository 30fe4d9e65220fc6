"""check_metric: built-in metrics pass against independent float64 references; toy metrics with
one broken property each fail, and the message names that property."""

import dataclasses

import numpy as np
import pytest
import scipy.linalg
import torch

from labcore.metrics import FID, Metric
from labcore.metrics.kernel import KID, KIDConfig
from labcore.testing import ContractError, check_metric


def features(n: int, d: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g) + shift


REAL, FAKE = features(40, 3, 0), features(31, 3, 1, shift=0.5)


def reference_fid(real, fake):
    x, y = real.double().numpy(), fake.double().numpy()
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    root = scipy.linalg.sqrtm(s1 @ s2).real
    mean = ((x.mean(0) - y.mean(0)) ** 2).sum()
    return {"fid": float(mean + np.trace(s1) + np.trace(s2) - 2 * np.trace(root))}


def reference_kid(real, fake):
    """Unbiased MMD² with KID's kernel (x.y / d + 1)^3 (Bińkowski et al. 2018, eq. 4)."""
    x, y = real.double().numpy(), fake.double().numpy()
    d = x.shape[1]
    kxx, kyy, kxy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    m, n = len(x), len(y)
    within_x = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    within_y = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return {"kid": float(within_x + within_y - 2 * kxy.mean())}


def test_fid_passes_against_scipy():
    values = check_metric(FID, REAL, FAKE, reference_fid, rtol=1e-6)
    assert values["fid"] > 0.5  # the shift of 0.5 in three dimensions gives 0.75 and more


def test_kid_on_all_samples_passes_against_numpy():
    values = check_metric(lambda: KID(KIDConfig(kid_subsets=0)), REAL, FAKE, reference_kid)
    assert set(values) == {"kid"}


class MeanGap(Metric):
    """Distance between the means of the two sides, correctly reduced; the toys break it."""

    name = "toy-gap"
    higher_is_better = {"gap": False}

    @dataclasses.dataclass
    class Config:
        pass

    def __init__(self, config=None):
        super().__init__(config)
        for side in ("real", "fake"):
            self.add_state(f"{side}_sum", torch.zeros((), dtype=torch.float64), "sum")
            self.add_state(f"{side}_n", torch.tensor(0), "sum")

    def update(self, x, real=False):
        side = self.side(real)
        setattr(self, f"{side}_sum", getattr(self, f"{side}_sum") + x.double().sum(0))
        setattr(self, f"{side}_n", getattr(self, f"{side}_n") + x.shape[0])

    def means(self):
        return self.real_sum / self.real_n, self.fake_sum / self.fake_n

    def compute(self):
        real, fake = self.means()
        return {"gap": float((real - fake).norm())}


def reference_gap(real, fake):
    gap = real.double().numpy().mean(0) - fake.double().numpy().mean(0)
    return {"gap": float(np.linalg.norm(gap))}


class MeanOfBatchMeans(MeanGap):
    """Sums each batch's mean: right in one batch only."""

    def update(self, x, real=False):
        side = self.side(real)
        setattr(self, f"{side}_sum", getattr(self, f"{side}_sum") + x.double().mean(0))
        setattr(self, f"{side}_n", torch.tensor(1))


class UndeclaredCount(MeanGap):
    """Counts the generated rows in a plain attribute, which reset() does not clear."""

    def __init__(self, config=None):
        super().__init__(config)
        self.seen = 0

    def update(self, x, real=False):
        super().update(x, real)
        if not real:
            self.seen += x.shape[0]

    def compute(self):
        real, _ = self.means()
        return {"gap": float((real - self.fake_sum / self.seen).norm())}


class MaxDeclaredAsSum(MeanGap):
    """Also reports the largest generated value, kept in a state declared as a sum."""

    higher_is_better = {"gap": False, "max": None}

    def __init__(self, config=None):
        super().__init__(config)
        self.add_state("fake_max", torch.tensor(-torch.inf, dtype=torch.float64), "sum")

    def update(self, x, real=False):
        super().update(x, real)
        if not real:
            self.fake_max = torch.maximum(self.fake_max, x.double().max())

    def compute(self):
        return {**super().compute(), "max": float(self.fake_max)}


class PartialReferenceState(MeanGap):
    """Caches only the real sum, not the real count, of the real side."""

    def reference_state(self):
        return {"real_sum": self.real_sum}


@dataclasses.dataclass
class Moments:
    mean: torch.Tensor


class UnsavableDerivedState(MeanGap):
    """Caches the real side's moments as an object the cache's safe loader refuses."""

    def derived_reference(self):
        return {"real_moments": Moments(self.real_sum / self.real_n)}


class Undeclared(MeanGap):
    higher_is_better = {}


class StrayStateName(MeanGap):
    def __init__(self, config=None):
        super().__init__(config)
        self.add_state("total", torch.zeros((), dtype=torch.float64), "sum")


class Biased(MeanGap):
    def compute(self):
        return {"gap": super().compute()["gap"] * (1 + 1e-3)}


@pytest.mark.parametrize(
    ("toy", "prop"),
    [
        (MeanOfBatchMeans, "batching"),
        (UndeclaredCount, "reset"),
        (MaxDeclaredAsSum, "merge"),
        (PartialReferenceState, "reference state"),
        (UnsavableDerivedState, "reference state"),
        (Undeclared, "direction"),
        (StrayStateName, "state names"),
        (Biased, "reference"),
    ],
)
def test_each_broken_property_is_named(toy, prop):
    check_metric(MeanGap, REAL, FAKE, reference_gap)  # the unbroken toy passes
    with pytest.raises(ContractError) as failure:
        check_metric(toy, REAL, FAKE, reference_gap)
    assert str(failure.value).startswith(f"metric 'toy-gap', {prop}: ")


def test_a_missing_real_side_is_a_usage_error():
    with pytest.raises(ValueError, match="give the real features"):
        check_metric(MeanGap, None, FAKE)
