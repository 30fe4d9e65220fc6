"""Reading a run's ``log.jsonl``: its kinds of records, the series to plot, and CSV export.

The trainer writes four kinds of record, one JSON object per line:

- training: ``{"step", "time", <mean of each logged value>, "lr/<optimizer>"}`` every
  ``train.log_every`` steps; ``time`` is the wall-clock seconds of training since the run began,
  counted on across resumes (each checkpoint keeps it);
- evaluation: ``{"step", "<split>/<metric>", ...}`` every ``train.eval_every`` steps;
- final: ``{"step", "final/<metric>", ...}`` once, after the final evaluation;
- resume: ``{"step", "resumed": <UTC time>, "checkpoint": <file name>}`` when ``labcore resume``
  continues the run from the checkpoint of that step.

A resumed run may log some steps twice (those after its last checkpoint, before it stopped); the
later record of a step wins.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FINAL_PREFIX = "final/"
NOT_SERIES = ("step", "time")


def is_final(record: dict[str, Any]) -> bool:
    return any(key.startswith(FINAL_PREFIX) for key in record)


def is_training(record: dict[str, Any]) -> bool:
    return "time" in record and not is_final(record)


def resumes(log: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The run's resume records, oldest first."""
    return [record for record in log if "resumed" in record]


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def series(log: Iterable[dict[str, Any]]) -> dict[str, tuple[list[int], list[float]]]:
    """Each logged quantity (training values, ``lr/*``, evaluations) as ``(steps, values)``.

    Keys keep the order they first appear in; final records are left out (one point each, they
    are the metrics table's business). Steps are increasing; a step logged twice keeps its later
    value.
    """
    by_key: dict[str, dict[int, float]] = {}
    for record in log:
        if is_final(record) or "step" not in record:
            continue
        step = int(record["step"])
        for key, value in record.items():
            if key not in NOT_SERIES and is_number(value):
                by_key.setdefault(key, {})[step] = float(value)
    out = {}
    for key, points in by_key.items():
        steps = sorted(points)
        out[key] = (steps, [points[s] for s in steps])
    return out


def columns(log: Iterable[dict[str, Any]]) -> list[str]:
    """Every key of the log, ``step`` and ``time`` first, the rest in order of appearance."""
    keys = dict.fromkeys(NOT_SERIES)
    for record in log:
        keys.update(dict.fromkeys(record))
    return list(keys)


def write_csv(log: list[dict[str, Any]], path: str | Path) -> Path:
    """Write the log as CSV at ``path``: one row per record, one column per key (blank where a
    record lacks it), in the order of :func:`columns`."""
    path = Path(path)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns(log), restval="")
        writer.writeheader()
        writer.writerows(log)
    return path
