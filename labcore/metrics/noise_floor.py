"""The noise floor of the two-sample metrics: their value between two disjoint sets of real data.

A FID of 8.8 means little alone: with finite samples even two sets drawn from the same
distribution are some distance apart, and that distance depends on the sample counts, the
extractor and the data. The noise floor is the metric's value between the reference set (the
real side of the evaluation) and a second, disjoint set of real images of the generated side's
size, drawn from the same split: what a generator indistinguishable from the data would score.

When the split is too small for two disjoint sets of the evaluation's size, the floor is measured
between two disjoint halves of the reference set instead, and says so: smaller sets sit further
apart (FID's bias grows as the sample count falls), so that floor lies above the true one.

The second set's features and the floor values are cached beside the reference statistics, under
the reference's key plus the floor's sizes, so an evaluation measures them once.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

import torch

from labcore import distributed
from labcore.features.cache import ReferenceCache, tensor_sha256
from labcore.metrics.base import Metric

HALVES_SEED = 0
"""Seed of the permutation that splits the reference set into two halves."""


def halves(count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two disjoint halves of ``range(count)``, ``count // 2`` indices each (sorted), drawn by a
    permutation seeded with :data:`HALVES_SEED`."""
    order = torch.randperm(count, generator=torch.Generator().manual_seed(HALVES_SEED))
    half = count // 2
    return order[:half].sort().values, order[half : 2 * half].sort().values


def _quietly(compute: Callable[[], dict[str, float]]) -> dict[str, float]:
    """``compute()`` without its warnings: those of the model's own value are recorded already."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compute()


def against_other(metric: Metric, other: torch.Tensor) -> dict[str, float]:
    """``metric`` (its real side loaded, nothing generated fed yet) with ``other`` real outputs
    as its generated side; ``metric`` itself is left as it was."""
    twin = copy.deepcopy(metric)
    twin.update(other, real=False)
    return _quietly(twin.compute)


def between_halves(metric: Metric, real: torch.Tensor) -> dict[str, float]:
    """A fresh ``metric`` between the two :func:`halves` of the ``real`` outputs."""
    first, second = halves(real.shape[0])
    metric.update(real[first.to(real.device)], real=True)
    metric.update(real[second.to(real.device)], real=False)
    return _quietly(metric.compute)


def measure(
    metrics: dict[str, Metric],
    fresh: Callable[[], dict[str, Metric]],
    key: dict[str, Any],
    cache: ReferenceCache,
    other: torch.Tensor | None,
    other_outputs: Callable[[], dict[str, torch.Tensor]],
    real_outputs: Callable[[], dict[str, torch.Tensor]],
    num_real: int,
    device: torch.device | str,
) -> dict[str, Any]:
    """The noise floor of each two-sample metric, from the cache or measured and stored there.

    ``metrics`` are the evaluation's two-sample metrics by their cache name, their real side
    loaded and nothing generated fed yet; ``fresh()`` gives new instances of them (for the
    halves). ``other`` is the second real set's images (None when the split is too small: the
    halves of the ``num_real`` reference images are used), ``other_outputs()`` their extractor
    outputs and ``real_outputs()`` the reference's; both may be collectives, so they are called on
    every process when any needs them. Rank 0 computes and stores; every process returns
    ``{"values": {output: value}, "num_real", "num_other", "halves", "cache", "reused"}``, and
    ``unmeasured``: why, for each metric the sets were too small for (its floor is left out).
    """
    split = other is None
    sizes = (num_real // 2, num_real // 2) if split else (num_real, int(other.shape[0]))
    floor_key = {
        **key,
        "noise_floor": {
            "halves": split,
            "sizes": list(sizes),
            "other_sha256": None if split else tensor_sha256(other),
        },
    }
    entry = cache.load(floor_key, device) or {}
    stored = dict(entry.get("values", {}))
    missing = [name for name in metrics if name not in stored]
    outputs = entry.get("outputs")
    if not split and distributed.any_rank(bool(missing) and outputs is None):
        outputs = other_outputs()
    real = real_outputs() if split and distributed.any_rank(bool(missing)) else None
    if missing and distributed.rank() == 0:
        new_instances = fresh() if split else {}
        for name in missing:
            metric = metrics[name]
            try:
                if split:
                    stored[name] = between_halves(new_instances[name], real[metric.input])
                else:
                    stored[name] = against_other(metric, outputs[metric.input])
            except ValueError as exc:  # e.g. halves too small for the k-NN radii
                stored[name] = {"unmeasured": str(exc)}
        cache.save(floor_key, {"outputs": outputs, "values": stored})
    stored = distributed.share(stored)
    values = {k: v for name in metrics for k, v in stored[name].items() if k != "unmeasured"}
    unmeasured = [stored[name]["unmeasured"] for name in metrics if "unmeasured" in stored[name]]
    return {
        "values": values,
        "num_real": sizes[0],
        "num_other": sizes[1],
        "halves": split,
        "cache": str(cache.path(floor_key)),
        "reused": not missing,
        **({"unmeasured": unmeasured} if unmeasured else {}),
    }
