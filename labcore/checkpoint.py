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
from pathlib import Path
from typing import Any

import numpy as np
import torch

STEP_FILE = re.compile(r"step-(\d+)\.pt$")


class CheckpointError(RuntimeError):
    """A checkpoint is missing, truncated or corrupt."""


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


def load(path: Path) -> dict[str, Any]:
    """Load a checkpoint on the CPU, or raise CheckpointError naming the file."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"checkpoint {path} cannot be read (truncated or corrupt?): {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}"
        ) from exc


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


def load_latest(folder: Path, fallback: bool) -> tuple[dict[str, Any], Path, list[str]]:
    """The newest readable checkpoint, the file it came from, and warnings about skipped ones.

    Without ``fallback`` an unreadable ``last.pt`` is an error that says how to fall back.
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
                raise CheckpointError(
                    f"{exc}. Pass --fallback to resume from the newest readable earlier checkpoint"
                ) from None
            warnings.append(f"skipped {path.name}: {exc}")
    raise CheckpointError(f"no readable checkpoint in {folder}: " + "; ".join(warnings))


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
