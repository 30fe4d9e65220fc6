"""Process-group facts for runs launched by ``torchrun`` (one process otherwise)."""

from __future__ import annotations

import os
from typing import Any

import torch.distributed as dist


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def rescale_data_state(state: dict[str, Any]) -> dict[str, int]:
    """The data position of a checkpoint for this run's world size.

    Positions count per-process batches; a run saved with ``W`` processes has consumed
    ``index * W`` global-order batches of its epoch, which this world size ``W'`` reaches after
    ``index * W // W'`` of its own batches.
    """
    data = dict(state["data"])
    saved = int(state.get("world_size", 1))
    current = world_size()
    if saved != current:
        data["index"] = data["index"] * saved // current
    return data
