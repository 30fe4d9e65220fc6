"""Data-parallel training across several processes (one process otherwise).

``labcore run --nproc N`` starts the N processes itself (:func:`launch`) with the environment
``torchrun`` gives (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``...); ``torchrun -m labcore run ...``
works too. On several machines (``--nnodes M --node-rank R --master-addr A``) the launcher of each
machine starts its N processes, global ranks ``R*N`` to ``R*N + N - 1`` of ``M*N``, and all of them
meet at the TCP store rank 0 serves at ``A:P``.
Each process trains on its slice of every global batch (see :mod:`labcore.train.batching`);
DistributedDataParallel averages the gradients of each optimizer across processes (see
:class:`GradientAverager`), so N processes with batch size B follow the same trajectory as one
process with batch size N x B (for models without batch statistics).
Only rank 0 writes files, logs and shows progress.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist
from torch import nn


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


def init_from_environment(device_type: str) -> bool:
    """Join the process group ``torchrun`` describes in the environment (gloo on CPU, NCCL on
    CUDA); returns whether this is a multi-process run."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    if not is_distributed():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(local_rank())
        try:
            dist.init_process_group(backend=backend)
        except dist.DistError as error:
            address = f"{os.environ.get('MASTER_ADDR')}:{os.environ.get('MASTER_PORT')}"
            raise RendezvousError(
                f"process {os.environ.get('RANK')} of {os.environ.get('WORLD_SIZE')} could not "
                f"join the run at {address} ({' '.join(str(error).split())[:160]}): start node 0 "
                "too, and check that every machine reaches that address and port"
            ) from None
    return True


class RendezvousError(Exception):
    """The processes of a run could not meet at the master's address and port."""


def leave() -> None:
    """Wait for every process to finish, then leave the process group.

    A process that exits while the others still use the group would tear down gloo's threads
    under them and abort, failing the whole run; rank 0 leaves before writing the report, whose
    sections must not wait for processes that have ended.
    """
    if is_distributed():
        dist.barrier()
        dist.destroy_process_group()


_signal_group: Any = None


def _signal_channel() -> Any:
    """The process group stop signals are agreed in: gloo on the CPU, so that the agreement at
    every step never waits for a GPU (a separate gloo group under NCCL)."""
    global _signal_group
    if dist.get_backend() == "gloo":
        return None  # the default group
    if _signal_group is None:
        _signal_group = dist.new_group(backend="gloo")
    return _signal_group


def agreed_signal(signum: int | None) -> int | None:
    """The stop signal any process received (the highest number when several did), on every
    process; ``None`` when none did. Called by every process at the same step, it lets them all
    stop at that step, whichever process the signal reached."""
    if not is_distributed():
        return signum
    value = torch.tensor([signum or 0], dtype=torch.int64)
    dist.all_reduce(value, op=dist.ReduceOp.MAX, group=_signal_channel())
    return int(value) or None


def is_communication_error(error: BaseException) -> bool:
    """Whether ``error`` says another process left the group (it died or stopped): gloo reports a
    closed connection as a bare RuntimeError naming the transport."""
    if isinstance(error, dist.DistError):
        return True
    text = str(error)
    return (
        isinstance(error, RuntimeError)
        and is_distributed()
        and any(word in text for word in ("gloo", "NCCL", "Connection closed", "Connection reset"))
    )


def shard(count: int) -> range:
    """This process's contiguous block of ``range(count)`` (all of it in one process)."""
    size, me = world_size(), rank()
    return range(count * me // size, count * (me + 1) // size)


def any_rank(flag: bool) -> bool:
    """Whether ``flag`` is true on any process."""
    if not is_distributed():
        return flag
    value = torch.tensor(float(flag), device=_communication_device())
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value)


