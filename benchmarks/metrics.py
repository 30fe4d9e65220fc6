"""Speed, agreement and memory of labcore's metrics, each beside its reference, in one run.

    python benchmarks/metrics.py               # full sizes: 2,048-d, 2 x 10,000 samples
    python benchmarks/metrics.py --quick       # small sizes, to check that it runs
    python benchmarks/metrics.py --threads 1   # pin every library to one thread

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
5. Peak memory of the pairwise work above the features themselves, for several chunk sizes (each
   in a fresh process; the plain implementations hold whole matrices).
"""

from __future__ import annotations

import argparse
import dataclasses
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
from labcore.metrics.kernel import PolynomialKernel, mmd2_unbiased
from labcore.metrics.nn import one_nn_accuracy
from labcore.metrics.pairwise import chunks


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


def print_report(report: dict[str, Any]) -> None:
    f, p = report["frechet"], report["pairwise"]
    t, r = f["timings"], f["rel_diff"]
    rate = report["matmul_gflops"]
    print(f"torch {report['torch']}, {report['threads']} threads, load average "
          f"{report['load_average']:.1f}; float32 matmul {rate['wall']:.0f} GFLOP/s "
          f"({rate['cpu']:.0f} per CPU second)")
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
    for name, label in (("mmd2", "MMD² (polynomial kernel)"), ("1nn", "1-NN accuracy")):
        result = p[name]
        print(f"\n{label}, 2 x {p['samples_per_side']} x {p['dim']}, chunk {p['chunk_size']}:")
        for impl, timing in result["timings"].items():
            print(f"  {impl:<12} {timing}   value {result['values'][impl]:.9g}")
        got = result["gflops"]
        print(f"  labcore tiles: {got['wall']:.0f} GFLOP/s = "
              f"{100 * got['wall'] / rate['wall']:.0f}% of the float32 matmul rate; per CPU "
              f"second {got['cpu']:.0f} = {100 * got['cpu'] / rate['cpu']:.0f}%")
    print("\nPeak memory above the features (MiB):")
    for key, mib in report["peak_mib"].items():
        print(f"  {key:<16} {mib:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check it runs")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(),
                        help="threads of torch and of the BLAS under numpy and scipy")
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
            "frechet": bench_frechet(d, n), "pairwise": bench_pairwise(n, d, chunk, rate),
        }
        sizes = [("mmd", chunk // 4), ("mmd", chunk), ("mmd", chunk * 4), ("1nn", chunk // 4),
                 ("1nn", chunk), ("1nn", chunk * 4), ("sklearn_mmd", 0), ("plain_1nn", 0)]
        report["peak_mib"] = {
            f"{kind}@{size}" if size else kind: peak_child(kind, n, d, size, args.threads)
            for kind, size in sizes
        }
    if args.json:
        print(json.dumps(report, indent=2, default=dataclasses.asdict))
    else:
        print_report(report)


if __name__ == "__main__":
    main()
