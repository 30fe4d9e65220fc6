"""FID, MMD, 1-NN and GAN training at the sizes of a GPU run, labcore beside its references.

    python benchmarks/gpu.py                          # the issue's sizes, on CUDA when available
    python benchmarks/gpu.py --device cpu             # the same sizes on the CPU (long, see below)
    python benchmarks/gpu.py --n 10000                # 10,000 samples per side for the metrics
    python benchmarks/gpu.py --only fid gan           # some of the parts: fid, mmd, 1nn, gan
    python benchmarks/gpu.py --precision bf16-mixed   # GAN training under bf16 autocast
    python benchmarks/gpu.py --quick                  # small sizes, only to check that it runs
    python benchmarks/gpu.py --json                   # the same figures as JSON

It runs on the CPU too, and prints first what it measured where: the device and its name (the GPU,
or the CPU model), torch's thread count, the torch and CUDA versions, whether TF32 products are
allowed, the load average, and the float32 matrix product rate measured on the device. Every part
measures labcore and its references in the same run, on the same device and the same data, and
prints both values, their agreement, both times (wall seconds, with the CPU seconds of the
process) and the ratio. On CUDA every timing is bracketed by ``torch.cuda.synchronize()``, and
every routine is first run once on a few hundred points (CUDA start-up, library handles, lazy
imports) before anything is timed.

The features are Inception-like (non-negative, correlated, 2,048-d; ``features`` of
``benchmarks/metrics.py``), made on the CPU and moved to the device, as if an extractor had just
produced them there.

1. FID on 2 x 50,000 x 2,048 features, from the features to the distance. The reference is what
   pytorch-fid does: the features to numpy on the host, ``np.mean`` and ``np.cov`` (float64), then
   its ``calculate_frechet_distance`` (``scipy.linalg.sqrtm`` of ``S1 S2``). labcore: the ``FID``
   metric fed in batches of 5,000 per side on the device (float64 running sums), then
   ``compute()`` (Cholesky factor of the real side, one symmetric eigenvalue problem). Also the
   distance step alone: labcore's ``frechet_distance`` given the reference's own statistics,
   against ``sqrtm`` on the same statistics. pytorch-fid's means are float32 (``np.mean`` of
   float32 features), which moves its value by about 1e-9 relative; the same formula with float64
   means is printed beside it.
2. Unbiased MMD² with KID's polynomial kernel ``(x.y / d + 1)^3`` on all 2 x 50,000 samples (no
   subsets). labcore: ``mmd2_unbiased`` (float32 tiles of ``--chunk``, float64 sums, within-set
   sums on one triangle of tiles). Reference: plain torch on the same device, the three kernel
   matrices in blocks of ``--block`` whole rows, float32 with float64 sums; and scikit-learn
   (``polynomial_kernel`` on whole float64 matrices, as torch-fidelity computes KID) on the CPU when
   ``n <= --sklearn-max`` (10,000), else skipped with the reason.
3. Leave-one-out 1-NN accuracy on the same 2 x 50,000 samples. labcore: ``one_nn_accuracy``
   (float32 tiles, running candidates, float64 checks). Reference: plain torch on the same device,
   ``torch.cdist`` of a block of whole rows of the pooled 100,000 x 100,000 distance matrix, the
   diagonal set to infinity, ``argmin`` (the whole matrix would be 40 GB in float32); and
   scikit-learn's ``NearestNeighbors`` on the CPU when ``n <= --sklearn-max``.
4. GAN training steps per second at batch 256: labcore's ``gan-digits`` recipe (DCGAN on the 8x8
   digits, non-saturating loss, Adam 2e-4 with betas (0.5, 0.999), EMA generator) through the real
   trainer (``labcore.testing.run_recipe``; steps per second from the trainer's own ``log.jsonl``
   time stamps after ``--gan-warmup`` steps), against a hand-written PyTorch loop training the same
   networks (built by the same model class) with the same update sequence: D on real and detached
   fake, Adam step; G through the frozen D, Adam step; EMA update with TensorFlow's warm-up of the
   decay. The repeats alternate between the sides, so both see the same machine load; the table
   gives each side's median and the ratio labcore / hand loop (1.0: no overhead). With
   ``--precision bf16-mixed`` the recipe gets ``run.precision`` and the hand loop
   ``torch.autocast(device, bfloat16)`` around its forward passes and losses. The hand loop reads
   its losses every ``--gan-warmup`` steps (as often as the trainer writes its log) and runs with
   the TF32 settings the trainer sets from the recipe (``run.tf32``, off).

Sizes are the issue's unless ``--n`` (samples per side) or ``--quick`` (2,000 samples of 256-d
features, a few GAN steps) says otherwise; nothing is shrunk silently. The FLOP counts of the
pairwise parts are printed (and on stderr, before each part starts, the least time they take at
the measured matrix product rate). On a CPU the full sizes take long: 1-NN on 100,000 pooled
points is 2.0e13 FLOP of labcore tiles and 4.1e13 of plain blocks, MMD² 2.0e13 and 3.1e13,
1.1e14 FLOP in all, about 15 minutes on one core at 190 GFLOP/s (float32, AVX-512); the GAN
part (1,000 steps x 3 repeats x 2 sides at about 15 steps per second on that core) about 7 more.
The scikit-learn references are skipped at that size (whole 50,000 x 50,000 float64 matrices).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import torch
import torch.nn.functional as F
from metrics import (
    Timing,
    features,
    pytorch_fid_frechet,
    rates,
    sklearn_mmd,
    sklearn_one_nn,
    tile_flops,
    timed,
)
from threadpoolctl import threadpool_limits

from labcore.metrics.fid import FID, GaussianStats, frechet_distance
from labcore.metrics.kernel import PolynomialKernel, mmd2_unbiased
from labcore.metrics.nn import one_nn_accuracy
from labcore.metrics.pairwise import chunks
from labcore.recipes.recipe import Recipe
from labcore.testing import check_recipe, run_recipe

PARTS = ("fid", "mmd", "1nn", "gan")
GAN_RECIPE = "gan-digits"
GAN_LR, GAN_BETAS = 2e-4, (0.5, 0.999)


def log(message: str) -> None:
    """Progress, on stderr (stdout carries the report, or the JSON)."""
    print(message, file=sys.stderr, flush=True)


# -- device ----------------------------------------------------------------------------------------


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_on(device: torch.device, fn: Callable[[], Any], repeat: int = 1) -> tuple[Timing, Any]:
    """:func:`timed` with the device synchronised before the clock starts and before it stops."""

    def synced() -> Any:
        result = fn()
        sync(device)
        return result

    sync(device)
    return timed(synced, repeat)


def total(*timings: Timing) -> Timing:
    return Timing(sum(t.wall for t in timings), sum(t.cpu for t in timings))


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def describe(device: torch.device) -> dict[str, Any]:
    """What the figures were measured on."""
    out: dict[str, Any] = {
        "device": str(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "load_average": psutil.getloadavg()[0],
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        out.update(
            name=torch.cuda.get_device_name(device),
            memory_gib=props.total_memory / 2**30,
            capability=f"{props.major}.{props.minor}",
            cuda=torch.version.cuda,
            tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
            tf32_cudnn=torch.backends.cudnn.allow_tf32,
            float32_matmul_precision=torch.get_float32_matmul_precision(),
        )
    else:
        out["name"] = out["cpu"]
    return out


def matmul_rate_on(device: torch.device, n: int, repeat: int = 5) -> dict[str, float]:
    """float32 GFLOP per wall and per CPU second of an ``n x n x n`` product on ``device``."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    timed_on(device, lambda: a @ b)
    timing, _ = timed_on(device, lambda: a @ b, repeat)
    return rates(2 * n**3, timing)


