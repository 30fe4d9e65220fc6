"""Speed, agreement and memory of labcore's metrics, each beside its reference, in one run.

    python benchmarks/metrics.py               # full sizes: 2,048-d, 2 x 10,000 samples
    python benchmarks/metrics.py --quick       # small sizes, to check that it runs
    python benchmarks/metrics.py --threads 1   # pin every library to one thread
    python benchmarks/metrics.py --only kid wasserstein   # some parts only

Measured on this machine in the same run (wall seconds, with the CPU seconds of all threads):

1. float32 matrix product FLOP/s (torch, 4096^3): the yardstick of the pairwise kernels.
2. The Fréchet distance of two 2,048-d Gaussians: pytorch-fid's method (scipy.linalg.sqrtm of
   S1 S2) against labcore's eigenvalue route, uncached and with the reference side's factor cached
   (as every evaluation of a run has it), and the plain eigh route (sqrt(S1) S2 sqrt(S1)); then
   the usual evaluation case of 1,000 generated samples (N <= D), checked against scipy's SVD.
3. Unbiased polynomial-kernel MMD² (KID's kernel) on 2 x 10,000 x 2,048 features: labcore's tiles
   against scikit-learn's polynomial_kernel on whole matrices (as torch-fidelity computes KID).
4. Leave-one-out 1-NN accuracy on the same features: labcore against scikit-learn's
   NearestNeighbors and a plain torch implementation (the whole distance matrix).
5. KID, 100 subsets of 1,000 on 2 x 5,000 x 2,048 features: labcore's KID against a faithful
   re-implementation of torch-fidelity's numpy algorithm (``polynomial_mmd`` per subset: three
   float32 ``np.matmul`` kernel matrices, then ``mmd2``) on the same subsets; the median of 3.
   Values are checked against the same algorithm on float64 features.
6. The Wasserstein-1 distance: exact on 2 x 2,000 (labcore's assignment against POT's network
   simplex on scipy's ``cdist``), exact with unequal sides (2,000 and 1,800: labcore against
   ``ot.emd2`` on scipy's costs), and the sliced distance on 2 x 10,000 (labcore against POT's
   ``sliced_wasserstein_distance`` with the same directions); the median of 3.
7. Peak memory of the pairwise work above the features themselves, for several chunk sizes (each
   in a fresh process; the plain implementations hold whole matrices).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import psutil
import scipy.linalg
import torch
from threadpoolctl import threadpool_limits

from labcore.metrics.fid import GaussianStats, frechet_distance
from labcore.metrics.kernel import KID, PolynomialKernel, mmd2_unbiased, subset_indices
from labcore.metrics.nn import one_nn_accuracy
from labcore.metrics.pairwise import chunks
from labcore.metrics.wasserstein import random_directions, sliced_wasserstein1, wasserstein1


@dataclasses.dataclass
class Timing:
    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.wall:8.3f} s (cpu {self.cpu:7.3f} s)"


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[Timing, Any]:
    """The fastest of ``repeat`` calls (wall and CPU seconds) and the last result."""
    best, result = Timing(float("inf"), 0.0), None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        took = Timing(time.perf_counter() - wall, time.process_time() - cpu)
        best = took if took.wall < best.wall else best
    return best, result


def median_timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[Timing, Any]:
    """Median wall and CPU seconds of ``repeat`` calls, and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return Timing(float(np.median(walls)), float(np.median(cpus))), result


