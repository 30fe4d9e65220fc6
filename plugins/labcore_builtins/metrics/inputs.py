"""Reading the two sets ``labcore metrics A B`` compares: image folders or ``.npz`` files.

A folder holds image files (PNG, JPEG, BMP, WebP) of one size, read in name order. An ``.npz`` file
holds either features (``features`` ``(N, D)``, optionally ``logits`` ``(N, K)``) or images under
``images``, ``x`` or ``arr_0``: ``uint8`` (values 0-255) or floats (in ``[0, 1]``, or in the range
an optional ``value_range`` array gives), laid out ``(N, H, W)``, ``(N, H, W, C)`` or
``(N, C, H, W)`` with 1 or 3 channels.

Whatever cannot be read as such (an unreadable or truncated image, a file that is no ``.npz``
archive, NaN or infinite values, float pixels outside their range) is a :class:`InputError`
naming the file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from labcore_builtins.data.pixels import GREY_MODES, image_array, is_regular_file, normalise

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
IMAGE_KEYS = ("images", "x", "arr_0")


class InputError(ValueError):
    """A set that cannot be compared as it is; the message names the file and the fix."""


def load_set(path: str | Path) -> dict[str, Any]:
    """``{"images": (N, C, H, W) float, "value_range": (lo, hi)}`` or ``{"features", "logits"}``."""
    path = Path(path)
    if path.is_dir():
        return _load_folder(path)
    if path.suffix == ".npz" and path.is_file():
        return _load_npz(path)
    raise InputError(f"{path}: expected a folder of images or an .npz file")


def _open_image(path: Path) -> Image.Image:
    """The decoded image at ``path``, or an InputError naming it (unreadable, truncated)."""
    try:
        image = Image.open(path)
        image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(
            f"{path}: cannot read this image ({exc}); replace it or move it out of the folder"
        ) from None
    return image


def _load_folder(folder: Path) -> dict[str, Any]:
    files = sorted(
        p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and is_regular_file(p)
    )
    if not files:
        suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
        raise InputError(f"{folder}: no image files ({suffixes}) in this folder")
    # pixels scaled by each file's bit depth (16-bit PNGs, palettes: see data.pixels)
    images = [normalise(_open_image(p), p) for p in files]
    gray = all(img.mode in GREY_MODES for img in images)
    arrays = [image_array(img, "grayscale" if gray else "rgb") for img in images]
    arrays = [array[..., 0] for array in arrays] if gray else arrays
    shape = arrays[0].shape
    for file, array in zip(files, arrays, strict=True):
        if array.shape != shape:
            raise InputError(
                f"{file}: size {array.shape[:2]} differs from {files[0].name}'s {shape[:2]}; "
                "all images of a set must have one size"
            )
    return _images(np.stack(arrays), str(folder))


def _load_npz(path: Path) -> dict[str, Any]:
    if not zipfile.is_zipfile(path):
        raise InputError(
            f"{path}: not an .npz archive (numpy.savez writes one); give a folder of images or an "
            ".npz of images or features"
        )
    try:
        with np.load(path) as data:
            arrays = {key: np.asarray(data[key]) for key in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: cannot read this .npz archive ({exc})") from None
    if "features" in arrays:
        out = {}
        for key in ("features", "logits"):
            if key in arrays:
                out[key] = torch.from_numpy(_finite_rows(arrays[key], f"{path}: {key}"))
        return out
    key = next((k for k in IMAGE_KEYS if k in arrays), None)
    if key is None:
        raise InputError(
            f"{path}: no 'features' and no images under {', '.join(IMAGE_KEYS)}; "
            f"it has {', '.join(arrays) or 'no arrays'}"
        )
    value_range = tuple(arrays["value_range"].tolist()) if "value_range" in arrays else None
    return _images(arrays[key], str(path), value_range)


def _finite_rows(array: np.ndarray, where: str) -> np.ndarray:
    """``array`` if it is a finite float or integer ``(N, D)`` matrix, else an InputError."""
    if array.ndim != 2 or not (
        np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
    ):
        raise InputError(f"{where} must be a numeric (N, D) array, got {array.dtype} {array.shape}")
    bad = ~np.isfinite(array).all(1)
    if bad.any():
        raise InputError(
            f"{where} has NaN or infinite values in {int(bad.sum())} of {len(array)} rows "
            f"(first: row {int(np.argmax(bad))})"
        )
    return array


def _images(array: np.ndarray, where: str, value_range: tuple | None = None) -> dict[str, Any]:
    """``(N, H, W)``, ``(N, H, W, C)`` or ``(N, C, H, W)`` pixels to float ``(N, C, H, W)``."""
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4 and array.shape[-1] in (1, 3) and array.shape[1] not in (1, 3):
        array = array.transpose(0, 3, 1, 2)
    if array.ndim != 4 or array.shape[1] not in (1, 3):
        raise InputError(f"{where}: expected images with 1 or 3 channels, got shape {array.shape}")
    if array.dtype == np.uint8:
        images = torch.from_numpy(np.ascontiguousarray(array)).float() / 255.0
        return {"images": images, "value_range": (0.0, 1.0)}
    if not np.issubdtype(array.dtype, np.floating):
        raise InputError(f"{where}: images must be uint8 (0-255) or floats, got {array.dtype}")
    lo, hi = value_range or (0.0, 1.0)
    if not np.isfinite(array).all():
        raise InputError(f"{where}: the images hold NaN or infinite pixel values")
    found = float(array.min()), float(array.max())
    if found[0] < lo or found[1] > hi:
        raise InputError(
            f"{where}: float pixels span [{found[0]:.6g}, {found[1]:.6g}], outside "
            f"[{lo:g}, {hi:g}]; store uint8 images, floats in [0, 1], or their range as "
            "value_range (np.savez(..., images=..., value_range=[lo, hi]))"
        )
    return {"images": torch.from_numpy(np.ascontiguousarray(array)).float(),
            "value_range": (lo, hi)}


def check_pair(real: dict[str, Any], fake: dict[str, Any], a: Path, b: Path) -> None:
    """An InputError naming the file when the two sets cannot be compared: fewer than 2 samples
    in one, or features (or logits) of different widths."""
    for data, path in ((real, a), (fake, b)):
        count = (data["images"] if "images" in data else data["features"]).shape[0]
        if count < 2:
            raise InputError(
                f"{path}: has {count} sample{'' if count == 1 else 's'}; the metrics need at "
                "least 2 per set"
            )
    for key in ("features", "logits"):
        if key in real and key in fake and real[key].shape[1] != fake[key].shape[1]:
            raise InputError(
                f"{key} of different widths: {real[key].shape[1]} in {a}, {fake[key].shape[1]} "
                f"in {b}; both sets need the same extractor"
            )