def estimate(flops: float, rate: dict[str, float]) -> str:
    seconds = flops / (rate["wall"] * 1e9)
    took = f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
    return f"{flops:.2g} FLOP, at least {took} at the measured matmul rate"


# -- FID -------------------------------------------------------------------------------------------


def reference_stats(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """pytorch-fid's calculate_activation_statistics on features gathered to the host."""
    act = x.cpu().numpy()
    return np.mean(act, axis=0), np.cov(act, rowvar=False)


def feed(metric: FID, real: torch.Tensor, fake: torch.Tensor, batch: int) -> None:
    for x, is_real in ((real, True), (fake, False)):
        for rows in chunks(len(x), batch):
            metric.update(x[rows], real=is_real)


def labcore_fid(real: torch.Tensor, fake: torch.Tensor, batch: int) -> tuple[Timing, Timing, float]:
    """A fresh FID metric: the updates' and compute's times, and the value."""
    device, metric = real.device, FID()
    update_t, _ = timed_on(device, lambda: feed(metric, real, fake, batch))
    compute_t, value = timed_on(device, lambda: metric.compute()["fid"])
    return update_t, compute_t, value


def bench_fid(real: torch.Tensor, fake: torch.Tensor, batch: int, repeat: int) -> dict[str, Any]:
    device, (n, d) = real.device, real.shape
    stats_t, ((mu1, s1), (mu2, s2)) = timed_on(
        device, lambda: (reference_stats(real), reference_stats(fake))
    )
    log(f"FID: reference statistics {stats_t}; scipy sqrtm of {d} x {d} next")
    distance_t, reference = timed(lambda: pytorch_fid_frechet(mu1, s1, mu2, s2))
    # pytorch-fid's means are float32 (np.mean of float32 features), and so is its mean term;
    # the same formula with float64 means differs in that term only.
    diff32 = mu1 - mu2
    diff64 = real.double().mean(0).cpu().numpy() - fake.double().mean(0).cpu().numpy()
    reference64 = reference - float(diff32.dot(diff32)) + float(diff64 @ diff64)
    runs = [labcore_fid(real, fake, batch) for _ in range(repeat)]
    update_t, compute_t, value = min(runs, key=lambda r: r[0].wall + r[1].wall)
    a, b = (
        GaussianStats(
            n,
            torch.from_numpy(mu).to(device, torch.float64),
            torch.from_numpy(sigma).to(device, torch.float64),
        )
        for mu, sigma in ((mu1, s1), (mu2, s2))
    )
    given_t, given = timed_on(device, lambda: frechet_distance(a, b), repeat)
    reference_t, labcore_t = total(stats_t, distance_t), total(update_t, compute_t)
    return {
        "samples_per_side": n,
        "dim": d,
        "update_batch": batch,
        "values": {
            "reference": reference,
            "reference_float64_means": reference64,
            "labcore_metric": value,
            "labcore_given_stats": given,
        },
        "rel_diff": {
            "labcore_metric": abs(value - reference) / abs(reference),
            "labcore_metric_to_float64_means": abs(value - reference64) / abs(reference64),
            "labcore_given_stats": abs(given - reference) / abs(reference),
        },
        "timings": {
            "reference_stats": stats_t,
            "reference_distance": distance_t,
            "reference_total": reference_t,
            "labcore_update": update_t,
            "labcore_compute": compute_t,
            "labcore_total": labcore_t,
            "labcore_distance_given_stats": given_t,
        },
        "speedup": {
            "total": reference_t.wall / labcore_t.wall,
            "distance": distance_t.wall / given_t.wall,
        },
        "flop": {"covariances": 2 * 2.0 * n * d * d},
    }


# -- MMD² and 1-NN ---------------------------------------------------------------------------------


def plain_kernel_sum(a: torch.Tensor, b: torch.Tensor, block: int, same: bool) -> torch.Tensor:
    """``sum k(a_i, b_j)`` over blocks of whole rows (float32 kernel, float64 sums); ``same``:
    ``a is b`` and the diagonal is left out."""
    out = torch.zeros((), dtype=torch.float64, device=a.device)
    for rows in chunks(len(a), block):
        k = (a[rows] @ b.T).mul_(1.0 / a.shape[1]).add_(1.0).pow_(3)
        out += k.sum(dtype=torch.float64)
        if same:
            out -= k.diagonal(rows.start).sum(dtype=torch.float64)
    return out


def plain_mmd(x: torch.Tensor, y: torch.Tensor, block: int) -> float:
    """KID's unbiased MMD² as a careful user writes it in torch: whole kernel matrices in blocks
    of rows."""
    m, n = len(x), len(y)
    kxx = plain_kernel_sum(x, x, block, True) / (m * (m - 1))
    kyy = plain_kernel_sum(y, y, block, True) / (n * (n - 1))
    kxy = plain_kernel_sum(x, y, block, False) / (m * n)
    return float(kxx + kyy - 2 * kxy)


def plain_one_nn_blocks(real: torch.Tensor, fake: torch.Tensor, block: int) -> float:
    """Leave-one-out 1-NN accuracy from blocks of whole rows of the pooled distance matrix
    (``torch.cdist``, float32), ``argmin`` per row; with one block it is ``plain_one_nn``."""
    pooled = torch.cat([real, fake])
    labels = torch.arange(len(pooled), device=pooled.device) < len(real)
    nearest = torch.empty(len(pooled), dtype=torch.int64, device=pooled.device)
    for rows in chunks(len(pooled), block):
        dist = torch.cdist(pooled[rows], pooled)
        dist.diagonal(rows.start).fill_(float("inf"))
        nearest[rows] = dist.argmin(1)
    return float((labels[nearest] == labels).double().mean())


def sklearn_skip(n: int, limit: int) -> str | None:
    if n <= limit:
        return None
    gib = 8 * n * n / 2**30
    return (
        f"skipped: {n:,} samples per side > --sklearn-max {limit:,} (scikit-learn holds whole "
        f"float64 matrices of {gib:.0f} GiB and runs on the CPU only)"
    )


def pairwise_result(
    values: dict[str, float],
    timings: dict[str, Timing],
    flops: dict[str, float],
    skipped: dict[str, str],
) -> dict[str, Any]:
    lab = values["labcore"]
    return {
        "values": values,
        "diff_to_labcore": {k: abs(v - lab) for k, v in values.items() if k != "labcore"},
        "rel_diff_to_labcore": {
            k: abs(v - lab) / abs(v) for k, v in values.items() if k != "labcore" and v
        },
        "timings": timings,
        "speedup": {
            k: t.wall / timings["labcore"].wall for k, t in timings.items() if k != "labcore"
        },
        "flop": flops,
        "gflops": {k: rates(flops[k], timings[k]) for k in flops},
        "skipped": skipped,
    }


def compare_pairwise(
    label: str,
    sides: tuple[torch.Tensor, torch.Tensor],
    flops: dict[str, float],
    implementations: dict[str, Callable[[], float]],
    settings: dict[str, int],
) -> dict[str, Any]:
    """Time ``implementations`` (labcore, plain_torch, sklearn) of one pairwise metric.

    scikit-learn runs on the CPU only up to ``settings["sk_max"]`` samples per side.
    """
    real, _ = sides
    device, (n, d) = real.device, real.shape
    rate, repeat = settings["rate"], settings["repeat"]
    values, timings, skipped = {}, {}, {}
    previous = None
    for name in ("labcore", "plain_torch"):
        done = f"{previous} {timings[previous]}; " if previous else ""
        log(f"{label}: {done}{name} {estimate(flops[name], rate)}")
        timings[name], values[name] = timed_on(device, implementations[name], repeat)
        previous = name
    reason = sklearn_skip(n, settings["sk_max"])
    if reason:
        skipped["sklearn"] = reason
    else:
        log(f"{label}: plain_torch {timings['plain_torch']}; scikit-learn next")
        timings["sklearn"], values["sklearn"] = timed(implementations["sklearn"])
    return {
        "samples_per_side": n,
        "dim": d,
        "chunk_size": settings["chunk"],
        "block_rows": settings["block"],
        **pairwise_result(values, timings, flops, skipped),
    }


def bench_mmd(real: torch.Tensor, fake: torch.Tensor, settings: dict[str, Any]) -> dict[str, Any]:
    (n, d), chunk = real.shape, settings["chunk"]
    flops = {
        "labcore": 2 * tile_flops(n, None, d, chunk) + tile_flops(n, n, d, chunk),
        "plain_torch": 3 * 2.0 * n * n * d,
    }
    implementations = {
        "labcore": lambda: mmd2_unbiased(real, fake, PolynomialKernel(), chunk),
        "plain_torch": lambda: plain_mmd(real, fake, settings["block"]),
        "sklearn": lambda: sklearn_mmd(real.cpu().double().numpy(), fake.cpu().double().numpy()),
    }
    return compare_pairwise("MMD²", (real, fake), flops, implementations, settings)


def bench_one_nn(
    real: torch.Tensor, fake: torch.Tensor, settings: dict[str, Any]
) -> dict[str, Any]:
    (n, d), chunk = real.shape, settings["chunk"]
    flops = {
        "labcore": tile_flops(2 * n, None, d, chunk),
        "plain_torch": 2.0 * (2 * n) ** 2 * d,
    }
    implementations = {
        "labcore": lambda: one_nn_accuracy(real, fake, chunk)["1nn"],
        "plain_torch": lambda: plain_one_nn_blocks(real, fake, settings["block"]),
        "sklearn": lambda: sklearn_one_nn(real.cpu().numpy(), fake.cpu().numpy()),
    }
    return compare_pairwise("1-NN", (real, fake), flops, implementations, settings)


def warm_up(device: torch.device, d: int, chunk: int, block: int, sklearn: bool) -> None:
    """Run every routine once on a few points: CUDA context, library handles, lazy imports.

    The features are at most 128-d, so that FID takes its Cholesky path (N > D) as at full size.
    """
    real = features(384, min(d, 128), 10).to(device)
    fake = features(384, min(d, 128), 11, shift=0.02).to(device)
    small = min(chunk, 128)
    labcore_fid(real, fake, 100)
    stats = [reference_stats(x) for x in (real, fake)]
    pytorch_fid_frechet(*stats[0], *stats[1])
    mmd2_unbiased(real, fake, PolynomialKernel(), small)
    one_nn_accuracy(real, fake, small)
    plain_mmd(real, fake, min(block, 128))
    plain_one_nn_blocks(real, fake, min(block, 128))
    if sklearn:
        sklearn_mmd(real[:64].cpu().double().numpy(), fake[:64].cpu().double().numpy())
        sklearn_one_nn(real[:64].cpu().numpy(), fake[:64].cpu().numpy())
    sync(device)


# -- GAN training ----------------------------------------------------------------------------------


def gan_overrides(device: torch.device, batch: int, precision: str, warmup: int) -> list[str]:
    return [
        f"run.device={device.type}",
        f'run.precision="{precision}"',
        f"train.batch_size={batch}",
        f"train.log_every={warmup}",
        "train.sample_every=0",
        "evaluate.metrics=[]",
    ]


def lab_gan(workdir: Path, steps: int, warmup: int, overrides: list[str], seed: int) -> float:
    """Steps per second of the recipe through the trainer, from its log's time stamps."""
    folder = run_recipe(
        GAN_RECIPE, workdir, steps=steps, overrides=[*overrides, f"run.seed={seed}"]
    )
    records = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    times = {r["step"]: r["time"] for r in records if "time" in r}
    return (steps - warmup) / (times[steps] - times[warmup])


@contextlib.contextmanager
def frozen(module: torch.nn.Module) -> Iterator[None]:
    module.requires_grad_(False)
    try:
        yield
    finally:
        module.requires_grad_(True)


def hand_gan(
    recipe: Recipe, device: torch.device, steps: int, warmup: int, precision: str, seed: int
) -> float:
    """Steps per second of a plain PyTorch loop doing what ``GAN.training_step`` does."""
    torch.manual_seed(seed)
    bundle = recipe.dataset_cls(recipe.dataset_config).load()
    data = bundle.split("train")["x"].to(device)
    config = recipe.model_config
    model = recipe.model_cls(config, bundle.info).to(device).train()
    g, d, ema = model.generator, model.discriminator, model.ema_generator
    opt_g = torch.optim.Adam(g.parameters(), lr=GAN_LR, betas=GAN_BETAS)
    opt_d = torch.optim.Adam(d.parameters(), lr=GAN_LR, betas=GAN_BETAS)
    batch = recipe.train.batch_size
    per_epoch, logged = len(data) // batch, []

    def autocast() -> contextlib.AbstractContextManager:
        if precision == "32":
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=torch.bfloat16)

    start = time.perf_counter()
    for step in range(steps):
        if step == warmup:
            sync(device)
            start = time.perf_counter()
        if step % per_epoch == 0:
            order = torch.randperm(len(data), device=device)
        real = data[order[(step % per_epoch) * batch : (step % per_epoch + 1) * batch]]
        z = torch.randn(batch, config.z_dim, device=device)
        with autocast():
            fake = g(z)
            d_real, d_fake = d(real), d(fake.detach())
            d_loss = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        with frozen(d), autocast():
            g_loss = F.softplus(-d(fake)).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        if ema is not None:
            with torch.no_grad():
                decay = min(config.ema_decay, (1.0 + step) / (10.0 + step))
                for e, p in zip(ema.parameters(), g.parameters(), strict=True):
                    e.lerp_(p, 1.0 - decay)
                for e, b in zip(ema.buffers(), g.buffers(), strict=True):
                    e.copy_(b)
        if (step + 1) % warmup == 0:  # a hand loop logs its losses now and then
            logged.append((d_loss.item(), g_loss.item()))
    sync(device)
    return (steps - warmup) / (time.perf_counter() - start)


