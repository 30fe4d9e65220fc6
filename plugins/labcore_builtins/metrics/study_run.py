"""Running a metric study: every metric on every corruption at every strength, over repeats.

The features of every real image are extracted once; each repeat splits the real data afresh
(:func:`.study_data.split`) and, for each corruption and strength, takes the corrupted held-out
set's features from them when it is a selection of real images, or extracts them when its pixels
were altered (:mod:`.study_corruptions`); every built-in metric then compares the two with the same
extractor. Strength 0 is the untouched held-out set, shared by all corruptions: its values over
the repeats are the noise floor (two disjoint real sets). Everything is seeded, so a study is
reproduced by its seed.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch

from labcore.metrics import BUILTIN_METRICS
from labcore.metrics.generative import batches, build_extractor, build_metrics, extract_all
from labcore.recipes.evaluate import EvaluateConfig
from labcore_builtins.metrics.study_corruptions import (
    CORRUPTIONS,
    Samples,
    corrupt,
    corruption_generator,
)
from labcore_builtins.metrics.study_data import RealData, split

VALUE_RANGE = (0.0, 1.0)
"""The pixel range of the study's images."""
BATCH_SIZE = 512


@dataclasses.dataclass
class StudyConfig:
    """What a study measures: ``size`` samples per set, ``strengths`` evenly spaced strengths
    from 0 to 1, ``repeats`` random splits, all drawn from ``seed``."""

    data: str = "digits"
    data_root: str | None = None
    size: int = 400
    strengths: int = 5
    repeats: int = 3
    seed: int = 0
    corruptions: tuple[str, ...] = tuple(CORRUPTIONS)

    def __post_init__(self) -> None:
        if self.strengths < 2:
            raise ValueError(f"--strengths {self.strengths}: at least 2 (0 and full strength)")
        if self.repeats < 2:
            raise ValueError(
                f"--repeats {self.repeats}: at least 2, for the spread of the noise floor"
            )
        unknown = [name for name in self.corruptions if name not in CORRUPTIONS]
        if unknown:
            raise ValueError(
                f"unknown corruption {unknown[0]!r}; choose from {', '.join(CORRUPTIONS)}"
            )

    def strength_values(self) -> list[float]:
        return [step / (self.strengths - 1) for step in range(self.strengths)]


def evaluate_config(extractor: str, seed: int) -> EvaluateConfig:
    """The metric options of a study: every built-in metric, KID as one unbiased estimate on all
    samples (no subsets: the repeats give the spread), the rest as a recipe's ``[evaluate]``
    sets them by default."""
    names = [cls.name for cls in BUILTIN_METRICS]
    return EvaluateConfig(metrics=names, extractor={"name": extractor}, kid_subsets=0, seed=seed)


def studied_keys(metric: Any) -> list[str]:
    """The values of ``metric`` a study follows: those with a direction, and the metric's own
    value when it has none (the 1-NN accuracy); spreads and per-side parts are left out."""
    return [
        key
        for key, higher in metric.higher_is_better.items()
        if higher is not None or key == metric.name
    ]


class Measurer:
    """Extracts features with one extractor and computes every metric between two sets."""

    def __init__(self, extractor_name: str, seed: int, device: torch.device, registry: Any):
        self.device = device
        self.registry = registry
        self.config = evaluate_config(extractor_name, seed)
        self.extractor = build_extractor(self.config.extractor, device, registry)

    def features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return extract_all(self.extractor, batches(images, BATCH_SIZE), VALUE_RANGE, self.device)

    def metrics(self) -> list[Any]:
        return build_metrics(self.config, self.registry)

    def compare(
        self, reference: dict[str, torch.Tensor], generated: dict[str, torch.Tensor]
    ) -> dict[str, float]:
        values: dict[str, float] = {}
        for metric in self.metrics():
            if metric.two_sample:
                metric.update(reference[metric.input], real=True)
            metric.update(generated[metric.input], real=False)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                computed = metric.compute()
            values.update({key: computed[key] for key in studied_keys(metric) if key in computed})
        return values


def features_of(
    outputs: dict[str, torch.Tensor], index: torch.Tensor
) -> dict[str, torch.Tensor]:
    """The rows ``index`` of every extractor output."""
    return {key: value[index.to(value.device)] for key, value in outputs.items()}


def run_study(
    config: StudyConfig,
    data: RealData,
    device: torch.device | str = "cpu",
    registry: Any = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure the study of ``config`` on ``data``; the result is what results.json holds.

    ``values[corruption][key]`` is a ``repeats x strengths`` list of lists; ``noise_floor[key]``
    the ``repeats`` values of the untouched held-out set (strength 0).
    """
    if registry is None:
        from labcore.plugins import get_manager

        registry = get_manager()
    device = torch.device(device)
    started = time.perf_counter()
    measurer = Measurer(data.extractor, config.seed, device, registry)
    strengths = config.strength_values()
    values: dict[str, dict[str, list[list[float]]]] = {name: {} for name in config.corruptions}
    floor: dict[str, list[float]] = {}
    every_image = measurer.features(data.images)

    def features(samples: Samples) -> dict[str, torch.Tensor]:
        if samples.altered:
            return measurer.features(samples.images)
        return features_of(every_image, samples.source)

    for repeat in range(config.repeats):
        parts = split(data, config.size, seed=config.seed * 1000 + repeat)
        reference = features_of(every_image, parts.reference)
        untouched = measurer.compare(reference, features_of(every_image, parts.held_out))
        for key, value in untouched.items():
            floor.setdefault(key, []).append(value)
        for name in config.corruptions:
            row = {key: [value] for key, value in untouched.items()}
            for strength in strengths[1:]:
                generator = corruption_generator(config.seed, repeat, name)
                samples = corrupt(name, data, parts, strength, generator)
                measured = measurer.compare(reference, features(samples))
                for key, value in measured.items():
                    row[key].append(value)
            for key, series in row.items():
                values[name].setdefault(key, []).append(series)
            if progress is not None:
                progress(f"repeat {repeat + 1}/{config.repeats}: {name}")
    directions = {
        key: higher
        for metric in measurer.metrics()
        for key, higher in metric.higher_is_better.items()
        if key in floor
    }
    return {
        "study": "metric-study",
        "config": {**dataclasses.asdict(config), "corruptions": list(config.corruptions)},
        "data": {"name": data.name, "source": data.source, "images": len(data.labels)},
        "extractor": {
            "name": data.extractor,
            "weights_sha256": measurer.extractor.weights_sha256,
        },
        "device": str(device),
        "strengths": strengths,
        "corruptions": {name: CORRUPTIONS[name][1] for name in config.corruptions},
        "higher_is_better": directions,
        "metric_of": {
            key: metric.name for metric in measurer.metrics() for key in studied_keys(metric)
        },
        "noise_floor": floor,
        "values": values,
        "seconds": round(time.perf_counter() - started, 1),
    }

