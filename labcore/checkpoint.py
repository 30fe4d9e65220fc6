"""Checkpoints: atomic writes, safe loads, and the random-number state that exact resume needs.

A checkpoint is written to a temporary file in the same folder, flushed and fsynced, then renamed
over its destination, so a crash never leaves a half-written ``last.pt``. Loading uses
``torch.load(weights_only=True)``: a checkpoint holds tensors and plain containers only and cannot
run code.
"""

from __future__ import annotations

import os
import random
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

STEP_FILE = re.compile(r"step-(\d+)\.pt$")
#: The checkpoint of the best evaluation of ``train.monitor`` (same format as ``last.pt``).
BEST_NAME = "best.pt"


class CheckpointError(RuntimeError):
    """A checkpoint is missing, truncated or corrupt, or does not fit the model."""


class NonFiniteState(CheckpointError):
    """The weights or optimizer state to be saved hold NaN or infinity: never a checkpoint."""


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_save(state: dict[str, Any], path: Path) -> None:
    """Write ``state`` to ``path`` so that ``path`` is always either the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def atomic_link(source: Path, path: Path) -> None:
    """Make ``path`` a hard link to ``source`` atomically (falls back to a copy)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        atomic_save(load(source), path)
        return
    os.replace(tmp, path)
    _fsync_dir(path.parent)


# how torch.load(weights_only=True) names a global it refuses (wording varies across versions)
UNSAFE_GLOBAL = re.compile(r"unsupported (?:global: )?GLOBAL ([\w.]+)", re.IGNORECASE)


def load(path: Path) -> dict[str, Any]:
    """Load a checkpoint on the CPU, or raise CheckpointError naming the file and the problem."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.stat().st_size == 0:
        raise CheckpointError(
            f"checkpoint {path} is empty (0 bytes): the write that made it never finished"
        )
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols it may not read
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        unsafe = UNSAFE_GLOBAL.search(str(exc))
        if unsafe:
            raise CheckpointError(
                f"checkpoint {path} refers to {unsafe.group(1)}, which would run code when "
                "loaded; labcore loads only tensors and plain containers and refuses it"
            ) from None
        raise CheckpointError(
            f"checkpoint {path} cannot be read (truncated or corrupt?): {type(exc).__name__}: "
            f"{_reason(exc)}"
        ) from exc


def _reason(exc: Exception) -> str:
    """The line of ``exc``'s message that says what is wrong, without PyTorch's advice to load
    the file with ``weights_only=False`` (which would run any code it holds)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reasons = [
        line for line in lines
        if "weights_only" not in line and "Weights only load failed" not in line
    ]  # fmt: skip
    return reasons[0] if reasons else "not a checkpoint labcore can read"


def step_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """The ``step-N.pt`` files in ``folder``, newest first."""
    found = []
    for path in folder.glob("step-*.pt"):
        match = STEP_FILE.search(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found, reverse=True)