def check_gan_recipe(recipe: Recipe) -> None:
    """The hand loop hard-codes the recipe's optimizer and loss, as its user would: check them."""
    opt = recipe.sections["optimizer"]
    same = (
        opt.get("name", "adam") == "adam"
        and opt.get("lr") == GAN_LR
        and tuple(opt.get("betas", ())) == GAN_BETAS
        and not any(isinstance(v, dict) for v in opt.values())
        and recipe.model_config.loss == "non-saturating"
        and recipe.train.grad_clip_norm == 0
    )
    if not same:
        raise SystemExit(
            f"{GAN_RECIPE} no longer trains with a non-saturating loss and Adam({GAN_LR}, betas "
            f"{GAN_BETAS}) without clipping; update the hand loop of benchmarks/gpu.py"
        )


def bench_gan(
    device: torch.device, batch: int, steps: int, warmup: int, repeats: int, precision: str
) -> dict[str, Any]:
    overrides = gan_overrides(device, batch, precision, warmup)
    recipe = check_recipe(GAN_RECIPE, overrides=overrides)
    check_gan_recipe(recipe)
    flags = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    results: dict[str, list[float]] = {"labcore": [], "hand": []}
    try:
        # The trainer sets these for the whole process from run.tf32; the hand loop runs alike.
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = recipe.run.tf32
            torch.backends.cudnn.allow_tf32 = recipe.run.tf32
        with tempfile.TemporaryDirectory() as tmp:
            for seed in range(repeats):
                sides = ["labcore", "hand"] if seed % 2 == 0 else ["hand", "labcore"]
                for side in sides:
                    if side == "labcore":
                        rate = lab_gan(Path(tmp), steps, warmup, overrides, seed)
                    else:
                        rate = hand_gan(recipe, device, steps, warmup, precision, seed)
                    results[side].append(rate)
                done = ", ".join(f"{k} {v[-1]:.1f}" for k, v in results.items())
                log(f"GAN repeat {seed + 1}/{repeats}: steps/s {done}")
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = flags
    medians = {k: statistics.median(v) for k, v in results.items()}
    c = recipe.model_config
    return {
        "recipe": GAN_RECIPE,
        "model": f"{c.arch}, z {c.z_dim}, widths {c.g_width}/{c.d_width}, D norm {c.d_norm}, "
        f"EMA {c.ema_decay}",
        "batch": batch,
        "steps": steps,
        "warmup": warmup,
        "repeats": repeats,
        "precision": precision,
        "tf32": recipe.run.tf32,
        "steps_per_s": results,
        "median_steps_per_s": medians,
        "ratio_labcore_to_hand": medians["labcore"] / medians["hand"],
    }


