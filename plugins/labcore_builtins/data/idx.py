"""MNIST and Fashion-MNIST from IDX files (gzip or raw) in a local folder.

The IDX format (LeCun et al., "The MNIST database of handwritten digits") is a big-endian header,
``0x00 0x00 <type code> <number of dimensions>``, one 32-bit size per dimension, then the values
in C order. Both datasets ship as four such files with the same names::

    train-images-idx3-ubyte[.gz]  train-labels-idx1-ubyte[.gz]   60,000 training images
    t10k-images-idx3-ubyte[.gz]   t10k-labels-idx1-ubyte[.gz]    10,000 test images

Nothing is downloaded: ``root`` must hold the files already.
"""

from __future__ import annotations

import dataclasses
import gzip
import math
import struct
import zlib
from pathlib import Path
from typing import Literal

import numpy as np
import torch

import labcore
from labcore.data import DataError
from labcore_builtins.data.digits import DIGIT_NAMES
from labcore_builtins.data.preprocess import ImageConfig, to_value_range
from labcore_builtins.data.splits import stratified_split, tensor_splits

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "t10k": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FASHION_NAMES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in the IDX file ``path``, gzip-compressed (detected by content) or raw.

    Raises labcore.DataError (a ValueError) naming the file when it is not a complete IDX file.
    """
    path = Path(path)
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: corrupt gzip data ({exc}); replace the file") from exc
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] not in IDX_TYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number {data[:4].hex()})")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header; replace the file")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(IDX_TYPES[data[2]])
    expected = header + math.prod(shape) * dtype.itemsize
    if len(data) != expected:
        raise DataError(
            f"{path}: an IDX array of shape {shape} takes {expected} bytes, the file has "
            f"{len(data)}; it is truncated or corrupt, replace it"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def find_idx_file(root: Path, stem: str) -> Path | None:
    """``root/stem.gz`` or else ``root/stem``, whichever exists, or None."""
    for candidate in (root / f"{stem}.gz", root / stem):
        if candidate.is_file():
            return candidate
    return None


def idx_files(root: str | Path, prefixes: list[str]) -> dict[str, tuple[Path, Path]]:
    """The (images, labels) files of each prefix ("train", "t10k") under ``root``.

    Raises FileNotFoundError naming every missing file when any is missing.
    """
    root = Path(root)
    found = {prefix: [find_idx_file(root, stem) for stem in FILES[prefix]] for prefix in prefixes}
    missing = [
        f"{stem}.gz"
        for prefix in prefixes
        for stem, path in zip(FILES[prefix], found[prefix], strict=True)
        if path is None
    ]
    if missing:
        where = f"{root} lacks" if root.is_dir() else f"data folder {root} does not exist; expected"
        raise FileNotFoundError(
            f"{where} {', '.join(missing)} (gzip, or uncompressed without .gz); "
            "put the IDX files there or set data.root to the folder that holds them"
        )
    return {prefix: (paths[0], paths[1]) for prefix, paths in found.items()}


def load_idx_images(
    root: str | Path, prefix: str, num_classes: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images and labels of one file pair under ``root``, ``prefix`` "train" or "t10k".

    Returns images ``(N, 1, H, W)`` float32 in ``[0, 1]`` and labels ``(N,)`` int64. Raises
    labcore.DataError naming the file when the images are not bytes, or when a label falls
    outside ``[0, num_classes)`` (a model's output has one entry per class: a label past the
    last would fail in the middle of training).
    """
    image_path, label_path = idx_files(root, [prefix])[prefix]
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(
            f"{image_path} has shape {images.shape} and {label_path} {labels.shape}; "
            "expected (N, H, W) images and (N,) labels of the same N"
        )
    if images.dtype != np.uint8:
        raise DataError(
            f"{image_path} holds {images.dtype} values; MNIST images are unsigned bytes "
            "(IDX type 0x08), replace the file"
        )
    if labels.dtype.kind not in "iu":
        raise DataError(f"{label_path} holds {labels.dtype} labels; expected integers")
    if num_classes is not None and len(labels):
        bad = (labels < 0) | (labels >= num_classes)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{label_path}: label {int(labels[first])} of example {first} is outside "
                f"0..{num_classes - 1} ({int(bad.sum())} such labels); the dataset has "
                f"{num_classes} classes, replace the file"
            )
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return x, torch.from_numpy(labels.astype(np.int64))