def prune(folder: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` step checkpoints."""
    for _, path in step_checkpoints(folder)[keep:]:
        path.unlink(missing_ok=True)


def candidates(folder: Path) -> list[Path]:
    """Checkpoints to resume from, best first: ``last.pt``, then step checkpoints newest first."""
    paths = [folder / "last.pt"] if (folder / "last.pt").is_file() else []
    return paths + [p for _, p in step_checkpoints(folder)]


def load_latest(
    folder: Path, fallback: bool, fallback_hint: str = ""
) -> tuple[dict[str, Any], Path, list[str]]:
    """The newest readable checkpoint, the file it came from, and warnings about skipped ones.

    Without ``fallback`` an unreadable ``last.pt`` is an error, ending with ``fallback_hint``
    (how to fall back, for the commands that can).
    """
    paths = candidates(folder)
    if not paths:
        raise CheckpointError(f"no checkpoint in {folder} (expected last.pt or step-N.pt)")
    warnings = []
    for path in paths:
        try:
            return load(path), path, warnings
        except CheckpointError as exc:
            if not fallback:
                raise CheckpointError(f"{exc}{fallback_hint}") from None
            warnings.append(f"skipped {path.name}: {exc}")
    raise CheckpointError(f"no readable checkpoint in {folder}: " + "; ".join(warnings))


def load_final(folder: Path, final: str = "best") -> tuple[dict[str, Any], Path]:
    """The checkpoint a finished run is evaluated with: ``best.pt`` (kept by ``train.monitor``)
    when ``final`` is ``"best"`` and there is one, else the newest checkpoint."""
    best = folder / BEST_NAME
    if final == "best" and best.is_file():
        return load(best), best
    state, path, _ = load_latest(folder, fallback=False)
    return state, path


def first_non_finite(
    model: torch.nn.Module, optimizers: dict[str, torch.optim.Optimizer] | None = None
) -> str | None:
    """The first parameter of ``model``, or optimizer state tensor, holding NaN or infinity, as
    a phrase (``parameter 'fc.weight'``), or None when all are finite.

    Buffers are not checked: a model may keep a legitimate ``-inf`` (an attention mask).
    """
    names = {}
    for name, parameter in model.named_parameters():
        names.setdefault(parameter, name)
        if not bool(torch.isfinite(parameter.detach()).all()):
            return f"parameter {name!r}"
    for optimizer_name, optimizer in (optimizers or {}).items():
        for parameter, state in optimizer.state.items():
            for key, value in state.items():
                floating = torch.is_tensor(value) and value.is_floating_point()
                if floating and not bool(torch.isfinite(value).all()):
                    owner = names.get(parameter, "a parameter")
                    return f"optimizer {optimizer_name!r} state {key!r} of {owner!r}"
    return None


def check_finite(
    model: torch.nn.Module, optimizers: dict[str, torch.optim.Optimizer], step: int
) -> None:
    """Raise :class:`NonFiniteState` naming the first non-finite parameter or optimizer state.

    Called before a checkpoint is written: a loss can be finite while its gradient overflows,
    and the update then leaves infinite weights that no later check of the loss would catch.
    """
    culprit = first_non_finite(model, optimizers)
    if culprit is not None:
        raise NonFiniteState(
            f"{culprit} is not finite (NaN or infinity) at step {step}; no checkpoint was "
            "written and the checkpoints already written are kept. Lower the learning rate or set "
            "train.grad_clip_norm"
        )


def load_weights(model: torch.nn.Module, state: Any, path: Path) -> None:
    """Load the model weights of the checkpoint ``state`` read from ``path`` into ``model``.

    Raises CheckpointError naming ``path`` when ``state`` is not a labcore checkpoint, when its
    weights belong to another model (missing or unexpected keys, other shapes), or when a
    weight is not finite.
    """
    weights = state.get("model") if isinstance(state, dict) else None
    if not isinstance(weights, dict) or not all(torch.is_tensor(v) for v in weights.values()):
        raise CheckpointError(
            f"checkpoint {path} has the wrong structure: a labcore checkpoint is a dict whose "
            "'model' entry maps names to tensors; this file was not written by labcore"
        )
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        details = "; ".join(
            line.strip() for line in str(exc).splitlines()[1:] if line.strip()
        )
        raise CheckpointError(
            f"checkpoint {path} is from another model or other hyperparameters than this run's "
            f"{getattr(model, 'name', type(model).__name__)!r}: {details[:500]}"
        ) from None
    culprit = first_non_finite(model)
    if culprit is not None:
        raise CheckpointError(
            f"checkpoint {path} holds a {culprit} that is not finite (NaN or infinity); "
            "use an earlier checkpoint"
        )


def rng_state() -> dict[str, Any]:
    """Every random-number generator the training loop draws from, as checkpoint-safe values."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    numpy = state["numpy"]
    np.random.set_state(
        (
            numpy["kind"],
            numpy["keys"].numpy().astype(np.uint32),
            numpy["pos"],
            numpy["has_gauss"],
            numpy["cached"],
        )
    )
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