def _communication_device() -> torch.device:
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def sum_over_ranks(tensor: torch.Tensor) -> torch.Tensor:
    """The sum of ``tensor`` over all processes, on ``tensor``'s device.

    A process that received no data may still hold a sum's initial scalar 0 where the others
    hold vectors or matrices: it takes part with zeros of their shape.
    """
    if not is_distributed():
        return tensor
    shapes: list[Any] = [None] * world_size()
    dist.all_gather_object(shapes, tuple(tensor.shape))
    target = max(shapes, key=len)
    if tuple(tensor.shape) != target:
        if tensor.dim() != 0 or any(s not in ((), target) for s in shapes):
            raise ValueError(f"cannot sum tensors of shapes {shapes} over the processes")
        tensor = tensor.expand(target)
    total = tensor.to(_communication_device(), copy=True)
    dist.all_reduce(total)
    return total.to(tensor.device)


def gather_rows(tensor: torch.Tensor | None) -> torch.Tensor | None:
    """Every process's ``tensor`` concatenated along dimension 0 in rank order, on every process.

    Processes may hold different numbers of rows, or none (``None``); returns ``None`` when no
    process holds any. The result is on ``tensor``'s device (the communication device otherwise).
    """
    if not is_distributed():
        return tensor
    shape = None if tensor is None else (tensor.shape[0], tuple(tensor.shape[1:]), tensor.dtype)
    shapes: list[Any] = [None] * world_size()
    dist.all_gather_object(shapes, shape)
    known = [s for s in shapes if s is not None]
    if not known:
        return None
    rows = [s[0] if s is not None else 0 for s in shapes]
    trailing, dtype = known[0][1], known[0][2]
    device = _communication_device()
    padded = torch.zeros((max(rows), *trailing), dtype=dtype, device=device)
    if tensor is not None:
        padded[: tensor.shape[0]] = tensor.to(device)
    parts = [torch.empty_like(padded) for _ in rows]
    dist.all_gather(parts, padded)
    gathered = torch.cat([part[:n] for part, n in zip(parts, rows)])
    return gathered.to(tensor.device) if tensor is not None else gathered


