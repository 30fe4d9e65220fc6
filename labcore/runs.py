"""Finding run folders and summing each up in a line: status, step, main metric, age.

Used by ``labcore runs`` (the list) and ``labcore report`` (which accepts folders of runs).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path

from labcore import logs
from labcore.runfolder import Run, is_run, open_run

_STAMP = re.compile(r"^(\d{8}-\d{6})")

#: Words in a metric's name that mean lower values are better.
LOWER_IS_BETTER = (
    "loss", "fid", "kid", "mmd", "error", "bits_per_char", "bpc", "perplexity", "nll", "mse",
    "mae", "distance",
)  # fmt: skip


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


def lower_is_better(metric: str) -> bool:
    """Whether smaller values of ``metric`` are better, judged by the words in its name."""
    name = metric.lower()
    return any(word in name for word in LOWER_IS_BETTER)


def main_metric(run: Run) -> tuple[str, float] | None:
    """The metric that best sums up ``run``.

    From ``metrics.json``: the first metric the recipe's ``[evaluate] metrics`` names (FID, ...),
    else the first non-loss metric of the evaluation split (``test/accuracy``), else the first
    metric. Before the run has final metrics: its latest logged training value (``loss``).
    """
    metrics = run.metrics().get("metrics") or {}
    if metrics:
        evaluate = run.recipe.get("evaluate", {})
        for name in evaluate.get("metrics", []):
            for key in metrics:
                if key == name or key.startswith(f"{name}_") or key.startswith(f"{name}/"):
                    return key, metrics[key]
        split = evaluate.get("split", "test")
        in_split = [k for k in metrics if k.startswith(f"{split}/")]
        preferred = [k for k in in_split if "loss" not in k] or in_split or list(metrics)
        return preferred[0], metrics[preferred[0]]
    for record in reversed(run.log()):
        if logs.is_training(record):
            values = [
                (k, v)
                for k, v in record.items()
                if k not in logs.NOT_SERIES and not k.startswith("lr/") and logs.is_number(v)
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
    age: str
    started: dt.datetime


def describe(run: Run, now: dt.datetime | None = None) -> RunLine:
    """``run`` summed up in a line: status, step (of max), main metric, time since it started."""
    now = now or dt.datetime.now(dt.UTC)
    status = run.status()
    step, total = status.get("step"), status.get("max_steps")
    if step is None:
        steps = [r["step"] for r in run.log() if "step" in r]
        step = steps[-1] if steps else None
    step_text = "-" if step is None else f"{step}/{total}" if total else str(step)
    metric = main_metric(run)
    metric_text = f"{metric[0]} {metric[1]:.4g}" if metric else "-"
    begun = started(run.dir)
    return RunLine(
        path=run.dir,
        status=status.get("status") if status.get("status") in STATUSES else "unknown",
        step=step_text,
        metric=metric_text,
        age=age((now - begun).total_seconds()),
        started=begun,
    )


def table(lines: list[RunLine]) -> str:
    """The runs as aligned text columns, newest first."""
    headers = ("RUN", "STATUS", "STEP", "MAIN METRIC", "AGE")
    rows = [
        (str(line.path), line.status, line.step, line.metric, line.age)
        for line in sorted(lines, key=lambda x: x.started, reverse=True)
    ]
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
        for row in [headers, *rows]
    )
