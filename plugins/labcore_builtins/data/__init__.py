"""The data plugin: image datasets that every family reuses.

Datasets (components): ``digits`` (embedded, scikit-learn's 8x8 digits), ``mnist`` and
``fashion-mnist`` (local IDX files), ``image-folder`` (a sub-folder per class, read with pillow),
``cifar10`` and ``cifar100`` (the official archives, python or binary version), and, streamed
through the DataLoader with an optional decoded cache (:mod:`.streaming`), ``stl10`` (its binary
files) and ``celeba`` (aligned faces and their attributes).

Loader functions for other plugins, each returning images as float32 ``(N, C, H, W)`` in
``[0, 1]`` and labels as int64 ``(N,)``: :func:`load_digits`, :func:`load_idx_images` (with
:func:`read_idx` for single IDX files) and :func:`load_image_folder` (with
:func:`list_image_folder` and :func:`read_image` for other layouts). :func:`to_value_range` then
maps images onto a recipe's value range, and :func:`stratified_split` draws fixed splits.
"""

from labcore_builtins.data.digits import Digits, load_digits
from labcore_builtins.data.idx import FashionMnist, Mnist, load_idx_images, read_idx
from labcore_builtins.data.image_folder import (
    ImageFolder,
    list_image_folder,
    load_image_folder,
    read_image,
)
from labcore_builtins.data.preprocess import ImageConfig, resize_and_crop, to_value_range
from labcore_builtins.data.splits import stratified_split, tensor_splits

__all__ = [
    "Digits",
    "FashionMnist",
    "ImageConfig",
    "ImageFolder",
    "Mnist",
    "load_digits",
    "load_idx_images",
    "list_image_folder",
    "load_image_folder",
    "read_idx",
    "read_image",
    "resize_and_crop",
    "stratified_split",
    "tensor_splits",
    "to_value_range",
]
