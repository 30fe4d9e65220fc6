"""Sample-based evaluation of a generative model: one extraction pass, then every metric.

:func:`evaluate_generative` draws ``num_samples`` images from the model in batches, extracts their
features (and logits) once, and feeds each batch to every metric of ``[evaluate] metrics``. The
real side (features of a fixed random subset of the split, and each metric's state derived from
them alone) comes from the reference cache (:mod:`labcore.features.cache`) when it is there, and is
computed and stored otherwise. :func:`compare` does the same for two given sets of images or
features (``labcore metrics A B``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import torch

from labcore import distributed
from labcore.features.base import FeatureExtractor
from labcore.features.cache import ReferenceCache, tensor_sha256
from labcore.metrics import noise_floor
from labcore.metrics.base import Metric
from labcore.recipes.evaluate import EvaluateConfig
from labcore.schema import build

REAL_SUBSET_SEED = 0
"""Seed of the permutation that picks the real images when fewer than the split are used."""


def build_extractor(spec: dict[str, Any], device: torch.device | str, registry: Any) -> Any:
    """The feature extractor an ``[evaluate.extractor]`` table names, in eval mode on ``device``."""
    section = dict(spec)
    name = section.pop("name", None)
    if not name:
        raise ValueError('[evaluate.extractor] needs a name (e.g. "classifier")')
    cls = registry.get("feature_extractor", name)
    extractor = cls(build(cls.Config, section, "evaluate.extractor"))
    return extractor.to(device).eval()


def build_metrics(config: EvaluateConfig, registry: Any) -> list[Metric]:
    """The metrics of ``config.metrics``, each set up from the ``[evaluate]`` keys it declares."""
    metrics = []
    for name in dict.fromkeys(config.metrics):
        cls = registry.get("metric", name)
        fields = {f.name for f in dataclasses.fields(cls.Config)}
        options = {key: getattr(config, key) for key in fields if hasattr(config, key)}
        metrics.append(cls(build(cls.Config, options, "evaluate")))
    return metrics


def batches(images: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
    for start in range(0, images.shape[0], batch_size):
        yield images[start : start + batch_size]


def extract_all(
    extractor: FeatureExtractor,
    images: Iterable[torch.Tensor],
    value_range: tuple[float, float],
    device: torch.device | str,
) -> dict[str, torch.Tensor]:
    """Extractor outputs of every batch of ``images``, concatenated (on ``device``)."""
    parts: dict[str, list[torch.Tensor]] = {}
    with torch.no_grad():
        for batch in images:
            for key, value in extractor.extract(batch.to(device), value_range).items():
                parts.setdefault(key, []).append(value)
    return {key: torch.cat(values) for key, values in parts.items()}


def extract_shared(
    extractor: FeatureExtractor,
    images: torch.Tensor,
    batch_size: int,
    value_range: tuple[float, float],
    device: torch.device | str,
) -> dict[str, torch.Tensor]:
    """:func:`extract_all` of ``images`` with the batches shared out over the processes of a
    distributed run (each takes a contiguous block) and the outputs gathered back in order."""
    count = -(-images.shape[0] // batch_size)
    mine = distributed.shard(count)
    rows = images[mine.start * batch_size : mine.stop * batch_size]
    return distributed.gather_outputs(
        extract_all(extractor, batches(rows, batch_size), value_range, device)
    )


def sample_generator(seed: int, index: int, device: torch.device) -> torch.Generator:
    """The generator batch ``index`` of an evaluation is sampled with: its own stream of
    ``seed`` (``numpy.random.SeedSequence``), so any process can draw any batch."""
    state = np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0]
    return torch.Generator(device=device).manual_seed(int(state))


def _metric_key(metric: Metric) -> str:
    """The name a metric's real-side state has in a cache entry: its options and its state
    layout (:meth:`~labcore.metrics.base.Metric.reference_layout`), hashed."""
    identity = {"options": metric.options(), **metric.reference_layout()}
    return f"{metric.name}:{ReferenceCache.digest(identity)[:16]}"


def higher_is_better(metrics: list[Metric]) -> dict[str, bool | None]:
    """Each output key's direction, as its metric declares it."""
    return {key: value for m in metrics for key, value in m.higher_is_better.items()}