@dataclasses.dataclass(kw_only=True)
class IdxConfig(ImageConfig):
    root: str = labcore.hp(doc="folder holding the IDX files, gzip or raw", path=True)
    source: Literal["standard", "test-files"] = labcore.hp(
        "standard",
        "standard: train and val from the train-* files, test from t10k-*; "
        "test-files: train, val and test all drawn from the t10k-* files alone",
    )
    train_size: int = labcore.hp(0, "training examples; 0 takes all that remain")
    val_size: int = labcore.hp(5000, "validation examples, drawn before train; 0: no val split")
    test_size: int = labcore.hp(
        0, "test examples; 0 takes all t10k images (source = standard only)"
    )
    split_seed: int = labcore.hp(0, "seed of the fixed stratified split")
    size: int = labcore.hp(
        0, "pad the images evenly with background to size x size (32: LeNet-5's input); 0: as read"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.size < 0:
            raise ValueError(f"size {self.size}: use 0 (as read) or a side such as 32")
        if min(self.train_size, self.val_size, self.test_size) < 0:
            raise ValueError("train_size, val_size and test_size must not be negative")
        if self.source == "test-files" and self.test_size == 0:
            raise ValueError("source = 'test-files' needs test_size > 0 (e.g. 2000)")


class Mnist(labcore.Dataset):
    """MNIST handwritten digits (LeCun et al. 1998), 28x28, 10 classes, from local IDX files.

    ``size = 32`` pads every image with two background pixels a side, the 32x32 of LeNet-5
    (LeCun et al. 1998, section II.B); with ``source = "test-files"``, ``test_size = 2000``,
    ``val_size = 0`` and ``train_size = 8000`` the 10,000 t10k images give the 8,000 / 2,000
    train/test split of the 32x32 generative recipes.
    """

    name = "mnist"
    Config = IdxConfig
    class_names = DIGIT_NAMES

    def load(self) -> labcore.DataBundle:
        bundle = self.load_unpadded()
        size, (height, width) = self.config.size, bundle.info["shape"][1:]
        if not size or size == height == width:
            return bundle
        if min(size - height, size - width) < 0 or (size - height) % 2 or (size - width) % 2:
            raise ValueError(
                f"size {size}: the {height}x{width} images are padded evenly on every side, so "
                "size must exceed both sides by an even number (e.g. 32 for MNIST's 28x28)"
            )
        pad_x, pad_y = (size - width) // 2, (size - height) // 2
        low = float(self.config.value_range[0])
        for name, split in bundle.splits.items():
            x = torch.nn.functional.pad(split["x"], (pad_x, pad_x, pad_y, pad_y), value=low)
            bundle.splits[name] = labcore.TensorSplit(x=x, y=split["y"])
        bundle.info["shape"] = (1, size, size)
        return bundle

    def load_unpadded(self) -> labcore.DataBundle:
        config = self.config
        train_size = config.train_size or None
        if config.source == "standard":
            idx_files(config.root, ["train", "t10k"])
            x, y = load_idx_images(config.root, "train", len(self.class_names))
            x_test, y_test = load_idx_images(config.root, "t10k", len(self.class_names))
            if config.test_size:
                keep = stratified_split(y_test, {"test": config.test_size}, config.split_seed)
                x_test, y_test = x_test[keep["test"]], y_test[keep["test"]]
            sizes = {"val": config.val_size, "train": train_size}
        else:
            x, y = load_idx_images(config.root, "t10k", len(self.class_names))
            sizes = {"test": config.test_size, "val": config.val_size, "train": train_size}
        indices = stratified_split(y, sizes, config.split_seed)
        splits = tensor_splits(indices, x=to_value_range(x, config.value_range), y=y)
        if config.source == "standard":
            splits["test"] = labcore.TensorSplit(
                x=to_value_range(x_test, config.value_range), y=y_test
            )
        info = {
            "shape": tuple(x.shape[1:]),
            "num_classes": len(self.class_names),
            "value_range": tuple(config.value_range),
            "class_names": list(self.class_names),
        }
        return labcore.DataBundle(splits=splits, info=info)


class FashionMnist(Mnist):
    """Fashion-MNIST clothing images (Xiao et al. 2017), 28x28, 10 classes, from local IDX files."""

    name = "fashion-mnist"
    class_names = FASHION_NAMES
