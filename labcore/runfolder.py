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
    .lock              locked while a process writes the run (see labcore.train.lock)
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
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
from labcore.run import HISTORY_NAME, METRICS_NAME, Run, RunFolderError, read_json, utc_now
from labcore.schema import build

__all__ = [
    "HISTORY_NAME", "METRICS_NAME", "MAX_RUN_NAME", "Run", "RunFolderError", "build_model",
    "create", "environment", "is_run", "load_data", "load_model", "open_run", "read_json",
    "run_name_problem", "utc_now",
]  # fmt: skip

#: The longest run name: it is one folder name, and file systems allow 255 bytes in one.
MAX_RUN_NAME = 100


def run_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a run name, or None when it can: a run name is one plain folder
    name, so that a run folder is always inside ``--out``: no path separator, no leading dot
    (``..``), no control character, at most :data:`MAX_RUN_NAME` characters."""
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
    if problem is None:
        return None
    shown = name if len(name) <= 40 else f"{name[:40]}..."
    return (
        f"run.name {shown!r}: {problem}; a run name is one folder name under --out, "
        "e.g. 'gan-digits-lr2e-4' (use --out to choose where runs go)"
    )


def create(out: Path, name: str, suffix: str = "") -> Path:
    """A new, empty run folder ``out/name/<UTC timestamp><suffix>`` (never an existing one).

    Raises ValueError when ``name`` is not one plain folder name (see :func:`run_name_problem`;
    a loaded recipe's name has passed that check already).
    """
    problem = run_name_problem(name)
    if problem:
        raise ValueError(problem)
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
    for dist in (
        "labcore", "torch", "torch-geometric", "numpy", "scipy", "scikit-learn", "pot",
        "torchmetrics",
    ):
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