def matmul_rate(n: int, repeat: int = 5) -> dict[str, float]:
    """float32 GFLOP per wall second and per CPU second of an ``n x n x n`` product."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    timing, _ = timed(lambda: a @ b, repeat)
    return rates(2 * n**3, timing)


def rates(flops: float, timing: Timing) -> dict[str, float]:
    """GFLOP per wall second, and per CPU second (the figure that machine load does not skew)."""
    return {"wall": flops / timing.wall / 1e9, "cpu": flops / timing.cpu / 1e9}


def features(n: int, d: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    """Inception-like features: non-negative, correlated, ``(n, d)`` float32 (made in blocks)."""
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(d, d, generator=torch.Generator().manual_seed(1234)) / d**0.5
    out = torch.empty(n, d)
    for rows in chunks(n, 1000):
        block = torch.randn(rows.stop - rows.start, d, generator=g)
        out[rows] = torch.relu(block @ mix + shift)
    return out


# -- Fréchet distance ------------------------------------------------------------------------------


def pytorch_fid_frechet(mu1, sigma1, mu2, sigma2, eps=1e-6) -> float:
    """pytorch-fid's calculate_frechet_distance (numpy, scipy.linalg.sqrtm)."""
    diff = mu1 - mu2
    covmean = scipy.linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def plain_eigh_frechet(mu1, sigma1, mu2, sigma2) -> float:
    """The simple fix: sqrt(S1) by eigh, then the eigenvalues of sqrt(S1) S2 sqrt(S1)."""
    values, vectors = torch.linalg.eigh(sigma1)
    root = (vectors * values.clamp(min=0).sqrt()) @ vectors.T
    inner = torch.linalg.eigvalsh(root @ sigma2 @ root).clamp(min=0).sqrt().sum()
    return float((mu1 - mu2).square().sum() + sigma1.trace() + sigma2.trace() - 2 * inner)


def svd_frechet(real: GaussianStats, generated: torch.Tensor) -> float:
    """Exact for few generated samples: Tr sqrt(S1 S2) = ||L1^T Yc^T||_* / sqrt(n - 1) (scipy)."""
    y = generated.double().numpy()
    centred = (y - y.mean(0)) / np.sqrt(len(y) - 1)
    lower = scipy.linalg.cholesky(real.sigma.numpy(), lower=True)
    nuclear = scipy.linalg.svdvals(lower.T @ centred.T).sum()
    sigma2 = centred.T @ centred
    diff = real.mu.numpy() - y.mean(0)
    return float(diff @ diff + np.trace(real.sigma.numpy()) + np.trace(sigma2) - 2 * nuclear)


def bench_frechet(d: int, n: int) -> dict[str, Any]:
    a = GaussianStats.from_features(features(n, d, 0))
    b = GaussianStats.from_features(features(n, d, 1, shift=0.05))
    a, b = GaussianStats(a.n, a.mu, a.sigma), GaussianStats(b.n, b.mu, b.sigma)
    args = (a.mu.numpy(), a.sigma.numpy(), b.mu.numpy(), b.sigma.numpy())
    scipy_t, reference = timed(lambda: pytorch_fid_frechet(*args))
    eigh_t, eigh_value = timed(lambda: plain_eigh_frechet(a.mu, a.sigma, b.mu, b.sigma), 2)
    uncached_t, uncached = timed(lambda: frechet_distance(a, b), 3)
    factor_t, cached_a = timed(a.factorised)
    cached_t, cached = timed(lambda: frechet_distance(cached_a, b), 3)
    few = features(1000, d, 2, shift=0.05)
    few_stats = GaussianStats.from_features(few)
    few_t, few_value = timed(lambda: frechet_distance(cached_a, few_stats), 3)
    few_reference = svd_frechet(a, few)
    return {
        "dim": d, "samples": n, "fid": reference,
        "timings": {"scipy_sqrtm": scipy_t, "plain_eigh": eigh_t, "labcore_uncached": uncached_t,
                    "labcore_cached": cached_t, "reference_factor_once": factor_t,
                    "labcore_1000_generated": few_t},
        "speedup": {"uncached": scipy_t.wall / uncached_t.wall,
                    "cached": scipy_t.wall / cached_t.wall},
        "rel_diff": {"plain_eigh": abs(eigh_value - reference) / abs(reference),
                     "uncached": abs(uncached - reference) / abs(reference),
                     "cached": abs(cached - reference) / abs(reference),
                     "1000_generated_vs_svd": abs(few_value - few_reference) / abs(few_reference)},
    }


# -- pairwise kernels ------------------------------------------------------------------------------


