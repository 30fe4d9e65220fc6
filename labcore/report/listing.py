"""Finding run folders and summing each up in a line: status, step, main metric, age.

Used by ``labcore runs`` (the list) and ``labcore report`` (which accepts folders of runs).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from labcore.measurement import direction, is_discriminator_output, setting
from labcore.report import logs
from labcore.runfolder import Run, is_run, open_run

_STAMP = re.compile(r"^(\d{8}-\d{6})")

def run_folders(folder: Path) -> list[Path]:
    """``folder`` itself if it is a run folder, else every run folder below it, sorted."""
    if is_run(folder):
        return [folder]
    return sorted(p.parent for p in folder.rglob("recipe.toml") if is_run(p.parent))


def find_runs(paths: Iterable[str | Path]) -> list[Run]:
    """The runs in ``paths``: each path is a run folder or a folder searched for run folders.

    Raises ValueError naming a path that is neither a folder nor holds any run.
    """
    found: dict[Path, None] = {}
    for path in map(Path, paths):
        if not path.is_dir():
            raise ValueError(f"{path} is not a folder")
        inside = run_folders(path)
        if not inside:
            raise ValueError(
                f"{path} is neither a run folder nor a folder of runs (no recipe.toml in it or "
                "below it); give a folder written by `labcore run`"
            )
        found.update(dict.fromkeys(p.resolve() for p in inside))
    return [open_run(p) for p in found]


def started(run_dir: Path) -> dt.datetime:
    """When a run started: from its folder's UTC timestamp name, else the folder's mtime."""
    match = _STAMP.match(run_dir.name)
    if match:
        return dt.datetime.strptime(match.group(1), "%Y%m%d-%H%M%S").replace(tzinfo=dt.UTC)
    return dt.datetime.fromtimestamp(run_dir.stat().st_mtime, dt.UTC)


def age(seconds: float) -> str:
    """A duration in its largest whole unit: ``45s``, ``12m``, ``3h``, ``2d``."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _named_in_evaluate(record: dict[str, Any], recipe: dict[str, Any]) -> list[str]:
    """The sample-based metrics the evaluation of ``record`` ran: as recorded, else the
    recipe's ``[evaluate] metrics``."""
    evaluated = (record.get("evaluated") or {}).get("evaluate") or {}
    names = evaluated.get("metrics", recipe.get("evaluate", {}).get("metrics", []))
    return list(names) if isinstance(names, list) else []


def _first_with_direction(record: dict[str, Any], keys: list[str]) -> str | None:
    """The first of ``keys`` that has a direction (``kid`` rather than ``kid_std``), else the
    first of them, else None."""
    ranked = [k for k in keys if direction(record, k) is not None]
    return (ranked or keys or [None])[0]


def main_key(record: dict[str, Any], recipe: dict[str, Any]) -> str | None:
    """The metric of an evaluation record that best sums up the run, or None.

    In order: the first sample-based metric ``[evaluate] metrics`` names (FID, ...); the
    monitored metric (``[train] monitor``), measured on the evaluation split when it is there
    (``test/accuracy`` for ``val/accuracy``), else as monitored; the model's own metrics of the
    evaluation split, those better when higher first (accuracy, ELBO), then the others with a
    known direction (losses last), then the rest; then the same among all splits. A
    discriminator's output (``d_real``) is never chosen.
    """
    metrics = [k for k in record.get("metrics") or {} if not is_discriminator_output(k)]
    for name in _named_in_evaluate(record, recipe):
        named = [k for k in metrics if k == name or k.startswith((f"{name}_", f"{name}/"))]
        if named:
            return _first_with_direction(record, named)
    split = recipe.get("evaluate", {}).get("split", "test")
    monitor = recipe.get("train", {}).get("monitor")
    if isinstance(monitor, str) and monitor:
        for key in (f"{split}/{monitor.rsplit('/', 1)[-1]}", monitor):
            if key in metrics:
                return key
    in_split = [k for k in metrics if k.startswith(f"{split}/")]
    for keys in (in_split, metrics):
        higher = [k for k in keys if direction(record, k) is True]
        known = [k for k in keys if direction(record, k) is not None]
        not_losses = [k for k in known if "loss" not in k]
        if keys:
            return (higher or not_losses or known or keys)[0]
    return None


