"""How a file made from a trained run came about, written beside it as ``<output>.json``.

`labcore sample`, `labcore translate` and `labcore generate` load a run's weights through
:func:`load_trained`, which keeps what the record needs (the checkpoint file and its step), and
write :func:`write_record` next to what they produce: the run folder, the checkpoint, the seed,
whether the samples came from a moving average of the weights, the command line and the
command's own settings (classes, layout, ...), so that any output can be made again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import torch

from labcore import checkpoint
from labcore.data import DataBundle
from labcore.plugins import PluginManager


@dataclasses.dataclass
class TrainedRun:
    """A run's model with the weights its final evaluation uses, and where they came from."""

    folder: Path
    model: torch.nn.Module
    recipe: dict[str, Any]
    data: DataBundle
    checkpoint: Path
    step: int | None

    @property
    def info(self) -> dict[str, Any]:
        return self.data.info


def load_trained(
    run_dir: str | Path, device: str | torch.device = "cpu", manager: PluginManager | None = None
) -> TrainedRun:
    """The run's model in eval mode on ``device``, as :func:`labcore.runfolder.load_model` loads
    it (``best.pt`` or the newest checkpoint, see ``train.final``), with its data and checkpoint."""
    from labcore.runfolder import build_model, load_data, open_run

    run = open_run(run_dir)
    data = load_data(run.recipe, manager)
    model = build_model(run.recipe, data.info, manager)
    state, path = checkpoint.load_final(run.checkpoints, run.recipe["train"].get("final", "best"))
    checkpoint.load_weights(model, state, path)
    step = state.get("step")
    return TrainedRun(
        folder=run.dir.resolve(),
        model=model.to(device).eval(),
        recipe=run.recipe,
        data=data,
        checkpoint=path.resolve(),
        step=int(step) if step is not None else None,
    )


def record_path(output: Path) -> Path:
    """Where the record of ``output`` goes: ``grid.png`` -> ``grid.png.json``, a folder
    ``out/`` -> ``out.json`` beside it."""
    output = Path(output)
    return output.with_name(output.name + ".json")


def write_record(output: Path, trained: TrainedRun, seed: int, **settings: Any) -> Path:
    """Write the record of ``output`` (see the module's docstring) and return its path."""
    from labcore import __version__

    model = trained.model
    record = {
        "output": str(Path(output).resolve()),
        "command": shlex.join(["labcore", *sys.argv[1:]]),
        "run": str(trained.folder),
        "model": getattr(model, "name", type(model).__name__),
        "checkpoint": str(trained.checkpoint),
        "step": trained.step,
        "seed": seed,
        "ema": bool(getattr(model, "samples_from_ema", False)),
        **settings,
        "labcore": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    path = record_path(output)
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path
