"""STL-10 (Coates, Ng and Lee 2011) from its binary files, read in place without loading them.

96x96 colour images in 10 classes: 5,000 labelled training images, 8,000 test images and
100,000 unlabelled ones (for unsupervised and generative learning), distributed at
https://cs.stanford.edu/~acoates/stl10/ as ``stl10_binary.tar.gz``. ``data.root`` names the
extracted folder ``stl10_binary/`` or the folder holding it::

    train_X.bin  train_y.bin  test_X.bin  test_y.bin  unlabeled_X.bin  class_names.txt

An ``*_X.bin`` file is 27,648 bytes an image, channel first and column-major (the layout of
MATLAB, which wrote them): the 9,216 red values column by column, then green, then blue. A
``*_y.bin`` file is one byte a label, 1 to 10. The image files are mapped into memory
(:class:`labcore_builtins.data.streaming.MemmapImages`), so every split streams through the
DataLoader; ``size`` below 96 resizes each image as it is read, or once into the cache.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image

import labcore
from labcore.data import DataError
from labcore_builtins.data.preprocess import ImageConfig
from labcore_builtins.data.splits import stratified_split
from labcore_builtins.data.streaming import (
    ImageItems,
    ImageSource,
    MemmapImages,
    Subset,
    stream_or_cache,
)

SIDE = 96
IMAGE_BYTES = 3 * SIDE * SIDE
SOURCE = "https://cs.stanford.edu/~acoates/stl10/ (stl10_binary.tar.gz, extracted)"
FOLDER = "stl10_binary"


def find_stl10(root: str | Path, names: list[str]) -> Path:
    """The folder holding ``names``: ``root`` or ``root/stl10_binary``.

    Raises FileNotFoundError naming the missing files and where they come from.
    """
    root = Path(root)
    folders = [root, root / FOLDER]
    for folder in folders:
        if all((folder / name).is_file() for name in names):
            return folder
    folder = next((f for f in reversed(folders) if f.is_dir()), None)
    if folder is None:
        raise FileNotFoundError(
            f"data folder {root} does not exist; expected {FOLDER}/ with {', '.join(names)} "
            f"from {SOURCE}; set data.root to it"
        )
    missing = [name for name in names if not (folder / name).is_file()]
    raise FileNotFoundError(
        f"{folder} lacks {', '.join(missing)} of STL-10's binary files, which come from "
        f"{SOURCE}; put them there or set data.root to the folder {FOLDER}/"
    )


def stl10_images(path: Path) -> MemmapImages:
    """The images of an ``*_X.bin`` file, mapped, as uint8 ``(3, 96, 96)``: each stored record
    ``(3, W, H)`` has its last two axes swapped."""
    size = path.stat().st_size
    if size % IMAGE_BYTES:
        raise DataError(
            f"{path}: {size} bytes are not a whole number of {IMAGE_BYTES}-byte images; the "
            f"file is truncated, replace it with the original from {SOURCE}"
        )
    return MemmapImages(path, size // IMAGE_BYTES, (3, SIDE, SIDE), axes=(0, 2, 1))


def stl10_labels(path: Path, count: int) -> np.ndarray:
    """The labels of a ``*_y.bin`` file, 0 to 9 (stored 1 to 10), one for each of ``count``
    images."""
    labels = np.fromfile(path, dtype=np.uint8).astype(np.int64) - 1
    if len(labels) != count:
        raise DataError(
            f"{path} holds {len(labels)} labels for {count} images; replace it with the "
            f"original from {SOURCE}"
        )
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise DataError(
            f"{path}: labels must be 1 to 10, found {int(labels.min()) + 1} to "
            f"{int(labels.max()) + 1}; replace it with the original from {SOURCE}"
        )
    return labels


class Resized:
    """The images of ``source`` resized to ``size`` x ``size`` (bilinear, antialiased)."""

    def __init__(self, source: ImageSource, size: int) -> None:
        self.source = source
        self.size = size

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> np.ndarray:
        image = Image.fromarray(self.source[index].transpose(1, 2, 0))
        image = image.resize((self.size, self.size), Image.Resampling.BILINEAR)
        return np.asarray(image).transpose(2, 0, 1)


@dataclasses.dataclass(kw_only=True)
class Stl10Config(ImageConfig):
    root: str = labcore.hp(doc=f"the folder {FOLDER}/ or the folder holding it", path=True)
    unlabeled: Literal["exclude", "only", "include"] = labcore.hp(
        "exclude",
        "the 100,000 unlabelled images: exclude; only (they are the train split); include "
        "(added to the labelled train split, whose batches then carry no y)",
    )
    size: int = labcore.hp(SIDE, "image side; below 96 each image is resized (bilinear)")
    val_size: int = labcore.hp(500, "validation images, drawn from the 5,000 labelled ones")
    split_seed: int = labcore.hp(0, "seed of the fixed stratified validation split")
    cache: bool = labcore.hp(False, "resize once into a uint8 file in cache_dir (size < 96)")
    cache_dir: str = labcore.hp(
        "", "cache folder ('': $LABCORE_CACHE_DIR/data or ~/.cache/labcore/data)", path=True
    )
    cache_workers: int = labcore.hp(2, "processes resizing the images while the cache is built")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.size <= SIDE:
            raise ValueError(f"size {self.size} must be between 1 and {SIDE}")
        if self.val_size < 0 or self.cache_workers < 0:
            raise ValueError("val_size and cache_workers must not be negative")


class Stl10(labcore.Dataset):
    """STL-10 (Coates et al. 2011): 96x96 colour images, 10 classes, 100,000 unlabelled, from
    the local binary files, streamed."""

    name = "stl10"
    Config = Stl10Config

    def load(self) -> labcore.DataBundle:
        config = self.config
        names = ["train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin", "class_names.txt"]
        if config.unlabeled != "exclude":
            names.append("unlabeled_X.bin")
        folder = find_stl10(config.root, names)
        class_names = [
            line.strip() for line in (folder / "class_names.txt").read_text().splitlines()
            if line.strip()
        ]  # fmt: skip
        if len(class_names) != 10:
            raise DataError(
                f"{folder / 'class_names.txt'} names {len(class_names)} classes, not 10; "
                f"replace it with the original from {SOURCE}"
            )
        train, test = (self.source(folder, f"{part}_X.bin") for part in ("train", "test"))
        y_train = stl10_labels(folder / "train_y.bin", len(train))
        y_test = stl10_labels(folder / "test_y.bin", len(test))
        if config.val_size >= len(y_train):
            raise ValueError(f"val_size {config.val_size} leaves none of {len(y_train)} to train")
        index = stratified_split(
            torch.from_numpy(y_train), {"val": config.val_size, "train": None}, config.split_seed
        )
        splits = {}
        for name in ("train", "val"):
            keep = index[name].numpy()
            splits[name] = ImageItems(Subset(train, keep), config.value_range, {"y": y_train[keep]})
        if config.unlabeled != "exclude":
            unlabeled = ImageItems(self.source(folder, "unlabeled_X.bin"), config.value_range)
            if config.unlabeled == "only":
                splits["train"] = unlabeled
            else:
                labelled = ImageItems(splits["train"].source, config.value_range)
                splits["train"] = torch.utils.data.ConcatDataset([labelled, unlabeled])
        splits["test"] = ImageItems(test, config.value_range, {"y": y_test})
        info = {
            "shape": (3, config.size, config.size),
            "num_classes": 10,
            "value_range": tuple(config.value_range),
            "class_names": class_names,
        }
        item_splits = {name: labcore.ItemSplit(splits[name]) for name in ("train", "val", "test")
                       if len(splits[name])}
        return labcore.DataBundle(splits=item_splits, info=info)

    def source(self, folder: Path, name: str) -> ImageSource:
        """The images of ``folder/name`` at the configured size (resized, maybe cached)."""
        images = stl10_images(folder / name)
        size = self.config.size
        if size == SIDE:
            return images
        return stream_or_cache(
            Resized(images, size), self.config, name=f"stl10-{Path(name).stem}-{size}",
            files=[folder / name], pixel_options={"size": size, "resize": "bilinear"},
        )
