"""CelebA (Liu et al., "Deep Learning Face Attributes in the Wild", ICCV 2015), aligned faces.

202,599 face images of 178x218 pixels with 40 binary attributes each, distributed at
https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html. ``data.root`` is the folder holding (directly,
or in the sub-folders ``Img/``, ``Anno/`` and ``Eval/`` of the distribution)::

    img_align_celeba/000001.jpg ...   the aligned and cropped images
    list_attr_celeba.txt              the image count, the 40 attribute names, then a line per
                                      image: its file name and 40 values of 1 or -1
    list_eval_partition.txt           (optional) a line per image: its file name and 0 (train),
                                      1 (val) or 2 (test); without it the split is drawn

Each image is centre-cropped to ``crop`` x ``crop`` (108 px, the face, as in the DCGAN and
WGAN-GP code, or 140 px, more of the head) and resized to ``size`` (bilinear, antialiased). The
set is too large to hold, so it streams through the DataLoader; ``cache = true`` decodes it once
into a uint8 file (:mod:`labcore_builtins.data.streaming`). ``attributes`` names the attributes
that condition a model: with k of them the class of an image is the number whose bit i is
attribute i (2^k classes, ``y``), and ``attributes`` in each batch is their 0/1 vector.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import labcore
from labcore.data import DataError
from labcore_builtins.data.pixels import read_image
from labcore_builtins.data.preprocess import ImageConfig
from labcore_builtins.data.splits import fraction_sizes, stratified_split
from labcore_builtins.data.streaming import (
    DecodedFiles,
    ImageItems,
    ImageSource,
    Subset,
    stream_or_cache,
)

SOURCE = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"
IMAGES = "img_align_celeba"
ATTRIBUTES = "list_attr_celeba.txt"
PARTITION = "list_eval_partition.txt"
MAX_ATTRIBUTES = 10


def find_file(root: Path, name: str, subfolder: str) -> Path | None:
    """``root/name`` or ``root/subfolder/name``, whichever exists."""
    return next((p for p in (root / name, root / subfolder / name) if p.exists()), None)


def read_attributes(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """File names, attribute names and the ``(N, 40)`` int8 values (1 or -1) of
    ``list_attr_celeba.txt``; DataError naming the line that does not fit."""
    lines = path.read_text().splitlines()
    if len(lines) < 2:
        raise DataError(f"{path} has no header; replace it with the original from {SOURCE}")
    names = lines[1].split()
    files, rows = [], []
    for number, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != len(names) + 1 or not set(fields[1:]) <= {"1", "-1"}:
            raise DataError(
                f"{path}, line {number}: expected a file name and {len(names)} values of 1 or "
                f"-1; replace the file with the original from {SOURCE}"
            )
        files.append(fields[0])
        rows.append([int(v) for v in fields[1:]])
    return files, names, np.array(rows, dtype=np.int8).reshape(len(rows), len(names))


def read_partition(path: Path, files: list[str]) -> np.ndarray:
    """The partition (0 train, 1 val, 2 test) of each of ``files`` from ``path``."""
    partition = {}
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1] in ("0", "1", "2"):
            partition[fields[0]] = int(fields[1])
    missing = [name for name in files if name not in partition]
    if missing:
        raise DataError(
            f"{path} gives no partition for {len(missing)} images ({', '.join(missing[:3])}, "
            f"...); replace it with the original from {SOURCE}, or remove it to draw a split"
        )
    return np.array([partition[name] for name in files], dtype=np.int64)


def decode_face(path: Path, crop: int, size: int) -> np.ndarray:
    """The image at ``path`` centre-cropped to ``crop`` (0: none) and resized to ``size`` x
    ``size``: uint8 ``(3, size, size)``."""
    image = read_image(path)
    if image.mode == "F":  # 16-bit grey, in [0, 1]
        image = Image.fromarray((np.asarray(image) * 255).round().astype(np.uint8))
    image = image.convert("RGB")
    width, height = image.size
    if crop:
        if crop > min(width, height):
            raise DataError(
                f"cannot centre-crop {crop} px from {path} ({width}x{height}); lower data.crop"
            )
        left, top = (width - crop) // 2, (height - crop) // 2
        image = image.crop((left, top, left + crop, top + crop))
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(image).transpose(2, 0, 1).copy()


@dataclasses.dataclass(kw_only=True)
class CelebaConfig(ImageConfig):
    root: str = labcore.hp(doc=f"folder holding {IMAGES}/ and {ATTRIBUTES}", path=True)
    crop: int = labcore.hp(108, "centre crop in pixels before resizing (108 or 140; 0: none)")
    size: int = labcore.hp(64, "image side after resizing")
    attributes: list[str] = labcore.hp(
        [], "attributes that become the class y (2^k classes) and condition vector, e.g. [\"Male\"]"
    )
    val_fraction: float = labcore.hp(0.1, "share for val when list_eval_partition.txt is absent")
    test_fraction: float = labcore.hp(0.1, "share for test when list_eval_partition.txt is absent")
    split_seed: int = labcore.hp(0, "seed of the split drawn without list_eval_partition.txt")
    cache: bool = labcore.hp(False, "decode the images once into a uint8 file in cache_dir")
    cache_dir: str = labcore.hp(
        "", "cache folder ('': $LABCORE_CACHE_DIR/data or ~/.cache/labcore/data)", path=True
    )
    cache_workers: int = labcore.hp(2, "processes decoding the images while the cache is built")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.crop < 0 or self.size < 1:
            raise ValueError("crop must be 0 (none) or positive and size positive")
        if len(self.attributes) > MAX_ATTRIBUTES or len(set(self.attributes)) != len(
            self.attributes
        ):
            raise ValueError(
                f"attributes: name at most {MAX_ATTRIBUTES} different attributes "
                f"(2^{MAX_ATTRIBUTES} classes)"
            )
        if self.cache_workers < 0:
            raise ValueError("cache_workers must not be negative")


def class_names(attributes: list[str]) -> list[str]:
    """The name of each of the 2^k classes: attribute i is present when bit i is set."""
    return [
        ", ".join(name if (c >> i) & 1 else f"not {name}" for i, name in enumerate(attributes))
        for c in range(2 ** len(attributes))
    ]


class Celeba(labcore.Dataset):
    """CelebA aligned faces (Liu et al. 2015), cropped and resized, attributes as classes,
    streamed from the local files."""

    name = "celeba"
    Config = CelebaConfig

    def load(self) -> labcore.DataBundle:
        config = self.config
        root = Path(config.root)
        folder = find_file(root, IMAGES, "Img")
        attribute_file = find_file(root, ATTRIBUTES, "Anno")
        if folder is None or attribute_file is None:
            expected = ((f"{IMAGES}/", folder), (ATTRIBUTES, attribute_file))
            missing = [name for name, path in expected if path is None]
            where = f"{root} lacks" if root.is_dir() else f"folder {root} does not exist; expected"
            raise FileNotFoundError(
                f"{where} {', '.join(missing)} (and optionally {PARTITION}) of CelebA, from "
                f"{SOURCE}; put them there or set data.root to the folder holding them"
            )
        files, names, values = read_attributes(attribute_file)
        if not files:
            raise DataError(f"{attribute_file} lists no images; replace it with the original")
        unknown = [a for a in config.attributes if a not in names]
        if unknown:
            close = difflib.get_close_matches(unknown[0], names, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise DataError(
                f"data.attributes: {unknown[0]} is not an attribute of {attribute_file}; {hint}"
                f"it has {', '.join(names)}"
            )
        paths = [folder / name for name in files]
        absent = [p for p in paths if not p.is_file()]
        if absent:
            raise FileNotFoundError(
                f"{len(absent)} images listed in {attribute_file} are not in {folder} "
                f"({', '.join(p.name for p in absent[:3])}, ...); extract img_align_celeba.zip "
                f"from {SOURCE} there"
            )
        present = (values[:, [names.index(a) for a in config.attributes]] > 0).astype(np.int64)
        y = (present << np.arange(len(config.attributes))).sum(axis=1)
        decode_face(paths[0], config.crop, config.size)  # a crop too large is named now
        source = self.source(paths)
        partition_file = find_file(root, PARTITION, "Eval")
        if partition_file is not None:
            partition = read_partition(partition_file, files)
            index = {name: np.flatnonzero(partition == p) for p, name in enumerate(
                ("train", "val", "test"))}
        else:
            sizes = fraction_sizes(len(files), config.val_fraction, config.test_fraction)
            drawn = stratified_split(torch.from_numpy(y), sizes, config.split_seed)
            index = {name: drawn[name].numpy() for name in ("train", "val", "test")}
        if not len(index["train"]):
            raise DataError(f"no images are in the train split of {partition_file or root}")
        splits = {}
        for name in ("train", "val", "test"):
            keep = np.sort(index[name])
            if not len(keep):
                continue
            labels = {}
            if config.attributes:
                labels = {"y": y[keep], "attributes": present[keep].astype(np.float32)}
            splits[name] = labcore.ItemSplit(
                ImageItems(Subset(source, keep), config.value_range, labels)
            )
        info = {
            "shape": (3, config.size, config.size),
            "value_range": tuple(config.value_range),
            "attribute_names": names,
        }
        if config.attributes:
            info |= {
                "num_classes": 2 ** len(config.attributes),
                "class_names": class_names(config.attributes),
                "condition_names": list(config.attributes),
            }
        return labcore.DataBundle(splits=splits, info=info)

    def source(self, paths: list[Path]) -> ImageSource:
        config = self.config
        decode = functools.partial(decode_face, crop=config.crop, size=config.size)
        return stream_or_cache(
            DecodedFiles(paths, decode), config, name=f"celeba-{config.crop}-{config.size}",
            files=paths,
            pixel_options={"crop": config.crop, "size": config.size, "resize": "bilinear"},
        )