# -- report ----------------------------------------------------------------------------------------


def print_header(report: dict[str, Any]) -> None:
    h, rate = report["device"], report["matmul_gflops"]
    if h["device"].startswith("cuda"):
        print(
            f"Device: {h['device']} = {h['name']} ({h['memory_gib']:.0f} GiB, compute capability "
            f"{h['capability']}, CUDA {h['cuda']}); TF32 matmul {h['tf32_matmul']}, TF32 cuDNN "
            f"{h['tf32_cudnn']}, float32 matmul precision '{h['float32_matmul_precision']}'"
        )
        print(f"Host: {h['cpu']}, {h['logical_cpus']} logical CPUs, {h['threads']} torch threads")
    else:
        print(f"Device: cpu = {h['name']}, {h['logical_cpus']} logical CPUs")
    print(
        f"torch {h['torch']}, Python {h['python']}, {h['threads']} torch threads, load average "
        f"{h['load_average']:.1f}; float32 matmul on the device {rate['wall']:.0f} GFLOP/s "
        f"({rate['cpu']:.0f} per CPU second)"
    )


def print_fid(f: dict[str, Any]) -> None:
    t, v, r = f["timings"], f["values"], f["rel_diff"]
    print(
        f"\nFID, 2 x {f['samples_per_side']:,} x {f['dim']:,} features (labcore updates in batches "
        f"of {f['update_batch']:,}):"
    )
    print(f"  reference: np.mean + np.cov on the host  {t['reference_stats']}")
    print(f"  reference: pytorch-fid sqrtm distance    {t['reference_distance']}")
    print(
        f"  reference, features to FID               {t['reference_total']}   FID "
        f"{v['reference']:.9g}"
    )
    print(
        f"  (the same with float64 means: FID {v['reference_float64_means']:.9g}; labcore's "
        f"rel diff to it {r['labcore_metric_to_float64_means']:.1e})"
    )
    print(f"  labcore: FID.update (both sides)         {t['labcore_update']}")
    print(f"  labcore: FID.compute                     {t['labcore_compute']}")
    print(
        f"  labcore, features to FID                 {t['labcore_total']}   FID "
        f"{v['labcore_metric']:.9g}   rel diff {r['labcore_metric']:.1e}   "
        f"{f['speedup']['total']:.1f}x"
    )
    print(
        f"  labcore: frechet_distance, same stats    {t['labcore_distance_given_stats']}   FID "
        f"{v['labcore_given_stats']:.9g}   rel diff {r['labcore_given_stats']:.1e}   "
        f"{f['speedup']['distance']:.1f}x (vs the sqrtm distance)"
    )


