"""The dataset contract: a dataset component loads a :class:`DataBundle` of named splits.

Three kinds of split cover the lab's data:

- :class:`TensorSplit`: aligned tensors held in memory (on the run's device when small enough),
  batched by index. Nearly every dataset here is one of these.
- :class:`FullBatch`: one object used whole at every step (a graph with its node masks).
- :class:`ItemSplit`: a ``torch.utils.data.Dataset`` too large to hold, read through a DataLoader.

A batch is what a split yields: a ``dict`` of tensors for tensor splits, the object itself for a
full batch, and whatever ``collate`` returns for item splits. The trainer moves it to the device.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch

from labcore.components import Component


class DataError(ValueError):
    """A data file is unreadable, unsafe or holds values the dataset cannot use.

    The message names the file and the fix; the command line exits with code 2, as for a
    recipe error, since the remedy is the user's (another file or another ``data.root``).
    """


class TensorSplit:
    """Aligned tensors of equal first dimension, e.g. ``TensorSplit(x=images, y=labels)``."""

    def __init__(self, **tensors: torch.Tensor) -> None:
        if not tensors:
            raise ValueError("TensorSplit needs at least one tensor")
        sizes = {name: t.shape[0] for name, t in tensors.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"TensorSplit tensors differ in length: {sizes}")
        self.tensors = tensors

    def __len__(self) -> int:
        return next(iter(self.tensors.values())).shape[0]

    def __getitem__(self, key: str) -> torch.Tensor:
        return self.tensors[key]

    def batch(self, index: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: t[index.to(t.device)] for name, t in self.tensors.items()}

    def to(self, device: torch.device | str) -> TensorSplit:
        return TensorSplit(**{name: t.to(device) for name, t in self.tensors.items()})

    def nbytes(self) -> int:
        return sum(t.element_size() * t.nelement() for t in self.tensors.values())


class FullBatch:
    """A single object (for instance a ``torch_geometric.data.Data`` graph) used whole each step."""

    def __init__(self, data: Any) -> None:
        self.data = data

    def __len__(self) -> int:
        return 1

    def to(self, device: torch.device | str) -> FullBatch:
        return FullBatch(self.data.to(device))


class ItemSplit:
    """A map-style dataset read item by item and collated into batches (through a DataLoader)."""

    def __init__(self, dataset: Any, collate: Callable[[Sequence[Any]], Any] | None = None):
        self.dataset = dataset
        self.collate = collate

    def __len__(self) -> int:
        return len(self.dataset)


Split = TensorSplit | FullBatch | ItemSplit


@dataclasses.dataclass
class DataBundle:
    """The splits of a dataset and what a model needs to know about them.

    ``splits`` maps ``train`` (required), ``val`` and ``test`` to splits. ``info`` describes the
    data for model construction; common keys: ``shape`` (one example, e.g. ``(1, 28, 28)``),
    ``num_classes``, ``num_features``, ``vocab_size``, ``value_range`` (e.g. ``(-1.0, 1.0)``).
    """

    splits: dict[str, Split]
    info: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if "train" not in self.splits:
            raise ValueError("a DataBundle needs a 'train' split")

    def split(self, name: str) -> Split:
        if name not in self.splits:
            raise KeyError(
                f"dataset has no '{name}' split; it has: {', '.join(self.splits)}"
            )
        return self.splits[name]


class Dataset(Component):
    """Base of dataset components: ``Dataset(config).load()`` returns a :class:`DataBundle`."""

    kind: ClassVar[str] = "dataset"

    def __init__(self, config: Any) -> None:
        self.config = config

    def load(self) -> DataBundle:
        raise NotImplementedError