def tile_flops(m: int, n: int | None, d: int, chunk: int) -> float:
    """FLOPs of the tile products labcore does (``n=None``: the upper triangle of tiles)."""
    if n is not None:
        return 2.0 * m * n * d
    return sum(
        2.0 * (r.stop - r.start) * (c.stop - c.start) * d
        for r in chunks(m, chunk) for c in chunks(m, chunk) if c.start >= r.start
    )


def sklearn_mmd(x: np.ndarray, y: np.ndarray) -> float:
    """KID's estimator as torch-fidelity computes it: whole kernel matrices (float64)."""
    from sklearn.metrics.pairwise import polynomial_kernel

    m, n, gamma = len(x), len(y), 1.0 / x.shape[1]
    kxx = polynomial_kernel(x, x, degree=3, gamma=gamma, coef0=1)
    within_x = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    del kxx
    kyy = polynomial_kernel(y, y, degree=3, gamma=gamma, coef0=1)
    within_y = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    del kyy
    kxy = polynomial_kernel(x, y, degree=3, gamma=gamma, coef0=1)
    return float(within_x + within_y - 2 * kxy.mean())


def plain_one_nn(real: torch.Tensor, fake: torch.Tensor) -> float:
    """The whole pooled distance matrix in float32 (torch.cdist), then argmin."""
    pooled = torch.cat([real, fake])
    dist = torch.cdist(pooled, pooled)
    dist.fill_diagonal_(float("inf"))
    labels = torch.arange(len(pooled)) < len(real)
    return float((labels[dist.argmin(1)] == labels).double().mean())


def sklearn_one_nn(real: np.ndarray, fake: np.ndarray) -> float:
    from sklearn.neighbors import NearestNeighbors

    pooled = np.concatenate([real, fake])
    labels = np.arange(len(pooled)) < len(real)
    _, index = NearestNeighbors(n_neighbors=2).fit(pooled).kneighbors(pooled)
    return float((labels[index[:, 1]] == labels).mean())


def bench_pairwise(n: int, d: int, chunk: int, rate: dict[str, float]) -> dict[str, Any]:
    real, fake = features(n, d, 3), features(n, d, 4, shift=0.02)
    mmd_t, mmd = timed(lambda: mmd2_unbiased(real, fake, PolynomialKernel(), chunk), 2)
    mmd_flops = 2 * tile_flops(n, None, d, chunk) + tile_flops(n, n, d, chunk)
    sk_mmd_t, sk_mmd = timed(lambda: sklearn_mmd(real.double().numpy(), fake.double().numpy()))
    nn_t, nn = timed(lambda: one_nn_accuracy(real, fake, chunk), 2)
    nn_flops = tile_flops(2 * n, None, d, chunk)
    plain_t, plain = timed(lambda: plain_one_nn(real, fake))
    sk_nn_t, sk_nn = timed(lambda: sklearn_one_nn(real.numpy(), fake.numpy()))
    return {
        "samples_per_side": n, "dim": d, "chunk_size": chunk,
        "mmd2": {"values": {"labcore": mmd, "sklearn": sk_mmd},
                 "rel_diff": abs(mmd - sk_mmd) / abs(sk_mmd),
                 "timings": {"labcore": mmd_t, "sklearn": sk_mmd_t},
                 "gflops": rates(mmd_flops, mmd_t)},
        "1nn": {"values": {"labcore": nn["1nn"], "sklearn": sk_nn, "plain_torch": plain},
                "timings": {"labcore": nn_t, "sklearn": sk_nn_t, "plain_torch": plain_t},
                "gflops": rates(nn_flops, nn_t)},
        "matmul_gflops": rate,
    }


# -- KID ------------------------------------------------------------------------------------------