def load_reference(
    metrics: list[Metric],
    key: dict[str, Any],
    real_outputs: Any,
    cache: ReferenceCache | None,
    device: torch.device | str,
) -> tuple[dict[str, Any], dict[str, torch.Tensor] | None]:
    """Give each two-sample metric its real side, from ``cache`` or computed and stored there.

    ``real_outputs()`` returns the extractor outputs of the real images; it is called only when
    something is missing from the cache (on every process when any misses it, as it may be a
    collective; only rank 0 writes the cache). Returns what happened, for the details, and the
    real outputs when they were at hand (cached or extracted; None otherwise).
    """
    two_sample = [m for m in metrics if m.two_sample]
    entry = (cache.load(key, device) if cache is not None else None) or {}
    outputs, states = entry.get("outputs"), dict(entry.get("metrics", {}))
    missing = [m for m in two_sample if _metric_key(m) not in states]
    if distributed.any_rank(bool(missing) and outputs is None):
        outputs = real_outputs()
    for metric in two_sample:
        name = _metric_key(metric)
        if name in states:
            metric.load_reference_state(states[name])
        else:
            metric.update(outputs[metric.input], real=True)
            states[name] = metric.reference_state()
    path = None
    if cache is not None:
        path = cache.path(key)
        if missing and distributed.rank() == 0:
            cache.save(key, {"outputs": outputs, "metrics": states})
    info = {"cache": str(path) if path else None, "reused": bool(two_sample) and not missing}
    return info, outputs


