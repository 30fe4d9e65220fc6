"""Batches in a reproducible order with a resumable position.

The order of epoch ``e`` is a permutation drawn from a generator seeded with ``(seed, e)`` alone, so
the data position is just ``(epoch, batch index)``: a resumed run draws exactly the batches the
uninterrupted run would have drawn. Under DDP each rank takes every ``world_size``-th batch of the
same global order, so the union of the ranks' batches is the single-process order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader

from labcore.data import FullBatch, ItemSplit, Split, TensorSplit


def to_device(batch: Any, device: torch.device, non_blocking: bool = False) -> Any:
    """Move a batch (tensor, dict/list/tuple of them, or an object with ``.to``) to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, dict):
        return {k: to_device(v, device, non_blocking) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device, non_blocking) for v in batch)
    if hasattr(batch, "to"):
        return batch.to(device)
    return batch


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=generator)


class Batcher:
    """Training batches of a split, forever, with a ``state()`` to resume from."""

    def __init__(
        self,
        split: Split,
        batch_size: int,
        seed: int,
        device: torch.device,
        *,
        rank: int = 0,
        world_size: int = 1,
        num_workers: int = 0,
    ) -> None:
        self.split = split
        self.seed = seed
        self.device = device
        self.rank = rank
        self.world_size = world_size
        self.num_workers = num_workers
        self.epoch = 0
        self.index = 0
        n = len(split)
        if isinstance(split, FullBatch):
            self.batch_size = 1
            self.batches_per_epoch = 1
        else:
            global_batch = batch_size * world_size
            if n < global_batch:
                raise ValueError(
                    f"the training split has {n} examples, fewer than one batch "
                    f"({batch_size} x {world_size} processes); lower train.batch_size"
                )
            self.batch_size = batch_size
            self.batches_per_epoch = n // global_batch
        self._iterator: Iterator[Any] | None = None

    @property
    def global_batch(self) -> int:
        """Examples per step over all processes."""
        return self.batch_size * self.world_size

    def state(self) -> dict[str, int]:
        return {"epoch": self.epoch, "index": self.index, "global_batch": self.global_batch}

    def load_state(self, state: dict[str, int]) -> None:
        """Continue from ``state``, saved with this or another global batch (another number of
        processes or batch size): the position is kept in examples of the epoch's order, rounded
        down to a whole step of this batcher."""
        self.epoch, self.index = int(state["epoch"]), int(state["index"])
        saved = int(state.get("global_batch", self.global_batch))
        if saved != self.global_batch:
            self.index = self.index * saved // self.global_batch
        self._iterator = None

    def _indices(self, epoch: int, start: int) -> Iterator[torch.Tensor]:
        order = epoch_order(len(self.split), self.seed, epoch)
        step = self.batch_size * self.world_size
        for b in range(start, self.batches_per_epoch):
            chunk = order[b * step : (b + 1) * step]
            yield chunk[self.rank * self.batch_size : (self.rank + 1) * self.batch_size]

    def _epoch_iterator(self) -> Iterator[Any]:
        if isinstance(self.split, FullBatch):
            yield self.split.data
            return
        if isinstance(self.split, TensorSplit):
            for index in self._indices(self.epoch, self.index):
                yield self.split.batch(index)
            return
        assert isinstance(self.split, ItemSplit)
        loader = DataLoader(
            self.split.dataset,
            batch_sampler=[idx.tolist() for idx in self._indices(self.epoch, self.index)],
            collate_fn=self.split.collate,
            num_workers=self.num_workers,
            pin_memory=self.device.type == "cuda",
        )
        yield from loader

    def next(self) -> Any:
        """The next batch on the device; the position advances past it."""
        if self._iterator is None:
            self._iterator = self._epoch_iterator()
        batch = next(self._iterator, None)
        if batch is None:
            self.epoch, self.index = self.epoch + 1, 0
            self._iterator = self._epoch_iterator()
            batch = next(self._iterator)
        self.index += 1
        return to_device(batch, self.device, non_blocking=True)


def eval_batches(split: Split, batch_size: int, device: torch.device) -> Iterator[Any]:
    """A split's batches in order, nothing dropped, on ``device``."""
    if isinstance(split, FullBatch):
        yield to_device(split.data, device)
        return
    n = len(split)
    if isinstance(split, TensorSplit):
        for start in range(0, n, batch_size):
            yield to_device(split.batch(torch.arange(start, min(start + batch_size, n))), device)
        return
    loader = DataLoader(split.dataset, batch_size=batch_size, collate_fn=split.collate)
    for batch in loader:
        yield to_device(batch, device)
