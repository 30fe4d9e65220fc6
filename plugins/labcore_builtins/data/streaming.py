"""Image datasets too large to hold in memory, read item by item through a DataLoader.

A *source* is any sequence of uint8 images ``(C, H, W)``: the records of a binary file mapped
with :class:`MemmapImages`, or image files decoded one by one with :class:`DecodedFiles`.
:class:`ImageItems` turns a source and its labels into the items of a :class:`labcore.ItemSplit`
(``{"x": float32 (C, H, W) in the value range, "y": ...}``), so the trainer's batcher draws them
in its seeded permutation of each epoch, through ``train.num_workers`` worker processes, and a
resumed run reads exactly the batches an uninterrupted one would.

Decoding (a JPEG, a crop, a resize) costs far more than reading bytes. With ``data.cache =
true`` a source is decoded once, in order, into a ``.npy`` file of uint8 ``(N, C, H, W)`` in the
cache folder, named by a digest of the source files (path, size, modification time) and the
options that shape the pixels; later runs map that file instead of decoding again.
:func:`stream_or_cache` gives a dataset the one or the other, as its ``cache`` keys say.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch.utils.data import DataLoader

from labcore.features.cache import CACHE_ENV


class ImageSource(Protocol):
    """A sequence of uint8 images ``(C, H, W)``."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> np.ndarray: ...


def default_cache_dir() -> Path:
    """``$LABCORE_CACHE_DIR/data``, else ``~/.cache/labcore/data``."""
    root = os.environ.get(CACHE_ENV)
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "labcore"
    return base / "data"


class MemmapImages:
    """The uint8 images of a file mapped into memory (never read whole).

    The file holds ``count`` records of ``stored`` bytes shape from byte ``offset`` on; image
    ``i`` is record ``i`` with its axes permuted by ``axes`` to ``(C, H, W)``. The map is opened
    in each process that reads, so the object travels to DataLoader workers as a few numbers.
    """

    def __init__(
        self, path: Path, count: int, stored: tuple[int, ...], axes: tuple[int, ...] = (0, 1, 2),
        offset: int = 0,
    ) -> None:
        self.path, self.count, self.stored, self.axes, self.offset = (
            Path(path), count, stored, axes, offset,
        )
        self._map: np.ndarray | None = None

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> np.ndarray:
        if self._map is None:
            self._map = np.memmap(
                self.path, np.uint8, "r", self.offset, (self.count, *self.stored)
            )
        return np.ascontiguousarray(self._map[index].transpose(self.axes))

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_map": None}


class DecodedFiles:
    """Image files decoded one by one by ``decode(path) -> uint8 (C, H, W)`` (a module-level
    function, so that it travels to worker processes)."""

    def __init__(self, files: Sequence[Path], decode: Callable[[Path], np.ndarray]) -> None:
        self.files = list(files)
        self.decode = decode

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> np.ndarray:
        return self.decode(self.files[index])


class Subset:
    """The images of ``source`` at ``indices``, in that order."""

    def __init__(self, source: ImageSource, indices: Sequence[int]) -> None:
        self.source = source
        self.indices = [int(i) for i in indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> np.ndarray:
        return self.source[self.indices[index]]


class ImageItems(torch.utils.data.Dataset):
    """Items ``{"x": float32 (C, H, W) mapped onto value_range, **labels[i]}`` of a source.

    ``labels`` maps batch keys (``y``, ``attributes``) to arrays of one row per image.
    """

    def __init__(
        self, source: ImageSource, value_range: tuple[float, float],
        labels: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.source = source
        self.low, self.high = (float(v) for v in value_range)
        self.labels = {key: torch.as_tensor(np.asarray(v)) for key, v in (labels or {}).items()}
        for key, values in self.labels.items():
            if len(values) != len(source):
                raise ValueError(f"{len(values)} '{key}' labels for {len(source)} images")

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        pixels = torch.from_numpy(np.asarray(self.source[index], dtype=np.float32))
        x = pixels / 255.0 * (self.high - self.low) + self.low  # as to_value_range does
        return {"x": x, **{key: values[index] for key, values in self.labels.items()}}


def source_digest(files: Sequence[Path], options: dict[str, Any]) -> str:
    """A digest of the files (path, size, modification time) and the decoding options."""
    digest = hashlib.sha256(json.dumps(options, sort_keys=True).encode())
    for path in files:
        stat = os.stat(path)
        digest.update(f"{Path(path).resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]


def _stack(images: list[np.ndarray]) -> np.ndarray:
    return np.stack(images)


def cached(
    source: ImageSource, name: str, digest: str, cache_dir: str | Path = "", workers: int = 0
) -> MemmapImages:
    """``source`` decoded once into ``<cache_dir>/<name>-<digest>.npy`` (uint8 ``(N, C, H,
    W)``) and mapped from there; an existing file of that name is mapped without decoding.

    The file is written under a temporary name and renamed when complete, so an interrupted
    decoding leaves no file that a later run would take for a cache. ``workers`` processes
    decode (0: this process).
    """
    folder = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    path = folder / f"{name}-{digest}.npy"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        first = np.asarray(source[0], dtype=np.uint8)
        temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            array = np.lib.format.open_memmap(
                temporary, mode="w+", dtype=np.uint8, shape=(len(source), *first.shape)
            )
            loader = DataLoader(
                source, batch_size=64, num_workers=workers, collate_fn=_stack  # type: ignore[arg-type]
            )
            start = 0
            for batch in loader:
                array[start : start + len(batch)] = batch
                start += len(batch)
            array.flush()
            del array
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    array = np.load(path, mmap_mode="r")
    offset = array.offset
    return MemmapImages(path, array.shape[0], tuple(array.shape[1:]), (0, 1, 2), offset)


class CacheOptions(Protocol):
    """The cache keys of a streamed dataset's Config."""

    cache: bool
    cache_dir: str
    cache_workers: int


def stream_or_cache(
    source: ImageSource, options: CacheOptions, *, name: str, files: Sequence[Path],
    pixel_options: dict[str, Any],
) -> ImageSource:
    """``source`` itself, streamed, or with ``options.cache`` set, ``source`` decoded once into
    the cache by :func:`cached` under ``name`` and the digest of ``files`` and ``pixel_options``
    (the options that shape the pixels)."""
    if not options.cache:
        return source
    digest = source_digest(files, pixel_options)
    return cached(source, name, digest, options.cache_dir, options.cache_workers)