def torch_fidelity_kid(f1: np.ndarray, f2: np.ndarray, index1, index2) -> tuple[float, float]:
    """torch-fidelity's ``kid_features_to_metric`` (numpy, the features' float32) on given subsets.

    Per subset: ``polynomial_kernel`` (``(X @ Y.T * gamma + coef0) ** degree``, gamma 1/D) for
    the three matrices, then ``mmd2``: row sums less the diagonals, unbiased; mean and np.std.
    """

    def polynomial_kernel(x, y, degree=3, gamma=None, coef0=1):
        gamma = 1.0 / x.shape[1] if gamma is None else gamma
        return (np.matmul(x, y.T) * gamma + coef0) ** degree

    def mmd2(k_xx, k_xy, k_yy):
        m = k_xx.shape[0]
        kt_xx_sum = (k_xx.sum(axis=1) - np.diagonal(k_xx)).sum()
        kt_yy_sum = (k_yy.sum(axis=1) - np.diagonal(k_yy)).sum()
        k_xy_sum = k_xy.sum(axis=0).sum()
        return (kt_xx_sum + kt_yy_sum) / (m * (m - 1)) - 2 * k_xy_sum / (m * m)

    mmds = np.zeros(len(index1))
    for i, (a, b) in enumerate(zip(index1, index2, strict=True)):
        x, y = f1[a], f2[b]
        k_11, k_22, k_12 = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
        mmds[i] = mmd2(k_11, k_12, k_22)
    return float(np.mean(mmds)), float(np.std(mmds))


def labcore_kid(real: torch.Tensor, fake: torch.Tensor, subsets: int, size: int) -> dict:
    metric = KID(KID.Config(kid_subsets=subsets, kid_subset_size=size, seed=0))
    metric.update(real, real=True)
    metric.update(fake)
    return metric.compute()


def bench_kid(n: int, d: int, subsets: int, size: int) -> dict[str, Any]:
    real, fake = features(n, d, 5), features(n, d, 6, shift=0.02)
    index1, index2 = subset_indices(n, n, subsets, size, seed=0)
    f1, f2 = real.numpy(), fake.numpy()
    index1, index2 = index1.numpy(), index2.numpy()
    ours_t, ours = median_timed(lambda: labcore_kid(real, fake, subsets, size))
    theirs_t, theirs = median_timed(lambda: torch_fidelity_kid(f1, f2, index1, index2))
    exact = torch_fidelity_kid(f1.astype(np.float64), f2.astype(np.float64), index1, index2)
    return {
        "samples_per_side": n, "dim": d, "subsets": subsets, "subset_size": size,
        "values": {"labcore": [ours["kid"], ours["kid_std"]], "torch_fidelity": list(theirs),
                   "torch_fidelity_float64": list(exact)},
        "rel_diff": abs(ours["kid"] - exact[0]) / abs(exact[0]),
        "rel_diff_float32": abs(theirs[0] - exact[0]) / abs(exact[0]),
        "timings": {"labcore": ours_t, "torch_fidelity": theirs_t},
        "speedup": theirs_t.wall / ours_t.wall,
    }


# -- Wasserstein ----------------------------------------------------------------------------------


def pot_exact(x: np.ndarray, y: np.ndarray) -> float:
    """The direct POT route: scipy's float64 ``cdist``, then ``ot.emd2`` with uniform weights."""
    import ot
    from scipy.spatial.distance import cdist

    costs = cdist(x, y)
    return float(ot.emd2(np.full(len(x), 1 / len(x)), np.full(len(y), 1 / len(y)), costs,
                         numItermax=100_000_000))


def pot_sliced(x: np.ndarray, y: np.ndarray, directions: np.ndarray) -> float:
    import ot

    return float(ot.sliced_wasserstein_distance(x, y, p=1, projections=directions))


