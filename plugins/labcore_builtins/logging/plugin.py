"""TensorBoard logging from the trainer's event hooks, so the trainer has no TensorBoard code.

While a run trains, every value it logs (the means written to ``log.jsonl``, learning rates
included), every periodic evaluation and the final metrics go to TensorBoard scalars in
``RUN_DIR/tensorboard/``, under the same names as in ``log.jsonl`` (``loss``, ``lr/main``,
``val/accuracy``, ``fid``), at the training step they belong to. The resolved recipe is stored
as text at the first step, the run's end status at the last. View them with::

    tensorboard --logdir outputs/

The plugin is active only when the ``tensorboard`` package is importable (``pip install
tensorboard``: :class:`torch.utils.tensorboard.SummaryWriter` needs it); without it every hook
returns at once. A resumed run appends a new event file to the same folder.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from pathlib import Path
from typing import Any

import tomli_w

import labcore

LOG_DIR = "tensorboard"
SKIPPED_KEYS = ("step", "time")

_writers: dict[Path, Any] = {}


@functools.cache
def available() -> bool:
    """Whether TensorBoard event files can be written (the ``tensorboard`` package exists)."""
    return importlib.util.find_spec("tensorboard") is not None


def writer(run: Any) -> Any:
    """The open :class:`~torch.utils.tensorboard.SummaryWriter` of ``run`` (opened on first
    use, also for events outside a training loop, such as ``labcore evaluate``)."""
    key = Path(run.dir).resolve()
    if key not in _writers:
        from torch.utils.tensorboard import SummaryWriter

        _writers[key] = SummaryWriter(log_dir=str(key / LOG_DIR))
    return _writers[key]


def _scalars(run: Any, step: int, values: dict[str, Any]) -> None:
    out = writer(run)
    for key, value in values.items():
        if key in SKIPPED_KEYS or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            out.add_scalar(key, value, step)


@labcore.hookimpl
def labcore_run_start(run: Any) -> None:
    if not available():
        return
    recipe = tomli_w.dumps(run.recipe)
    status = run.status()
    indented = "\n".join(f"    {line}" for line in recipe.splitlines())
    writer(run).add_text("recipe", indented, int(status.get("step", 0)))


@labcore.hookimpl
def labcore_step_end(run: Any, step: int, logs: dict[str, float]) -> None:
    if available():
        _scalars(run, step, logs)


@labcore.hookimpl
def labcore_evaluation_done(run: Any, step: int, metrics: dict[str, float]) -> None:
    if available():
        _scalars(run, step, metrics)
        writer(run).flush()


@labcore.hookimpl
def labcore_run_end(run: Any, status: str) -> None:
    if not available():
        return
    out = writer(run)
    out.add_text("status", status, int(run.status().get("step", 0)))
    out.close()
    del _writers[Path(run.dir).resolve()]
