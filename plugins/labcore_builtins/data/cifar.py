"""CIFAR-10 and CIFAR-100 (Krizhevsky 2009) from their official archives, in either version.

32x32 colour images: 50,000 for training and 10,000 for testing, in 10 classes (CIFAR-10) or in
100 fine classes grouped into 20 coarse ones (CIFAR-100). Both are distributed at
https://www.cs.toronto.edu/~kriz/cifar.html in two versions, and ``data.root`` may name the
folder of either, the folder holding that folder, or the ``.tar.gz`` archive itself (read with
:mod:`tarfile`, nothing extracted):

- python: ``cifar-10-batches-py/`` (``data_batch_1`` .. ``data_batch_5``, ``test_batch``,
  ``batches.meta``) and ``cifar-100-python/`` (``train``, ``test``, ``meta``), pickled dicts
  read with :mod:`labcore_builtins.data.restricted_pickle` and :data:`CIFAR_PICKLE`, which
  builds numpy arrays, lists and dicts only and runs no code named in the file;
- binary: ``cifar-10-batches-bin/`` (``data_batch_1.bin`` .. ``test_batch.bin``,
  ``batches.meta.txt``) and ``cifar-100-binary/`` (``train.bin``, ``test.bin``,
  ``fine_label_names.txt``, ``coarse_label_names.txt``), fixed-size records of the label byte(s)
  then 3,072 pixel bytes.

Either way an image is 3,072 bytes, channel first: the 1,024 red values of the 32x32 image in
row-major order, then the green, then the blue ones.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

import labcore
from labcore.data import DataError
from labcore_builtins.data.archive import FolderFiles, TarFiles
from labcore_builtins.data.preprocess import ImageConfig, to_value_range
from labcore_builtins.data.restricted_pickle import (
    CONTAINERS,
    NUMPY_ARRAYS,
    NUMPY_BUFFERS,
    AllowList,
    load_restricted_pickle,
)
from labcore_builtins.data.splits import stratified_split, tensor_splits

IMAGE_BYTES = 3 * 32 * 32
SOURCE = "https://www.cs.toronto.edu/~kriz/cifar.html"
#: What the python version's pickles hold (and numpy writes under any protocol).
CIFAR_PICKLE = AllowList(
    {**NUMPY_ARRAYS, **NUMPY_BUFFERS, **CONTAINERS},
    "numpy arrays, lists, dicts, bytes, str and int",
)


@dataclasses.dataclass(frozen=True)
class Layout:
    """One version of one CIFAR archive: where its files are and how they are read."""

    folder: str
    archive: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    meta: tuple[str, ...]
    binary: bool

    def files(self) -> list[str]:
        return [*self.train, *self.test, *self.meta]

    def describe(self) -> str:
        return f"{self.folder}/ ({', '.join(self.files())}) or {self.archive}"


CIFAR10_LAYOUTS = (
    Layout(
        "cifar-10-batches-py", "cifar-10-python.tar.gz",
        tuple(f"data_batch_{i}" for i in range(1, 6)), ("test_batch",), ("batches.meta",),
        binary=False,
    ),
    Layout(
        "cifar-10-batches-bin", "cifar-10-binary.tar.gz",
        tuple(f"data_batch_{i}.bin" for i in range(1, 6)), ("test_batch.bin",),
        ("batches.meta.txt",), binary=True,
    ),
)  # fmt: skip
CIFAR100_LAYOUTS = (
    Layout("cifar-100-python", "cifar-100-python.tar.gz", ("train",), ("test",), ("meta",), False),
    Layout(
        "cifar-100-binary", "cifar-100-binary.tar.gz", ("train.bin",), ("test.bin",),
        ("fine_label_names.txt", "coarse_label_names.txt"), binary=True,
    ),
)  # fmt: skip


def locate(root: str | Path, layouts: tuple[Layout, ...]) -> tuple[FolderFiles | TarFiles, Layout]:
    """The files of the first of ``layouts`` found at ``root``: the archive itself, the
    archive's folder, or the folder holding either.

    Raises FileNotFoundError naming the files expected and where they come from.
    """
    root = Path(root)
    candidates: list[tuple[FolderFiles | TarFiles, Layout]] = []
    for layout in layouts:
        if root.is_file() and root.name == layout.archive:
            candidates.append((TarFiles(root, layout.folder), layout))
        elif root.is_dir():
            candidates.append((FolderFiles(root), layout))
            if (root / layout.folder).is_dir():
                candidates.append((FolderFiles(root / layout.folder), layout))
            if (root / layout.archive).is_file():
                candidates.append((TarFiles(root / layout.archive, layout.folder), layout))
    if root.is_file() and not candidates:
        raise FileNotFoundError(
            f"data.root {root} is a file but not one of the archives "
            f"{', '.join(layout.archive for layout in layouts)} (from {SOURCE}); "
            "set data.root to the archive or its folder"
        )
    for files, layout in candidates:
        if all(files.has(name) for name in layout.files()):
            return files, layout
    partial = [
        (files, layout) for files, layout in candidates
        if any(files.has(name) for name in layout.files())
    ]  # fmt: skip
    if partial:
        files, layout = partial[0]
        missing = [name for name in layout.files() if not files.has(name)]
        where = files.label("")
        raise FileNotFoundError(
            f"{where} lacks {', '.join(missing)} of {layout.describe()}; it is incomplete, "
            f"replace it with the archive from {SOURCE}"
        )
    where = f"{root} holds" if root.is_dir() else f"data folder {root} does not exist; expected"
    raise FileNotFoundError(
        f"{where} none of {'; '.join(layout.describe() for layout in layouts)} "
        f"(the CIFAR archives from {SOURCE}); put one there or set data.root to it"
    )


def _check_images(data: object, label: str) -> np.ndarray:
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or (
        data.shape[1] != IMAGE_BYTES
    ):
        found = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data)
        raise DataError(
            f"{label}: 'data' is {found}, expected uint8 rows of {IMAGE_BYTES} bytes; "
            f"replace the file with the original from {SOURCE}"
        )
    return data


def read_pickle(content: bytes, label: str) -> Any:
    """The object pickled in ``content`` (the file or member ``label``), strings of Python 2 kept
    as bytes, built from :data:`CIFAR_PICKLE`'s types only."""
    return load_restricted_pickle(io.BytesIO(content), label, CIFAR_PICKLE, encoding="bytes")


