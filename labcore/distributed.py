"""Data-parallel training across processes launched by ``torchrun`` (one process otherwise).

``labcore run --nproc N`` starts ``torchrun`` itself; ``torchrun -m labcore run ...`` works too.
Each process trains on its slice of every global batch (see :mod:`labcore.batching`); gradients are
averaged across processes before each optimizer step, so N processes with batch size B follow the
same trajectory as one process with batch size N x B (for models without batch statistics).
Only rank 0 writes files, logs and shows progress.
"""

from __future__ import annotations

import os
from typing import Any

import torch
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


def init_from_environment(device_type: str) -> bool:
    """Join the process group ``torchrun`` describes in the environment (gloo on CPU, NCCL on
    CUDA); returns whether this is a multi-process run."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    if not is_distributed():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(local_rank())
        dist.init_process_group(backend=backend)
    return True


def share(value: Any) -> Any:
    """Rank 0's ``value`` on every rank (e.g. the run folder rank 0 created)."""
    if not is_distributed():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def average_gradients(params: list[torch.nn.Parameter]) -> None:
    """Average the gradients of ``params`` over all processes, in one coalesced all-reduce.

    This is the reduction DistributedDataParallel performs, done per optimizer so that models with
    several optimizers and alternating updates (GANs, VAE-GAN) need no single forward/backward
    pairing and have no "unused parameter" failures. A parameter that got no gradient on any rank
    keeps ``grad = None`` (so its optimizer skips it, as in a single process); one that got a
    gradient on some ranks only counts zeros for the others.
    """
    if not is_distributed() or not params:
        return
    device = params[0].device
    has_grad = torch.tensor(
        [p.grad is not None for p in params], dtype=torch.float32, device=device
    )
    dist.all_reduce(has_grad, op=dist.ReduceOp.MAX)
    active = [p for p, flag in zip(params, has_grad.tolist()) if flag]
    if not active:
        return
    flat = torch.cat(
        [(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in active]
    )
    dist.all_reduce(flat)
    flat /= world_size()
    offset = 0
    for p in active:
        n = p.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


def broadcast_state(module: torch.nn.Module) -> None:
    """Make every rank hold rank 0's parameters and buffers, as DDP does at construction."""
    if not is_distributed():
        return
    for tensor in [*module.parameters(), *module.buffers()]:
        dist.broadcast(tensor.data, src=0)


def broadcast_buffers(module: torch.nn.Module) -> None:
    """Rank 0's buffers (batch-norm statistics, spectral-norm vectors) on every rank, as DDP
    does before each forward pass."""
    if not is_distributed():
        return
    for buffer in module.buffers():
        dist.broadcast(buffer.data, src=0)