def print_pairwise(title: str, p: dict[str, Any], rate: dict[str, float], relative: bool) -> None:
    print(
        f"\n{title}, 2 x {p['samples_per_side']:,} x {p['dim']:,} (labcore tiles of "
        f"{p['chunk_size']}, plain torch blocks of {p['block_rows']} whole rows):"
    )
    column, diffs = ("rel diff", "rel_diff_to_labcore") if relative else ("diff", "diff_to_labcore")
    print(f"  {'side':<12} {'time':<31} {'value':>15} {column:>9} {'speed-up':>9}")
    for side, timing in p["timings"].items():
        diff = f"{p[diffs][side]:.1e}" if side != "labcore" else "-"
        ratio = f"{p['speedup'][side]:.2f}x" if side != "labcore" else "1x"
        value = p["values"][side]
        print(f"  {side:<12} {timing}   {value:>15.9g} {diff:>9} {ratio:>9}")
    for side, reason in p["skipped"].items():
        print(f"  {side:<12} {reason}")
    for side, got in p["gflops"].items():
        print(
            f"  {side} work {p['flop'][side]:.3g} FLOP: {got['wall']:.0f} GFLOP/s = "
            f"{100 * got['wall'] / rate['wall']:.0f}% of the float32 matmul rate"
        )
    print("  (speed-up: the reference's wall time / labcore's)")