def real_subsets(
    count: int, wanted: int, other: int
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Which of a split's ``count`` real images an evaluation uses, as sorted indices.

    The reference set: ``wanted`` images, the first of a permutation seeded with
    :data:`REAL_SUBSET_SEED` (None: the whole split, when it has no more than ``wanted``). The
    noise floor's second set: the next ``other`` images of that permutation, disjoint from the
    reference (None when the split does not hold both).
    """
    order = torch.randperm(count, generator=torch.Generator().manual_seed(REAL_SUBSET_SEED))
    reference = order[:wanted].sort().values if wanted < count else None
    second = order[wanted : wanted + other].sort().values if wanted + other <= count else None
    return reference, second


def _split_images(bundle: Any, name: str) -> torch.Tensor:
    """The image tensor ``x`` of split ``name``; ValueError when it has none."""
    try:
        return bundle.split(name)["x"]
    except (KeyError, TypeError):
        raise ValueError(
            f"the '{name}' split has no image tensor 'x'; sample-based metrics need a "
            "dataset of images (TensorSplit with x)"
        ) from None


def _other_split_images(bundle: Any, config: EvaluateConfig) -> tuple[torch.Tensor, str] | None:
    """``config.num_samples`` real images of another split (val, then train, then any other),
    a seeded random subset, for a noise floor at the evaluation's size when the evaluated split
    is too small to hold both sets; None when no split holds that many."""
    others = [s for s in ("val", "train") if s in bundle.splits and s != config.split]
    others += [s for s in bundle.splits if s not in others and s != config.split]
    for name in others:
        try:
            images = _split_images(bundle, name)
        except ValueError:
            continue
        if images.shape[0] >= config.num_samples:
            chosen, _ = real_subsets(images.shape[0], config.num_samples, 0)
            if chosen is not None:
                images = images[chosen.to(images.device)]
            return images, name
    return None


def _real_images(
    bundle: Any, config: EvaluateConfig
) -> tuple[torch.Tensor, torch.Tensor | None, str | None]:
    """The reference images of ``config.split``, the noise floor's disjoint second set and the
    split it comes from: the next images of the same permutation (see :func:`real_subsets`), else
    ``config.num_samples`` images of another split (:func:`_other_split_images`), else None (the
    floor then compares two halves of the reference)."""
    images = _split_images(bundle, config.split)
    wanted = config.num_real or config.num_samples
    reference, second = real_subsets(images.shape[0], wanted, config.num_samples)
    other = images[second.to(images.device)] if second is not None else None
    source = config.split if other is not None else None
    if other is None and config.noise_floor:
        found = _other_split_images(bundle, config)
        if found is not None:
            other, source = found
    if reference is not None:
        images = images[reference.to(images.device)]
    return images, other, source


@contextlib.contextmanager
def _eval_mode(model: torch.nn.Module) -> Iterator[None]:
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def evaluate_generative(
    model: Any,
    bundle: Any,
    config: EvaluateConfig,
    device: torch.device | str,
    registry: Any = None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Sample-based metrics of ``model`` against the real images of ``bundle``.

    Draws ``config.num_samples`` samples with ``model.sample(n, generator=...)`` in batches of
    ``config.batch_size`` (batch ``i`` with :func:`sample_generator` of ``config.seed`` and
    ``i``), extracts their features with the ``[evaluate.extractor]`` component and updates every
    metric of ``config.metrics``; the real side is a fixed random subset of ``num_real``
    (default: ``num_samples``) images of ``config.split``.

    In a distributed run each process samples and extracts a contiguous block of the batches (and
    of the real images when their statistics are not cached); the metrics' states are then reduced
    across processes (:meth:`~labcore.metrics.base.Metric.sync`: FID's sums all-reduced, the
    features of the k-NN and kernel metrics gathered in order) and rank 0 computes the values,
    which every process returns. The result is the one-process result on the same samples.

    Unless ``config.noise_floor`` is off, each two-sample metric is also measured between the
    reference set and a disjoint set of real images of the generated side's size
    (:mod:`labcore.metrics.noise_floor`), before any sample is drawn.

    Returns ``(metrics, details)``: the metric values, and what they were measured with
    (extractor, weights' SHA-256, sample counts, metric options, the reference cache used, and
    the noise floor: ``noise_floor`` with its ``values`` and sizes).
    """
    if registry is None:
        from labcore.plugins import get_manager

        registry = get_manager()
    device = torch.device(device)
    started = time.perf_counter()
    metrics = build_metrics(config, registry)
    extractor = build_extractor(config.extractor, device, registry)
    value_range = tuple(bundle.info.get("value_range", (-1.0, 1.0)))
    real, other, other_split = _real_images(bundle, config)
    key = {
        "dataset_sha256": tensor_sha256(real),
        "split": config.split,
        "num_real": real.shape[0],
        "value_range": list(value_range),
        "extractor": config.extractor,
        "weights_sha256": extractor.weights_sha256,
    }
    cache = ReferenceCache(config.cache_dir or None)

    def extract(images: torch.Tensor) -> dict[str, torch.Tensor]:
        return extract_shared(extractor, images, config.batch_size, value_range, device)

    reference, real_outputs = load_reference(metrics, key, lambda: extract(real), cache, device)
    floor = None
    if config.noise_floor and any(m.two_sample for m in metrics):
        floor = noise_floor.measure(
            {_metric_key(m): m for m in metrics if m.two_sample},
            lambda: {_metric_key(m): m for m in build_metrics(config, registry) if m.two_sample},
            key,
            cache,
            other,
            lambda: extract(other),
            lambda: real_outputs if real_outputs is not None else extract(real),
            int(real.shape[0]),
            device,
        )
        if other_split is not None:
            floor["split"] = other_split
    batch_count = -(-config.num_samples // config.batch_size)
    with _eval_mode(model):
        for index in distributed.shard(batch_count):
            start = index * config.batch_size
            count = min(config.batch_size, config.num_samples - start)
            generator = sample_generator(config.seed, index, device)
            images = model.sample(count, generator=generator)
            outputs = extractor.extract(images.to(device), value_range)
            for metric in metrics:
                metric.update(outputs[metric.input], real=False)
    for metric in metrics:
        metric.sync("fake")
    values: dict[str, float] = {}
    if distributed.rank() == 0:
        for metric in metrics:
            values.update(metric.compute())
    values, notes = distributed.share((values, [m.notes for m in metrics]))
    for metric, note in zip(metrics, notes):
        metric.notes = note
    details = {
        "extractor": {
            "name": config.extractor.get("name"),
            "config": dict(config.extractor),
            "weights_sha256": extractor.weights_sha256,
            "source": extractor.source,
        },
        "split": config.split,
        "num_real": int(real.shape[0]),
        "num_generated": config.num_samples,
        "value_range": list(value_range),
        "seed": config.seed,
        "metrics": {m.name: {"options": m.options(), **m.notes} for m in metrics},
        "higher_is_better": higher_is_better(metrics),
        "reference": reference,
        **({"noise_floor": floor} if floor is not None else {}),
        "seconds": round(time.perf_counter() - started, 3),
    }
    return values, details


def compare(
    real: dict[str, torch.Tensor],
    fake: dict[str, torch.Tensor],
    config: EvaluateConfig,
    device: torch.device | str,
    registry: Any,
    cache: ReferenceCache | None = None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Metrics between two sets, each ``{"images": (N, C, H, W), "value_range": ...}`` or given
    features ``{"features": (N, D), "logits": (N, K)}``; the first set plays the real side.

    Images go through the ``[evaluate.extractor]`` of ``config``; the real side's statistics are
    cached in ``cache`` when one is given.
    """
    device = torch.device(device)
    metrics = build_metrics(config, registry)
    extractor = None
    if "images" in real or "images" in fake:
        extractor = build_extractor(config.extractor, device, registry)

    def outputs_of(data: dict[str, Any]) -> dict[str, torch.Tensor]:
        if "images" not in data:
            return {key: value.to(device) for key, value in data.items() if key != "value_range"}
        if extractor is None:
            raise ValueError("images need a feature extractor: give one with --extractor")
        images = batches(data["images"], config.batch_size)
        return extract_all(extractor, images, tuple(data["value_range"]), device)

    def fingerprint(data: dict[str, Any]) -> str:
        source = data["images"] if "images" in data else data["features"]
        return tensor_sha256(source)

    if "images" in real:
        key = {
            "dataset_sha256": fingerprint(real),
            "value_range": list(real["value_range"]),
            "extractor": config.extractor,
            "weights_sha256": extractor.weights_sha256,
        }
    else:
        key = {"features_sha256": fingerprint(real)}
    reference, _ = load_reference(metrics, key, lambda: outputs_of(real), cache, device)
    fake_outputs = outputs_of(fake)
    for metric in metrics:
        if metric.input not in fake_outputs:
            raise ValueError(
                f"metric {metric.name!r} needs {metric.input}, which the second set does not give"
            )
        metric.update(fake_outputs[metric.input], real=False)
    values = {}
    for metric in metrics:
        values.update(metric.compute())
    details = {
        "extractor": {
            "name": config.extractor.get("name") if extractor is not None else None,
            "config": dict(config.extractor) if extractor is not None else {},
            "weights_sha256": extractor.weights_sha256 if extractor is not None else None,
            "source": extractor.source if extractor is not None else None,
        },
        "num_real": _count(real),
        "num_generated": _count(fake),
        "metrics": {m.name: {"options": m.options(), **m.notes} for m in metrics},
        "higher_is_better": higher_is_better(metrics),
        "reference": reference,
    }
    return values, details


def _count(data: dict[str, Any]) -> int:
    return int((data["images"] if "images" in data else data["features"]).shape[0])
