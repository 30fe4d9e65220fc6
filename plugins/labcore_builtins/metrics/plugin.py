"""Registers the metrics, the feature extractors and the ``labcore metrics`` and ``labcore
metric-study`` commands."""

from __future__ import annotations

from typing import Any

import labcore
from labcore.features import BUILTIN_EXTRACTORS
from labcore.metrics import BUILTIN_METRICS


@labcore.hookimpl
def labcore_metrics() -> list[type]:
    return list(BUILTIN_METRICS)


@labcore.hookimpl
def labcore_feature_extractors() -> list[type]:
    return list(BUILTIN_EXTRACTORS)


@labcore.hookimpl
def labcore_cli_commands() -> list[Any]:
    from labcore_builtins.metrics.cli import metrics
    from labcore_builtins.metrics.study_cli import metric_study

    return [metrics, metric_study]