def main_metric(run: Run) -> tuple[str, float] | None:
    """The metric that best sums up ``run`` and its latest value.

    From ``metrics.json``: see :func:`main_key`. Before the run has final metrics: its latest
    logged training value (``loss``), not a discriminator's.
    """
    record = run.metrics()
    key = main_key(record, run.recipe)
    if key is not None:
        return key, record["metrics"][key]
    for entry in reversed(run.log()):
        if logs.is_training(entry):
            values = [
                (k, v)
                for k, v in entry.items()
                if k not in logs.NOT_SERIES
                and not k.startswith("lr/")
                and not is_discriminator_output(k)
                and logs.is_number(v)
            ]
            if values:
                return values[0]
    return None


#: The statuses ``labcore runs`` shows: status.json's (the trainer writes the first four), and
#: ``unknown`` for a folder without a status labcore wrote.
STATUSES = ("running", "finished", "failed", "interrupted", "unknown")


@dataclasses.dataclass
class RunLine:
    """One run of ``labcore runs``."""

    path: Path
    status: str
    step: str
    metric: str
    measured: str
    age: str
    started: dt.datetime


def metric_text(record: dict[str, Any], recipe: dict[str, Any]) -> str:
    """The main metric of an evaluation record as ``name value``, or ``-``."""
    key = main_key(record, recipe)
    return "-" if key is None else f"{key} {record['metrics'][key]:.4g}"


def measured_text(record: dict[str, Any]) -> str:
    """What the record's sample-based metrics were measured with, in a few characters
    (:meth:`labcore.measurement.Setting.short`), or ``-``."""
    found = setting(record)
    return "-" if found is None else found.short()


def describe(run: Run, now: dt.datetime | None = None) -> RunLine:
    """``run`` summed up in a line: status, step (of max), main metric of its latest evaluation
    and what measured it, time since it started."""
    now = now or dt.datetime.now(dt.UTC)
    status = run.status()
    step, total = status.get("step"), status.get("max_steps")
    if step is None:
        steps = [r["step"] for r in run.log() if "step" in r]
        step = steps[-1] if steps else None
    step_text = "-" if step is None else f"{step}/{total}" if total else str(step)
    metric = main_metric(run)
    begun = started(run.dir)
    return RunLine(
        path=run.dir,
        status=status.get("status") if status.get("status") in STATUSES else "unknown",
        step=step_text,
        metric=f"{metric[0]} {metric[1]:.4g}" if metric else "-",
        measured=measured_text(run.metrics()),
        age=age((now - begun).total_seconds()),
        started=begun,
    )


def columns(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """``rows`` under ``headers`` as aligned text columns."""
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
        for row in [headers, *rows]
    )


#: Under ``labcore runs`` when the listed main metrics were measured in different settings.
SETTINGS_DIFFER = (
    "note: the sample-based metrics above were measured with different feature extractors, "
    "weights or sample counts (MEASURED WITH), so their values do not compare across those "
    "settings; `labcore report` puts each setting in a table of its own"
)


def table(lines: list[RunLine]) -> str:
    """The runs as aligned text columns, newest first, and a note when their sample-based main
    metrics were measured in different settings."""
    headers = ("RUN", "STATUS", "STEP", "MAIN METRIC", "MEASURED WITH", "AGE")
    ordered = sorted(lines, key=lambda x: x.started, reverse=True)
    rows = [
        (str(line.path), line.status, line.step, line.metric, line.measured, line.age)
        for line in ordered
    ]
    text = columns(headers, rows)
    if len({line.measured for line in lines if line.measured != "-"}) > 1:
        text += f"\n\n{SETTINGS_DIFFER}"
    return text


def history_rows(run: Run) -> list[tuple[str, ...]]:
    """One row per evaluation of ``run``, oldest first: when, by what, step, checkpoint, main
    metric, measured with, the ``--set`` overrides."""
    rows = []
    for record in run.evaluations():
        evaluated = record.get("evaluated") or {}
        rows.append(
            (
                str(run.dir),
                evaluated.get("time") or "(not recorded)",
                evaluated.get("by") or "training",
                str(record.get("step", "-")),
                evaluated.get("checkpoint") or "-",
                metric_text(record, run.recipe),
                measured_text(record),
                " ".join(evaluated.get("overrides") or []) or "-",
            )
        )
    return rows


def history_table(runs: list[Run]) -> str:
    """Every evaluation of ``runs`` (newest run first, each run's evaluations oldest first) as
    aligned text columns."""
    headers = (
        "RUN", "EVALUATED", "BY", "STEP", "CHECKPOINT", "MAIN METRIC", "MEASURED WITH", "SET",
    )  # fmt: skip
    ordered = sorted(runs, key=lambda run: started(run.dir), reverse=True)
    return columns(headers, [row for run in ordered for row in history_rows(run)])
