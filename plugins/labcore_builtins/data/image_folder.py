"""Images in a folder with one sub-folder per class, read with pillow::

    root/cat/0001.png
    root/cat/0002.jpg
    root/dog/a.png

Classes are the sub-folder names in sorted order. All images end up the same size and colour
mode (resize the shorter side, then centre-crop), so the whole set is held as one tensor. Pixels
are scaled by each file's bit depth (16-bit PNGs included, see
:mod:`labcore_builtins.data.pixels`); entries that are not regular files (a FIFO, a device) are
skipped without being opened.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

import numpy as np
import torch

import labcore
from labcore_builtins.data.pixels import (
    GREY_MODES,
    image_array,
    is_regular_file,
    read_image,
)
from labcore_builtins.data.preprocess import ImageConfig, resize_and_crop, to_value_range
from labcore_builtins.data.splits import (
    check_fractions,
    fraction_sizes,
    stratified_split,
    tensor_splits,
)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
LAYOUT = "root/<class name>/<image>.png (one sub-folder per class)"


def list_image_folder(root: str | Path) -> tuple[list[Path], list[int], list[str]]:
    """Image files, their class indices and the class names of the folder ``root``.

    Raises FileNotFoundError naming ``root`` and the expected layout when there is nothing to read.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root} does not exist; expected {LAYOUT}")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise FileNotFoundError(f"image folder {root} has no class sub-folders; expected {LAYOUT}")
    files, labels = [], []
    for index, folder in enumerate(class_dirs):
        images = sorted(
            p for p in folder.iterdir()
            if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
            and is_regular_file(p)
        )
        if not images:
            raise FileNotFoundError(
                f"class folder {folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}); "
                "add some or remove the folder"
            )
        files += images
        labels += [index] * len(images)
    return files, labels, [p.name for p in class_dirs]


def load_image_folder(
    root: str | Path,
    resize: int = 0,
    crop: int = 0,
    color: Literal["auto", "grayscale", "rgb"] = "auto",
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Every image under ``root`` (see the module docstring for the layout).

    ``color`` "auto" reads grayscale when every image is single-channel, else RGB.

    Returns images ``(N, C, H, W)`` float32 in ``[0, 1]``, labels ``(N,)`` int64 and the class
    names. Raises ValueError naming the file when an image is unreadable or differs in size
    (labcore.DataError for an unreadable, corrupt or oversized file).
    """
    files, labels, class_names = list_image_folder(root)
    images = [resize_and_crop(read_image(path), resize, crop) for path in files]
    if color == "auto":
        color = "grayscale" if all(image.mode in GREY_MODES for image in images) else "rgb"
    arrays = []
    for path, image in zip(files, images, strict=True):
        if image.size != images[0].size:
            raise ValueError(
                f"image {path} is {image.size[0]}x{image.size[1]}, but {files[0]} is "
                f"{images[0].size[0]}x{images[0].size[1]}; set data.resize and data.crop to "
                "bring all images to one size"
            )
        arrays.append(image_array(image, color))
    pixels = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    return pixels, torch.tensor(labels, dtype=torch.long), class_names


@dataclasses.dataclass(kw_only=True)
class ImageFolderConfig(ImageConfig):
    root: str = labcore.hp(doc=f"the image folder: {LAYOUT}", path=True)
    resize: int = labcore.hp(0, "resize the shorter side to this many pixels; 0 keeps the size")
    crop: int = labcore.hp(0, "centre-crop to crop x crop pixels after resizing; 0: no crop")
    color: Literal["auto", "grayscale", "rgb"] = labcore.hp(
        "auto", "colour mode; auto is grayscale when every image is single-channel"
    )
    val_fraction: float = labcore.hp(0.1, "share of the images in the validation split")
    test_fraction: float = labcore.hp(0.1, "share of the images in the test split")
    split_seed: int = labcore.hp(0, "seed of the fixed stratified train/val/test split")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fractions(self.val_fraction, self.test_fraction)
        if self.resize < 0 or self.crop < 0:
            raise ValueError("resize and crop must be 0 (off) or a positive number of pixels")


class ImageFolder(labcore.Dataset):
    """Images in class sub-folders, read with pillow, in a fixed stratified train/val/test split."""

    name = "image-folder"
    Config = ImageFolderConfig

    def load(self) -> labcore.DataBundle:
        config = self.config
        x, y, class_names = load_image_folder(config.root, config.resize, config.crop, config.color)
        sizes = fraction_sizes(len(y), config.val_fraction, config.test_fraction)
        indices = stratified_split(y, sizes, config.split_seed)
        x = to_value_range(x, config.value_range)
        info = {
            "shape": tuple(x.shape[1:]),
            "num_classes": len(class_names),
            "value_range": tuple(config.value_range),
            "class_names": class_names,
        }
        return labcore.DataBundle(splits=tensor_splits(indices, x=x, y=y), info=info)
