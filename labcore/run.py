"""A run folder as plugins receive it in their hooks: its path, its resolved recipe and its
files (status, metrics, the history of evaluations, the log).

The rest of the folder's life (creating, opening, rebuilding the model) is :mod:`labcore.runfolder`,
which needs the plugin manager; this module needs nothing of labcore, so the hook specifications
can name :class:`Run`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

METRICS_NAME = "metrics.json"
HISTORY_NAME = "evaluations.jsonl"


class RunFolderError(ValueError):
    """A file of a run folder is missing, empty or damaged; the message names the file."""


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or RunFolderError naming the file when it cannot be read."""
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{path} is damaged (not valid JSON: {exc})") from None


@dataclasses.dataclass
class Run:
    """A run folder and its resolved recipe, as handed to event and report hooks."""

    dir: Path
    recipe: dict[str, Any]

    @property
    def name(self) -> str:
        return self.recipe["run"]["name"]

    @property
    def checkpoints(self) -> Path:
        return self.dir / "checkpoints"

    @property
    def samples(self) -> Path:
        return self.dir / "samples"

    def status(self) -> dict[str, Any]:
        path = self.dir / "status.json"
        return read_json(path) if path.is_file() else {}

    def set_status(self, status: str, **fields: Any) -> None:
        data = {**self.status(), "status": status, **fields, "updated": utc_now()}
        path = self.dir / "status.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(path)

    def metrics(self) -> dict[str, Any]:
        """The latest evaluation (``metrics.json``), or ``{}`` before the first one."""
        path = self.dir / METRICS_NAME
        return read_json(path) if path.is_file() else {}

    def evaluations(self) -> list[dict[str, Any]]:
        """Every evaluation of the run, oldest first: ``evaluations.jsonl``, or for a run
        written before that file existed, its one ``metrics.json``."""
        path = self.dir / HISTORY_NAME
        if not path.is_file():
            latest = self.metrics()
            return [latest] if latest else []
        records = []
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError as exc:
                raise RunFolderError(f"{path} is damaged (line {number}: {exc})") from None
        return records

    def add_evaluation(self, record: dict[str, Any]) -> None:
        """Keep ``record`` as the latest evaluation (``metrics.json``, replaced atomically) and
        append it to the history (``evaluations.jsonl``).

        The history of a run that has none yet starts with the ``metrics.json`` it replaces, so
        an evaluation made before histories were kept is not lost.
        """
        history = self.dir / HISTORY_NAME
        previous = self.metrics() if not history.is_file() else {}
        with open(history, "a") as f:
            for entry in ([previous] if previous else []) + [record]:
                f.write(json.dumps(entry) + "\n")
        path = self.dir / METRICS_NAME
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        tmp.replace(path)

    def log(self) -> list[dict[str, Any]]:
        path = self.dir / "log.jsonl"
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