def gather_outputs(outputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """:func:`gather_rows` of each entry of ``outputs`` (names as any process has them)."""
    if not is_distributed():
        return outputs
    names: list[Any] = [None] * world_size()
    dist.all_gather_object(names, sorted(outputs))
    gathered = {}
    for name in sorted(set().union(*names)):
        rows = gather_rows(outputs.get(name))
        if rows is not None:
            gathered[name] = rows
    return gathered


def share(value: Any) -> Any:
    """Rank 0's ``value`` on every rank (e.g. the run folder rank 0 created)."""
    if not is_distributed():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


class _OptimizerParameters(nn.Module):
    """The parameters of one optimizer as a module for DDP; its forward hands the loss back."""

    def __init__(self, params: list[nn.Parameter]) -> None:
        super().__init__()
        self.params = nn.ParameterList(params)

    def forward(self, loss: torch.Tensor) -> torch.Tensor:
        return loss


def _unchanged(loss: torch.Tensor) -> torch.Tensor:
    return loss


def reached_parameters(loss: torch.Tensor) -> set[int]:
    """The ``id`` of every leaf tensor (parameter) the autograd graph of ``loss`` reaches."""
    found: set[int] = set()
    seen: set[Any] = set()
    stack = [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        variable = getattr(node, "variable", None)
        if variable is not None:
            found.add(id(variable))
        stack.extend(next_node for next_node, _ in node.next_functions)
    return found


class GradientAverager:
    """Averages one optimizer's gradients across processes with DistributedDataParallel.

    The optimizer's loss passes through :meth:`__call__` before ``backward()``: that is a forward
    pass of a DDP over the optimizer's parameters, which arms DDP's reducer to average their
    gradients, bucket by bucket while the backward pass runs. One DDP per optimizer rather than
    one around the whole model, because the model contract lets ``training_step`` run several
    forward and backward passes per step (a GAN's discriminator and generator updates, n-critic
    schedules, gradient penalties), which a single DDP forward/backward pairing cannot follow.

    The DDP is built at the optimizer's first update. With ``find_unused="auto"`` it searches each
    update's autograd graph for parameters the loss leaves unused only when the first update (on
    any process) left some unused; ``"always"`` searches every time, for models whose set of used
    parameters changes from step to step. A parameter no process computed a gradient for keeps
    ``grad = None``, as in one process; one with a gradient on some processes only counts zeros
    for the others.
    """

    def __init__(
        self, name: str, params: list[nn.Parameter], device: torch.device, find_unused: str
    ) -> None:
        self.name = name
        self.params = params
        self.device = device
        self.find_unused = find_unused
        self._ddp: nn.Module | None = None

    def _build(self, loss: torch.Tensor) -> nn.Module:
        from torch.nn.parallel import DistributedDataParallel

        reached = reached_parameters(loss)
        unused = any_rank(any(id(p) not in reached for p in self.params))
        return DistributedDataParallel(
            _OptimizerParameters(self.params),
            device_ids=[self.device.index] if self.device.type == "cuda" else None,
            find_unused_parameters=self.find_unused == "always" or unused,
            init_sync=False,  # the trainer broadcast rank 0's state; this loss's graph holds it
        )

    def __call__(self, loss: torch.Tensor) -> torch.Tensor:
        if self._ddp is None:
            self._ddp = self._build(loss)
        try:
            return self._ddp(loss)
        except RuntimeError as error:
            if "finished reduction in the prior iteration" not in str(error):
                raise
            raise RuntimeError(
                f"optimizer {self.name!r}: an update left parameters without gradients that its "
                "first update used, which DistributedDataParallel cannot follow unless it "
                "searches every update for unused parameters: set "
                'run.find_unused_parameters = "always" in the recipe'
            ) from error


def gradient_averagers(
    optimizers: dict[str, torch.optim.Optimizer], device: torch.device, find_unused: str = "auto"
) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    """For each optimizer, what its loss passes through before ``backward()``: a
    :class:`GradientAverager` in a multi-process run, the loss unchanged otherwise."""
    averagers: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {}
    for name, optimizer in optimizers.items():
        params = [p for g in optimizer.param_groups for p in g["params"] if p.requires_grad]
        if is_distributed() and params:
            averagers[name] = GradientAverager(name, params, device, find_unused)
        else:
            averagers[name] = _unchanged
    return averagers


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


#: Set in the environment of the processes :func:`launch` starts.
LAUNCHED_ENV = "LABCORE_LAUNCHED"
#: Seconds the other processes get to finish (save a checkpoint) after one of them has ended.
STOP_GRACE_SECONDS = 60.0
#: The master's port on several machines when none is given (torchrun's default).
DEFAULT_MASTER_PORT = 29500


class LaunchError(Exception):
    """Launch settings that cannot work together; the message names the option to change."""


@dataclasses.dataclass(frozen=True)
class Launch:
    """How many processes to start on this machine, and where this machine sits among the run's
    machines (torchrun's ``--nproc-per-node``, ``--nnodes``, ``--node-rank``, ``--master-*``)."""

    nproc: int = 1
    nnodes: int = 1
    node_rank: int = 0
    master_addr: str | None = None
    master_port: int | None = None

    @property
    def world_size(self) -> int:
        return self.nnodes * self.nproc

    @property
    def is_parallel(self) -> bool:
        """Whether the command runs as several processes (here or on other machines)."""
        return self.world_size > 1

    @property
    def writes_files(self) -> bool:
        """Whether this machine holds global rank 0, the process that writes the run folder."""
        return self.node_rank == 0

    def check(self) -> None:
        """Raise :class:`LaunchError` for settings that cannot work together."""
        if self.node_rank >= self.nnodes:
            raise LaunchError(
                f"--node-rank {self.node_rank} with --nnodes {self.nnodes}: node ranks run from "
                f"0 to {self.nnodes - 1}"
            )
        if self.nnodes > 1 and not self.master_addr:
            raise LaunchError(
                f"--nnodes {self.nnodes} needs --master-addr: the address of node 0 that every "
                "machine reaches (the same on every node)"
            )
        if not self.is_parallel and (self.master_addr or self.master_port):
            raise LaunchError(
                "--master-addr and --master-port go with --nproc N or --nnodes M above 1"
            )

    def environment(self, port: int) -> dict[str, str]:
        """What every process of this machine shares of torchrun's environment."""
        return {
            "MASTER_ADDR": self.master_addr or "127.0.0.1",
            "MASTER_PORT": str(port),
            "WORLD_SIZE": str(self.world_size),
            "LOCAL_WORLD_SIZE": str(self.nproc),
            "GROUP_RANK": str(self.node_rank),
            "GROUP_WORLD_SIZE": str(self.nnodes),
        }

    def global_rank(self, local: int) -> int:
        return self.node_rank * self.nproc + local


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _check_port_free(port: int) -> None:
    """Raise :class:`LaunchError` when ``port`` is taken on this machine, where rank 0 will serve
    the run's TCP store on every interface (bound as the store binds, so that connections of an
    earlier run still closing do not count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("", port))
            probe.listen()
        except OSError as error:
            raise LaunchError(
                f"--master-port {port}: the port is not free on this machine (node 0) "
                f"({error.strerror or error}); choose another, the same on every node"
            ) from None


def master_port(launch: Launch) -> int:
    """The port of the run's TCP store: the one given (checked to be free on node 0), torchrun's
    default on several machines, or a free one on this machine."""
    launch.check()
    if launch.master_port is None and launch.nnodes == 1:
        return _free_port()
    port = launch.master_port or DEFAULT_MASTER_PORT
    if launch.writes_files:
        _check_port_free(port)
    return port


def launch(settings: Launch, arguments: list[str]) -> int:
    """Run ``python -m labcore ARGUMENTS`` as ``settings.nproc`` processes on this machine; their
    exit code.

    Each process gets the environment ``torchrun`` would give it (global rank ``node_rank x
    nproc + local rank`` of ``nnodes x nproc``) and its own process group, so that SIGINT and
    SIGTERM reach the processes once, forwarded from here (the trainer then stops every process
    of every machine at the same step, saves a checkpoint and exits with 128 + the signal's
    number, which is returned). When a process dies without saying why (killed), one line says
    so on stderr and the others, which cannot go on without it, are stopped. Raises
    :class:`LaunchError` for settings that cannot work, before any process starts.
    """
    env = {
        **os.environ,
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
        **settings.environment(master_port(settings)),
        LAUNCHED_ENV: "1",
    }
    workers: list[subprocess.Popen] = []
    received: list[int] = []

    def forward(signum: int, _frame: Any) -> None:
        received.append(signum)
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for local in range(settings.nproc):
            rank = settings.global_rank(local)
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "labcore", *arguments],
                    env={**env, "RANK": str(rank), "LOCAL_RANK": str(local)},
                    process_group=0,
                )
            )
        if received:  # a signal arrived while the processes were starting
            forward(received[-1], None)
        return _supervise(workers, received, settings)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


def _supervise(workers: list[subprocess.Popen], received: list[int], settings: Launch) -> int:
    """Wait for every process; stop the rest a grace period after one ended badly."""
    deadline = None
    first_failure: tuple[int, int] | None = None
    while any(w.poll() is None for w in workers):
        for local, worker in enumerate(workers):
            code = worker.poll()
            if code not in (None, 0) and first_failure is None:
                first_failure = (local, code)
                deadline = time.monotonic() + STOP_GRACE_SECONDS
        if deadline is not None and time.monotonic() > deadline:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
        time.sleep(0.05)
    codes = [w.returncode for w in workers]
    if all(code == 0 for code in codes):
        return 0
    stopped = {128 + signal.SIGINT, 128 + signal.SIGTERM, *(-signum for signum in received)}
    if received and all(code in (*stopped, 0) for code in codes):
        return 128 + received[0]  # the forwarded signal stopped them (some before any handler)
    local, code = first_failure or next((r, c) for r, c in enumerate(codes) if c != 0)
    if code < 0:
        name = signal.Signals(-code).name
        where = f" (node {settings.node_rank})" if settings.nnodes > 1 else ""
        print(
            f"labcore: error: process {settings.global_rank(local)} of {settings.world_size}"
            f"{where} was killed by {name}; the run stopped (resume it from its last checkpoint "
            "with `labcore resume`)",
            file=sys.stderr,
        )
        return 1
    return code
