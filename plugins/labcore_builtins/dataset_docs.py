"""The table of every installed dataset's batch keys and ``info`` keys (docs/plugins.md), made by
loading each dataset: with its defaults, or, for the built-in datasets that read local files, from
the smallest files of the real format written into a temporary folder. So the table says what a
model really receives, and a test keeps docs/plugins.md equal to it. Print it with
``python -m labcore_builtins.dataset_docs``."""

from __future__ import annotations

import collections
import gzip
import pickle
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from labcore.data import DataBundle, FullBatch, ItemSplit, TensorSplit
from labcore.plugins import PluginManager
from labcore.schema import build

Sample = Callable[[Path], dict[str, Any]]
"""Writes tiny files of a dataset's format under a folder; returns the ``[data]`` keys to read
them."""


def _png(path: Path, pixels: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def _pixels(*shape: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)


def _idx(folder: Path) -> dict[str, Any]:
    """The four MNIST IDX files (big-endian header, uint8 data), 20 images of 28x28 each."""
    folder.mkdir(parents=True, exist_ok=True)
    for prefix in ("train", "t10k"):
        for kind, array in (("images", _pixels(20, 28, 28)), ("labels", np.arange(20) % 10)):
            array = array.astype(np.uint8)
            header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            name = f"{prefix}-{kind}-idx{array.ndim}-ubyte.gz"
            (folder / name).write_bytes(gzip.compress(header + array.tobytes()))
    return {"root": str(folder), "val_size": 10, "test_size": 10}


def _image_folder(folder: Path) -> dict[str, Any]:
    for label in ("a", "b"):
        for i in range(5):
            _png(folder / label / f"{i}.png", _pixels(8, 8, 3))
    return {"root": str(folder)}


def _paired_folder(folder: Path) -> dict[str, Any]:
    for i in range(10):
        _png(folder / f"{i}.png", _pixels(8, 16, 3))
    return {"root": str(folder)}


def _cifar(classes: int) -> Sample:
    def write(folder: Path) -> dict[str, Any]:
        """The binary version: per image its label byte(s), then 3072 pixel bytes."""
        folder.mkdir(parents=True, exist_ok=True)
        labels = np.arange(20, dtype=np.uint8)[:, None] % 10
        if classes == 10:
            names = [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]
            (folder / "batches.meta.txt").write_text("\n".join(map(str, range(10))) + "\n")
        else:
            names, labels = ["train", "test"], np.concatenate([labels // 5, labels], 1)
            for key, count in (("fine", 100), ("coarse", 20)):
                (folder / f"{key}_label_names.txt").write_text("\n".join(map(str, range(count))))
        for name in names:
            records = np.concatenate([labels, _pixels(20, 3072)], 1)
            (folder / f"{name}.bin").write_bytes(records.tobytes())
        return {"root": str(folder), "val_size": 5}

    return write


def _stl10(root: Path) -> dict[str, Any]:
    folder = root / "stl10_binary"
    folder.mkdir(parents=True, exist_ok=True)
    for part, n in (("train", 20), ("test", 10), ("unlabeled", 4)):
        (folder / f"{part}_X.bin").write_bytes(_pixels(n, 3, 96, 96).tobytes())
        if part != "unlabeled":
            (folder / f"{part}_y.bin").write_bytes((np.arange(n) % 10 + 1).astype(np.uint8))
    (folder / "class_names.txt").write_text("\n".join(f"class{i}" for i in range(10)) + "\n")
    return {"root": str(root), "val_size": 5}


def _celeba(root: Path) -> dict[str, Any]:
    lines, parts = ["12", "Male Smiling"], []
    for i in range(12):
        name = f"{i + 1:06d}.png"
        _png(root / "img_align_celeba" / name, _pixels(218, 178, 3))
        lines.append(f"{name} {1 if i % 2 else -1} {1 if i % 3 else -1}")
        parts.append(f"{name} {0 if i < 8 else 1 if i < 10 else 2}")
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    (root / "list_eval_partition.txt").write_text("\n".join(parts) + "\n")
    return {"root": str(root), "size": 8, "attributes": ["Male"]}


def _planetoid(folder: Path) -> dict[str, Any]:
    """Kipf's raw files of a 530-node ring: the standard split takes 500 validation nodes."""
    import scipy.sparse

    folder.mkdir(parents=True, exist_ok=True)
    train, labelled, test = 6, 520, 10
    n = labelled + test
    features = scipy.sparse.csr_matrix((np.arange(n * 5).reshape(n, 5) % 3 == 0).astype(np.float32))
    labels = np.eye(3, dtype=np.int32)[np.arange(n) % 3]
    graph = collections.defaultdict(list, {i: [(i + 1) % n, (i - 1) % n] for i in range(n)})
    parts = {
        "x": features[:train], "y": labels[:train], "allx": features[:labelled],
        "ally": labels[:labelled], "tx": features[labelled:], "ty": labels[labelled:],
        "graph": graph,
    }  # fmt: skip
    for part, value in parts.items():
        (folder / f"ind.cora.{part}").write_bytes(pickle.dumps(value, protocol=2))
    (folder / "ind.cora.test.index").write_text("\n".join(map(str, range(labelled, n))) + "\n")
    return {"root": str(folder)}


SAMPLES: dict[str, Sample] = {
    "mnist": _idx,
    "fashion-mnist": _idx,
    "seq-mnist": _idx,
    "image-folder": _image_folder,
    "paired-folder": _paired_folder,
    "cifar10": _cifar(10),
    "cifar100": _cifar(100),
    "stl10": _stl10,
    "celeba": _celeba,
    "planetoid": _planetoid,
}
"""The built-in datasets that read local files, and how to write tiny files of their format."""


def load_tiny(cls: type, folder: Path) -> DataBundle:
    """``cls`` loaded with its defaults, or from tiny files written under ``folder``."""
    section = SAMPLES[cls.name](folder) if cls.name in SAMPLES else {}
    return cls(build(cls.Config, section, "data")).load()


def _describe(value: Any) -> str:
    if not isinstance(value, torch.Tensor):
        return type(value).__name__
    dtype = str(value.dtype).removeprefix("torch.")
    return f"sparse {dtype}" if value.layout != torch.strided else dtype


def batch_keys(split: Any) -> tuple[str, dict[str, str]]:
    """The kind of ``split`` and what a batch of it holds: key -> dtype (sparse ones marked)."""
    if isinstance(split, TensorSplit):
        return "tensors", {key: _describe(t) for key, t in split.tensors.items()}
    if isinstance(split, FullBatch):
        data = split.data
        return "whole graph", {key: _describe(data[key]) for key in sorted(data.keys())}
    if isinstance(split, ItemSplit):
        items = [split.dataset[i] for i in range(min(2, len(split.dataset)))]
        batch = (split.collate or torch.utils.data.default_collate)(items)
        keys = sorted(batch.keys()) if not isinstance(batch, dict) else list(batch)
        return "items", {key: _describe(batch[key]) for key in keys}
    raise TypeError(f"unknown split type {type(split).__name__}")


def rows(manager: PluginManager) -> list[list[str]]:
    """One row per installed dataset: name, plugin, split kind, batch keys, info keys."""
    table = []
    for name in manager.names("dataset"):
        cls = manager.get("dataset", name)
        with tempfile.TemporaryDirectory() as folder:
            bundle = load_tiny(cls, Path(folder))
            kind, keys = batch_keys(bundle.split("train"))
        batch = ", ".join(f"`{key}` {dtype}" for key, dtype in keys.items())
        info = ", ".join(f"`{key}`" for key in sorted(bundle.info))
        table.append([f"`{name}`", manager.provider("dataset", name).name, kind, batch, info])
    return table


def keys_markdown(manager: PluginManager) -> str:
    """The Markdown table of :func:`rows`."""
    lines = ["| dataset | plugin | batch | batch keys (dtype) | info keys |", "| --- " * 5 + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows(manager)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from labcore.plugins import get_manager

    print(keys_markdown(get_manager()), end="")
