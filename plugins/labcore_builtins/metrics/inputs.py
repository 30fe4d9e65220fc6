"""Reading the two sets ``labcore metrics A B`` compares: image folders or ``.npz`` files.

A folder holds image files (PNG, JPEG, BMP, WebP) of one size, read in name order. An ``.npz`` file
holds either features (``features`` ``(N, D)``, optionally ``logits`` ``(N, K)``) or images under
``images``, ``x`` or ``arr_0``: ``uint8`` (values 0-255) or floats (in ``[0, 1]``, or in the range
an optional ``value_range`` array gives), laid out ``(N, H, W)``, ``(N, H, W, C)`` or
``(N, C, H, W)`` with 1 or 3 channels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
IMAGE_KEYS = ("images", "x", "arr_0")


def load_set(path: str | Path) -> dict[str, Any]:
    """``{"images": (N, C, H, W) float, "value_range": (lo, hi)}`` or ``{"features", "logits"}``."""
    path = Path(path)
    if path.is_dir():
        return _load_folder(path)
    if path.suffix == ".npz" and path.is_file():
        return _load_npz(path)
    raise ValueError(f"{path}: expected a folder of images or an .npz file")


def _load_folder(folder: Path) -> dict[str, Any]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
        raise ValueError(f"{folder}: no image files ({suffixes}) in this folder")
    images = [Image.open(p) for p in files]
    gray = all(img.mode in ("L", "1", "I;16") for img in images)
    arrays = [np.asarray(img.convert("L" if gray else "RGB")) for img in images]
    shape = arrays[0].shape
    for file, array in zip(files, arrays, strict=True):
        if array.shape != shape:
            raise ValueError(
                f"{file}: size {array.shape[:2]} differs from {files[0].name}'s {shape[:2]}; "
                "all images of a set must have one size"
            )
    return _images(np.stack(arrays), str(folder))


def _load_npz(path: Path) -> dict[str, Any]:
    with np.load(path) as data:
        if "features" in data:
            out = {"features": torch.from_numpy(np.asarray(data["features"]))}
            if "logits" in data:
                out["logits"] = torch.from_numpy(np.asarray(data["logits"]))
            shape = tuple(out["features"].shape)
            if len(shape) != 2:
                raise ValueError(f"{path}: features must be (N, D), got {shape}")
            return out
        key = next((k for k in IMAGE_KEYS if k in data), None)
        if key is None:
            raise ValueError(
                f"{path}: no 'features' and no images under {', '.join(IMAGE_KEYS)}; "
                f"it has {', '.join(data.files)}"
            )
        value_range = tuple(data["value_range"].tolist()) if "value_range" in data else None
        return _images(np.asarray(data[key]), str(path), value_range)


def _images(array: np.ndarray, where: str, value_range: tuple | None = None) -> dict[str, Any]:
    """``(N, H, W)``, ``(N, H, W, C)`` or ``(N, C, H, W)`` pixels to float ``(N, C, H, W)``."""
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4 and array.shape[-1] in (1, 3) and array.shape[1] not in (1, 3):
        array = array.transpose(0, 3, 1, 2)
    if array.ndim != 4 or array.shape[1] not in (1, 3):
        raise ValueError(f"{where}: expected images with 1 or 3 channels, got shape {array.shape}")
    if array.dtype == np.uint8:
        images = torch.from_numpy(np.ascontiguousarray(array)).float() / 255.0
        return {"images": images, "value_range": (0.0, 1.0)}
    return {"images": torch.from_numpy(np.ascontiguousarray(array)).float(),
            "value_range": value_range or (0.0, 1.0)}