def print_gan(g: dict[str, Any]) -> None:
    med, runs = g["median_steps_per_s"], g["steps_per_s"]
    print(
        f"\nGAN training, {g['recipe']} ({g['model']}), batch {g['batch']}, precision "
        f"{g['precision']}, {g['steps']} steps (first {g['warmup']} left out) x {g['repeats']} "
        "repeats, interleaved:"
    )
    print(f"  {'side':<10} {'steps/s (median)':>17}   all repeats")
    for side, label in (("labcore", "labcore"), ("hand", "hand loop")):
        each = " ".join(f"{s:.1f}" for s in runs[side])
        print(f"  {label:<10} {med[side]:>17.2f}   {each}")
    print(f"  ratio labcore / hand loop: {g['ratio_labcore_to_hand']:.3f} (1.0: no overhead)")


def print_report(report: dict[str, Any]) -> None:
    print_header(report)
    if "fid" in report:
        print_fid(report["fid"])
    if "mmd" in report:
        title = "Unbiased MMD², KID's polynomial kernel"
        print_pairwise(title, report["mmd"], report["matmul_gflops"], relative=True)
    if "1nn" in report:
        title = "Leave-one-out 1-NN accuracy"
        print_pairwise(title, report["1nn"], report["matmul_gflops"], relative=False)
    if "gan" in report:
        print_gan(report["gan"])


