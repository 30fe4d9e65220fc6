"""Reading one image file into pixels in ``[0, 1]``, whatever its mode and bit depth.

Pillow opens images in many modes; converting them all with ``convert("L")`` or
``convert("RGB")`` would be wrong for some: a 16-bit greyscale PNG (mode ``I;16``) saturates
(40000/65535 and 1000/65535 both become 255), and a palette image is resized by its palette
indices (nearest neighbour) and counted as colour even when every palette entry is grey.
:func:`read_image` therefore brings every image into one of three modes before anything else
touches it:

- ``L``: 8-bit grey (from ``1``, ``L``, ``LA`` and grey palettes),
- ``RGB``: 8-bit colour (from colour palettes, ``RGBA``, ``CMYK``, ``YCbCr``, ...; alpha is
  dropped),
- ``F``: grey as 32-bit floats already scaled to ``[0, 1]`` by the file's bit depth (16-bit
  ``I;16*`` and PNG/PNM ``I`` images, whose samples have 16 bits; float ``F`` images must lie
  in ``[0, 1]`` already).

:func:`image_array` then gives the float ``(H, W, C)`` array of such an image.
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

from labcore.data import DataError

SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N"}
#: Formats whose ``I`` images hold at most 16 bits a sample.
SIXTEEN_BIT_FORMATS = {"PNG", "PPM"}
GREY_MODES = {"L", "F"}


def is_regular_file(path: Path) -> bool:
    """Whether ``path`` is a regular file (after links), told without opening it: a FIFO or a
    device in an image folder would block or never end when read."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def read_image(path: Path) -> Image.Image:
    """The image at ``path`` in mode ``L``, ``RGB`` or ``F`` (see the module docstring).

    Raises:
        labcore.DataError (a ValueError): naming the file when it is not a regular file, is
            unreadable or corrupt, is a decompression bomb (more pixels than pillow's
            ``Image.MAX_IMAGE_PIXELS`` allows), or holds values the modes above cannot hold.
    """
    path = Path(path)
    if not is_regular_file(path):
        raise DataError(f"{path} is not a regular file (a folder, FIFO or device?); remove it")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.load()
                return normalise(image, path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataError(
            f"cannot read image {path}: {exc}; it is far larger than an image for training "
            "(a decompression bomb?), replace or remove the file"
        ) from None
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError, EOFError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"cannot read image {path}: {exc}; replace or remove the file") from exc


def _palette_image(image: Image.Image) -> Image.Image:
    has_alpha = image.mode == "PA" or "transparency" in image.info
    rgb = image.convert("RGBA" if has_alpha else "RGB").convert("RGB")
    pixels = np.asarray(rgb)
    grey = (pixels[..., :1] == pixels).all()
    return rgb.convert("L") if grey else rgb


def _sixteen_bit(image: Image.Image, path: Path) -> Image.Image:
    pixels = np.asarray(image).astype(np.float32)
    if pixels.min() < 0 or pixels.max() > 65535:
        raise DataError(
            f"image {path} holds values outside 0..65535 in mode {image.mode}; save it with 8 "
            "or 16 bits a sample"
        )
    return Image.fromarray(pixels / 65535.0, mode="F")


def normalise(image: Image.Image, path: Path) -> Image.Image:
    """``image`` in mode ``L``, ``RGB`` or ``F`` (in ``[0, 1]``); DataError naming ``path``
    when its mode or values have no faithful conversion."""
    mode = image.mode
    if mode in ("L", "RGB"):
        return image.copy()
    if mode in ("1", "LA"):
        return image.convert("L")
    if mode in ("P", "PA"):
        return _palette_image(image)
    if mode in SIXTEEN_BIT_MODES or (mode == "I" and image.format in SIXTEEN_BIT_FORMATS):
        return _sixteen_bit(image, path)
    if mode == "F":
        pixels = np.asarray(image, dtype=np.float32)
        if not np.isfinite(pixels).all() or pixels.min() < 0 or pixels.max() > 1:
            raise DataError(
                f"image {path} is a float image with values outside [0, 1] (from "
                f"{pixels.min():.4g} to {pixels.max():.4g}); scale it to [0, 1] or save it as "
                "8 or 16-bit integers"
            )
        return image.copy()
    if mode.startswith("I"):
        raise DataError(
            f"image {path} has mode {mode} (32-bit integers), whose range labcore cannot tell; "
            "save it with 8 or 16 bits a sample"
        )
    return image.convert("RGB")


def image_array(image: Image.Image, color: Literal["grayscale", "rgb"]) -> np.ndarray:
    """The pixels of an image from :func:`read_image` as float32 ``(H, W, C)`` in ``[0, 1]``,
    ``C`` 1 for ``grayscale`` and 3 for ``rgb``."""
    if image.mode == "F":
        grey = np.asarray(image, dtype=np.float32)[..., None]
        return grey if color == "grayscale" else np.repeat(grey, 3, axis=2)
    pixels = np.asarray(image.convert("L" if color == "grayscale" else "RGB"), dtype=np.float32)
    pixels = pixels / 255.0
    return pixels[..., None] if pixels.ndim == 2 else pixels