def bench_wasserstein(exact_n: int, sliced_n: int, d: int, projections: int) -> dict[str, Any]:
    out: dict[str, Any] = {"dim": d, "projections": projections}
    cases = {"exact_equal": (exact_n, exact_n), "exact_unequal": (exact_n, exact_n * 9 // 10)}
    for name, (m, n) in cases.items():
        real, fake = features(m, d, 7), features(n, d, 8, shift=0.02)
        ours_t, ours = median_timed(functools.partial(wasserstein1, real, fake))
        x, y = real.double().numpy(), fake.double().numpy()
        theirs_t, theirs = median_timed(functools.partial(pot_exact, x, y))
        out[name] = {"sizes": [m, n], "values": {"labcore": ours, "pot": theirs},
                     "rel_diff": abs(ours - theirs) / abs(theirs),
                     "timings": {"labcore": ours_t, "pot": theirs_t}}
    real, fake = features(sliced_n, d, 9), features(sliced_n, d, 10, shift=0.02)
    directions = random_directions(d, projections, seed=0).numpy()
    ours_t, ours = median_timed(lambda: sliced_wasserstein1(real, fake, projections, seed=0))
    x, y = real.double().numpy(), fake.double().numpy()
    theirs_t, theirs = median_timed(lambda: pot_sliced(x, y, directions))
    out["sliced"] = {"sizes": [sliced_n, sliced_n], "values": {"labcore": ours, "pot": theirs},
                     "rel_diff": abs(ours - theirs) / abs(theirs),
                     "timings": {"labcore": ours_t, "pot": theirs_t}}
    return out


# -- peak memory -----------------------------------------------------------------------------------


def peak_child(kind: str, n: int, d: int, chunk: int, threads: int) -> float:
    """Extra peak resident memory (MiB) of one computation, in a fresh process."""
    command = [sys.executable, __file__, "--threads", str(threads),
               "--peak", kind, str(n), str(d), str(chunk)]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def peak_here(kind: str, n: int, d: int, chunk: int) -> float:
    """Peak resident memory (MiB) of one computation above what the process held before it."""
    real, fake = features(n, d, 3), features(n, d, 4, shift=0.02)
    work = {
        "mmd": lambda: mmd2_unbiased(real, fake, PolynomialKernel(), chunk),
        "1nn": lambda: one_nn_accuracy(real, fake, chunk),
        "sklearn_mmd": lambda: sklearn_mmd(real.double().numpy(), fake.double().numpy()),
        "plain_1nn": lambda: plain_one_nn(real, fake),
    }[kind]
    process = psutil.Process()
    before = process.memory_info().rss
    peak, done = [before], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        work()
    finally:
        done.set()
        sampler.join()
    return (peak[0] - before) / 2**20


# -- report ----------------------------------------------------------------------------------------


def print_frechet(f: dict[str, Any]) -> None:
    t, r = f["timings"], f["rel_diff"]
    print(f"\nFréchet distance, {f['dim']}-d statistics of {f['samples']} samples "
          f"(FID {f['fid']:.6g}):")
    print(f"  scipy.linalg.sqrtm (pytorch-fid)   {t['scipy_sqrtm']}")
    print(f"  plain eigh route                   {t['plain_eigh']}   rel diff "
          f"{r['plain_eigh']:.1e}")
    print(f"  labcore, uncached                  {t['labcore_uncached']}   rel diff "
          f"{r['uncached']:.1e}   {f['speedup']['uncached']:.1f}x")
    print(f"  labcore, reference factor cached   {t['labcore_cached']}   rel diff "
          f"{r['cached']:.1e}   {f['speedup']['cached']:.1f}x")
    print(f"  (the reference factor, once:       {t['reference_factor_once']})")
    print(f"  labcore, 1,000 generated (N <= D)  {t['labcore_1000_generated']}   rel diff "
          f"{r['1000_generated_vs_svd']:.1e} (vs scipy SVD)")


def print_pairwise(p: dict[str, Any]) -> None:
    rate = p["matmul_gflops"]
    for name, label in (("mmd2", "MMD² (polynomial kernel)"), ("1nn", "1-NN accuracy")):
        result = p[name]
        print(f"\n{label}, 2 x {p['samples_per_side']} x {p['dim']}, chunk {p['chunk_size']}:")
        for impl, timing in result["timings"].items():
            print(f"  {impl:<12} {timing}   value {result['values'][impl]:.9g}")
        got = result["gflops"]
        print(f"  labcore tiles: {got['wall']:.0f} GFLOP/s = "
              f"{100 * got['wall'] / rate['wall']:.0f}% of the float32 matmul rate; per CPU "
              f"second {got['cpu']:.0f} = {100 * got['cpu'] / rate['cpu']:.0f}%")


def print_kid(k: dict[str, Any]) -> None:
    print(f"\nKID, {k['subsets']} subsets of {k['subset_size']} on 2 x {k['samples_per_side']} x "
          f"{k['dim']} (median of 3):")
    for impl, timing in k["timings"].items():
        kid, std = k["values"][impl]
        print(f"  {impl:<15} {timing}   kid {kid:.9g} +- {std:.3g}")
    print(f"  labcore {k['speedup']:.2f}x faster; rel diff to the float64 reference: labcore "
          f"{k['rel_diff']:.1e}, torch-fidelity (float32) {k['rel_diff_float32']:.1e}")


def print_wasserstein(w: dict[str, Any]) -> None:
    print(f"\nWasserstein-1, {w['dim']}-d (median of 3):")
    for name in ("exact_equal", "exact_unequal", "sliced"):
        case = w[name]
        sizes = " x ".join(map(str, case["sizes"]))
        print(f"  {name} ({sizes}): labcore {case['timings']['labcore']}   POT "
              f"{case['timings']['pot']}   value {case['values']['labcore']:.9g}, rel diff "
              f"{case['rel_diff']:.1e}")


def print_peak(peak: dict[str, float]) -> None:
    print("\nPeak memory above the features (MiB):")
    for key, mib in peak.items():
        print(f"  {key:<16} {mib:8.1f}")


PARTS = ("frechet", "pairwise", "kid", "wasserstein", "peak")


def print_report(report: dict[str, Any]) -> None:
    rate = report["matmul_gflops"]
    print(f"torch {report['torch']}, {report['threads']} threads, load average "
          f"{report['load_average']:.1f}; float32 matmul {rate['wall']:.0f} GFLOP/s "
          f"({rate['cpu']:.0f} per CPU second)")
    printers = {"frechet": print_frechet, "pairwise": print_pairwise, "kid": print_kid,
                "wasserstein": print_wasserstein, "peak": print_peak}
    for part in PARTS:
        if part in report:
            printers[part](report[part])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check it runs")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="threads of torch and of the BLAS under numpy and scipy")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS),
                        help="the parts to run (default: all)")
    parser.add_argument("--peak", nargs=4, metavar=("KIND", "N", "D", "CHUNK"),
                        help="(internal) measure one computation's peak memory")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with threadpool_limits(args.threads):
        if args.peak:
            kind, *sizes = args.peak
            print(peak_here(kind, *map(int, sizes)))
            return
        d, n, chunk = (256, 1500, 256) if args.quick else (2048, 10_000, 1024)
        rate = matmul_rate(1024 if args.quick else 4096)
        report: dict[str, Any] = {
            "torch": torch.__version__, "threads": args.threads, "matmul_gflops": rate,
            "load_average": psutil.getloadavg()[0],
        }
        parts = {
            "frechet": lambda: bench_frechet(d, n),
            "pairwise": lambda: bench_pairwise(n, d, chunk, rate),
            "kid": lambda: bench_kid(*((600, d, 20, 100) if args.quick else (5000, d, 100, 1000))),
            "wasserstein": lambda: bench_wasserstein(
                *((300, 1500, d, 100) if args.quick else (2000, 10_000, d, 1000))
            ),
            "peak": lambda: peak_report(n, d, chunk, args.threads),
        }
        for part in PARTS:
            if part in args.only:
                report[part] = parts[part]()
        report["load_average_after"] = psutil.getloadavg()[0]
    if args.json:
        print(json.dumps(report, indent=2, default=dataclasses.asdict))
    else:
        print_report(report)


def peak_report(n: int, d: int, chunk: int, threads: int) -> dict[str, float]:
    sizes = [("mmd", chunk // 4), ("mmd", chunk), ("mmd", chunk * 4), ("1nn", chunk // 4),
             ("1nn", chunk), ("1nn", chunk * 4), ("sklearn_mmd", 0), ("plain_1nn", 0)]
    return {
        f"{kind}@{size}" if size else kind: peak_child(kind, n, d, size, threads)
        for kind, size in sizes
    }


if __name__ == "__main__":
    main()