def read_python_batch(content: bytes, label: str, label_keys: tuple[str, ...]) -> tuple[
    np.ndarray, dict[str, np.ndarray]
]:
    """Images ``(N, 3072)`` uint8 and the labels under each of ``label_keys`` of one pickled
    batch."""
    batch = read_pickle(content, label)
    if not isinstance(batch, dict):
        raise DataError(f"{label} holds a {type(batch).__name__}, not a CIFAR batch dict")
    keys = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    data = _check_images(keys.get("data"), label)
    labels = {}
    for key in label_keys:
        values = keys.get(key)
        try:
            array = np.asarray(values, dtype=np.int64)
        except (TypeError, ValueError):
            array = np.empty(0)
        if values is None or array.shape != (len(data),):
            raise DataError(
                f"{label}: expected {len(data)} integer labels under '{key}'; "
                f"replace the file with the original from {SOURCE}"
            )
        labels[key] = array
    return data, labels


def read_binary_batch(content: bytes, label: str, label_keys: tuple[str, ...]) -> tuple[
    np.ndarray, dict[str, np.ndarray]
]:
    """Images ``(N, 3072)`` uint8 and the labels of one binary file, whose records are one byte
    per key of ``label_keys`` (in that order) then the image."""
    record = len(label_keys) + IMAGE_BYTES
    if len(content) % record:
        raise DataError(
            f"{label}: {len(content)} bytes are not a whole number of {record}-byte records; "
            f"the file is truncated, replace it with the original from {SOURCE}"
        )
    records = np.frombuffer(content, dtype=np.uint8).reshape(-1, record)
    labels = {key: records[:, i].astype(np.int64) for i, key in enumerate(label_keys)}
    return records[:, len(label_keys):], labels


def read_names(files: FolderFiles | TarFiles, layout: Layout, content: dict[str, bytes],
               key: str) -> list[str]:
    """Class names: from the pickled meta dict's ``<key>_names``, or the text file
    ``<key>_names.txt`` (``batches.meta.txt`` for CIFAR-10), one name a line."""
    if layout.binary:
        name = "batches.meta.txt" if "batches.meta.txt" in layout.meta else f"{key}_names.txt"
        lines = content[name].decode("utf-8", errors="replace").splitlines()
        return [line.strip() for line in lines if line.strip()]
    meta_name = layout.meta[0]
    meta = read_pickle(content[meta_name], files.label(meta_name))
    names = meta.get(f"{key}_names".encode()) if isinstance(meta, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, (bytes, str)) for n in names):
        raise DataError(
            f"{files.label(meta_name)} has no list '{key}_names'; replace the file with the "
            f"original from {SOURCE}"
        )
    return [n.decode("utf-8") if isinstance(n, bytes) else n for n in names]


