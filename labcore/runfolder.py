"""Run folders: ``<out>/<recipe name>/<UTC timestamp>/`` and everything a run leaves in it.

::

    recipe.toml        the resolved recipe (run it again to reproduce the run)
    env.json           library versions, device, git commit when known
    status.json        running | finished | failed | interrupted, step, max_steps, times
    log.jsonl          one JSON object per logged step (training means, evaluations)
    checkpoints/       last.pt and step-N.pt
    samples/           step-N.png sample grids (generative models)
    metrics.json       the latest evaluation, with what it was measured with
    evaluations.jsonl  every evaluation, oldest first (the final one of training, each
                       `labcore evaluate`), one JSON object per line
    report.md          the run's report
    .lock              locked while a process writes the run (see labcore.lock)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.metadata
import json
import platform
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import torch

from labcore import checkpoint
from labcore.data import DataBundle
from labcore.plugins import PluginManager, get_manager
from labcore.schema import build

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


#: The longest run name: it is one folder name, and file systems allow 255 bytes in one.
MAX_RUN_NAME = 100


def check_run_name(name: str) -> None:
    """Raise RecipeError unless ``name`` is one plain folder name, so that a run folder is
    always inside ``--out``: no path separator, no leading dot (``..``), no control
    character, at most :data:`MAX_RUN_NAME` characters."""
    problem = None
    if not name:
        problem = "it is empty"
    elif len(name) > MAX_RUN_NAME:
        problem = f"it has {len(name)} characters, the limit is {MAX_RUN_NAME}"
    elif "/" in name or "\\" in name:
        problem = "it holds a path separator, which would put the run outside --out"
    elif name.startswith("."):
        problem = "it starts with a dot ('..' would put the run outside --out)"
    elif any(ord(char) < 32 or ord(char) == 127 for char in name):
        problem = "it holds a control character"
    if problem:
        from labcore.recipe import RecipeError

        shown = name if len(name) <= 40 else f"{name[:40]}..."
        raise RecipeError(
            f"run.name {shown!r}: {problem}; a run name is one folder name under --out, "
            "e.g. 'gan-digits-lr2e-4' (use --out to choose where runs go)"
        )


def create(out: Path, name: str, suffix: str = "") -> Path:
    """A new, empty run folder ``out/name/<UTC timestamp><suffix>`` (never an existing one).

    Raises RecipeError when ``name`` is not one plain folder name (see :func:`check_run_name`).
    """
    check_run_name(name)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    base = out / name
    base.mkdir(parents=True, exist_ok=True)
    for attempt in range(1000):
        folder = base / (f"{stamp}{suffix}" + (f"-{attempt}" if attempt else ""))
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise RuntimeError(f"cannot create a new run folder under {base}")


def is_run(folder: Path) -> bool:
    return (folder / "recipe.toml").is_file()


def open_run(folder: str | Path) -> Run:
    """The run in ``folder``, or a ValueError saying why it is not a run folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    if not is_run(folder):
        raise ValueError(f"{folder} is not a run folder (it has no recipe.toml)")
    path = folder / "recipe.toml"
    try:
        recipe = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{path} is damaged (not valid TOML: {exc})") from None
    name = recipe.get("run", {}).get("name") if isinstance(recipe.get("run"), dict) else None
    if not isinstance(name, str) or not name:
        raise RunFolderError(
            f"{path} is empty or damaged (it has no [run] name); it should hold the resolved "
            "recipe `labcore run` saved"
        )
    return Run(dir=folder, recipe=recipe)


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def environment(device: torch.device, manager: PluginManager) -> dict[str, Any]:
    """Versions, device and commit, for ``env.json``."""
    versions = {}
    for dist in ("labcore", "torch", "torch-geometric", "numpy", "scipy", "scikit-learn"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    env = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": versions,
        "device": str(device),
        "device_name": (
            torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
        ),
        "torch_threads": torch.get_num_threads(),
        "git_commit": _git_commit(),
        "plugins": {r.name: r.origin for r in manager.records if not r.broken},
        "command": sys.argv,
    }
    return env


def load_data(recipe: dict[str, Any], manager: PluginManager | None = None) -> DataBundle:
    """Load the dataset a resolved recipe names."""
    manager = manager or get_manager()
    section = dict(recipe["data"])
    cls = manager.get("dataset", section.pop("name"))
    return cls(build(cls.Config, section, "data")).load()


def build_model(recipe: dict[str, Any], info: dict[str, Any], manager: PluginManager | None = None):
    manager = manager or get_manager()
    section = dict(recipe["model"])
    cls = manager.get("model", section.pop("name"))
    return cls(build(cls.Config, section, "model"), info)


def load_model(
    run_dir: str | Path, device: str | torch.device = "cpu", manager: PluginManager | None = None
) -> tuple[torch.nn.Module, dict[str, Any], dict[str, Any]]:
    """The trained model of a run (the weights its final evaluation uses: ``best.pt`` or the
    newest checkpoint, see ``train.final``), its recipe and data info.

    The model is in eval mode on ``device``.
    """
    run = open_run(run_dir)
    bundle = load_data(run.recipe, manager)
    model = build_model(run.recipe, bundle.info, manager)
    state, path = checkpoint.load_final(run.checkpoints, run.recipe["train"].get("final", "best"))
    checkpoint.load_weights(model, state, path)
    return model.to(device).eval(), run.recipe, bundle.info