# -- main ------------------------------------------------------------------------------------------


def pick_device(choice: str) -> torch.device:
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: CUDA is not available; use --device cpu or auto")
    if choice == "cuda":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--n", type=int, help="samples per side for FID, MMD² and 1-NN (50,000)")
    parser.add_argument("--dim", type=int, help="feature dimension (2,048)")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--chunk", type=int, default=1024, help="labcore's tile edge")
    parser.add_argument("--block", type=int, default=1024, help="rows per block, plain torch")
    parser.add_argument("--fid-batch", type=int, default=5000, help="rows per FID.update")
    parser.add_argument(
        "--sklearn-max", type=int, default=10_000, help="largest n for the scikit-learn references"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="best of this many runs (labcore and plain torch)"
    )
    parser.add_argument("--gan-batch", type=int, default=256)
    parser.add_argument("--gan-steps", type=int, default=1000)
    parser.add_argument("--gan-warmup", type=int, default=100)
    parser.add_argument("--gan-repeats", type=int, default=3)
    parser.add_argument(
        "--precision",
        choices=["32", "bf16-mixed"],
        default="32",
        help="GAN training precision (bf16-mixed is meant for CUDA)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=torch.get_num_threads(),
        help="threads of torch and of the BLAS under numpy and scipy",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, to check it runs")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.quick:
        args.n, args.dim = args.n or 2000, args.dim or 256
        args.gan_steps, args.gan_warmup, args.gan_repeats = 30, 10, 2
    n, d = args.n or 50_000, args.dim or 2048
    if args.gan_steps <= args.gan_warmup or args.gan_steps % args.gan_warmup:
        raise SystemExit("--gan-steps must be a multiple of --gan-warmup and larger than it")
    device = pick_device(args.device)
    torch.set_num_threads(args.threads)
    with threadpool_limits(args.threads):
        report: dict[str, Any] = {"device": describe(device)}
        report["matmul_gflops"] = matmul_rate_on(device, 1024 if args.quick else 4096)
        metric_parts = [p for p in args.only if p != "gan"]
        if metric_parts:
            log(f"warming up on {device}")
            warm_up(device, d, args.chunk, args.block, n <= args.sklearn_max)
            log(f"making 2 x {n:,} x {d:,} features")
            real = features(n, d, 0).to(device)
            fake = features(n, d, 1, shift=0.02).to(device)
            settings = {
                "chunk": args.chunk,
                "block": args.block,
                "sk_max": args.sklearn_max,
                "repeat": args.repeat,
                "rate": report["matmul_gflops"],
            }
            if "fid" in args.only:
                report["fid"] = bench_fid(real, fake, args.fid_batch, args.repeat)
            if "mmd" in args.only:
                report["mmd"] = bench_mmd(real, fake, settings)
            if "1nn" in args.only:
                report["1nn"] = bench_one_nn(real, fake, settings)
            del real, fake
        if "gan" in args.only:
            report["gan"] = bench_gan(
                device,
                args.gan_batch,
                args.gan_steps,
                args.gan_warmup,
                args.gan_repeats,
                args.precision,
            )
    if args.json:
        print(json.dumps(report, indent=2, default=dataclasses.asdict))
    else:
        print_report(report)


if __name__ == "__main__":
    main()