def load_cifar(
    root: str | Path, layouts: tuple[Layout, ...], label_keys: tuple[str, ...], label_key: str,
    names_key: str,
) -> tuple[dict[str, tuple[torch.Tensor, torch.Tensor]], list[str]]:
    """The train and test images of the archive at ``root``, as float32 ``(N, 3, 32, 32)`` in
    ``[0, 1]`` with int64 labels (those of ``label_key``), and the class names (``names_key``).

    Raises FileNotFoundError when files are missing, labcore.DataError naming a file that
    cannot be read or holds labels beyond its class names.
    """
    files, layout = locate(root, layouts)
    content = files.read_many(layout.files())
    class_names = read_names(files, layout, content, names_key)
    read = read_binary_batch if layout.binary else read_python_batch
    result = {}
    for split, names in (("train", layout.train), ("test", layout.test)):
        images, labels = [], []
        for name in names:
            data, batch_labels = read(content.pop(name), files.label(name), label_keys)
            y = batch_labels[label_key]
            if len(y) and (y.min() < 0 or y.max() >= len(class_names)):
                raise DataError(
                    f"{files.label(name)}: label {int(y.max())} is outside "
                    f"0..{len(class_names) - 1} (the {len(class_names)} class names); "
                    f"replace the file with the original from {SOURCE}"
                )
            images.append(data)
            labels.append(y)
        pixels = np.concatenate(images).reshape(-1, 3, 32, 32)
        x = torch.from_numpy(pixels.astype(np.float32) / 255.0)
        result[split] = (x, torch.from_numpy(np.concatenate(labels)))
    return result, class_names


@dataclasses.dataclass(kw_only=True)
class CifarConfig(ImageConfig):
    root: str = labcore.hp(
        doc="the python or binary version: its folder, the folder holding it, or the .tar.gz",
        path=True,
    )
    train_size: int = labcore.hp(0, "training examples; 0 takes all that remain")
    val_size: int = labcore.hp(5000, "validation examples, drawn from the 50,000 training images")
    test_size: int = labcore.hp(0, "test examples; 0 takes all 10,000 test images")
    split_seed: int = labcore.hp(0, "seed of the fixed stratified split")

    def __post_init__(self) -> None:
        super().__post_init__()
        if min(self.train_size, self.val_size, self.test_size) < 0:
            raise ValueError("train_size, val_size and test_size must not be negative")


@dataclasses.dataclass(kw_only=True)
class Cifar100Config(CifarConfig):
    labels: Literal["fine", "coarse"] = labcore.hp(
        "fine", "fine: the 100 classes; coarse: the 20 superclasses"
    )


class Cifar10(labcore.Dataset):
    """CIFAR-10 (Krizhevsky 2009): 32x32 colour images, 10 classes, from the local archive."""

    name = "cifar10"
    Config = CifarConfig
    layouts = CIFAR10_LAYOUTS

    def label_keys(self) -> tuple[tuple[str, ...], str, str]:
        """The labels of a record, the one used, and the meta key of the class names."""
        return ("labels",), "labels", "label"

    def load(self) -> labcore.DataBundle:
        config = self.config
        label_keys, label_key, names_key = self.label_keys()
        data, class_names = load_cifar(config.root, self.layouts, label_keys, label_key, names_key)
        (x, y), (x_test, y_test) = data["train"], data["test"]
        if config.test_size:
            if config.test_size > len(y_test):
                raise ValueError(f"test_size {config.test_size} exceeds the {len(y_test)} images")
            keep = stratified_split(y_test, {"test": config.test_size}, config.split_seed)["test"]
            x_test, y_test = x_test[keep], y_test[keep]
        sizes = {"val": config.val_size, "train": config.train_size or None}
        indices = stratified_split(y, sizes, config.split_seed)
        splits = tensor_splits(indices, x=to_value_range(x, config.value_range), y=y)
        splits["test"] = labcore.TensorSplit(x=to_value_range(x_test, config.value_range), y=y_test)
        info = {
            "shape": (3, 32, 32),
            "num_classes": len(class_names),
            "value_range": tuple(config.value_range),
            "class_names": class_names,
        }
        return labcore.DataBundle(splits=splits, info=info)


class Cifar100(Cifar10):
    """CIFAR-100 (Krizhevsky 2009): 32x32 colour images, 100 fine or 20 coarse classes."""

    name = "cifar100"
    Config = Cifar100Config
    layouts = CIFAR100_LAYOUTS

    def label_keys(self) -> tuple[tuple[str, ...], str, str]:
        key = f"{self.config.labels}_labels"
        return ("coarse_labels", "fine_labels"), key, self.config.labels + "_label"
