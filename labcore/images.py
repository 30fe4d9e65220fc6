"""Image grids and image files: tensors in a known value range to PNG with pillow.

Grids can carry labels (a header over each column, a name beside each row), drawn outside the
images, and are enlarged by whole factors with nearest-neighbour sampling so that small images
(8x8 digits) stay sharp.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

LABEL_SIZE = 13
"""Height in pixels of the label font."""
LABEL_MARGIN = 4
"""Pixels between a label and the images it names."""
MAX_ROW_LABEL = 160
"""Widest band of row labels, in pixels; longer labels are shortened with an ellipsis."""


def to_uint8(images: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """``(N, C, H, W)`` floats in ``value_range`` to ``(N, H, W, C)`` uint8."""
    low, high = value_range
    scaled = (images.detach().float().cpu() - low) / (high - low)
    array = (scaled.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return array


def make_grid(
    images: torch.Tensor,
    nrow: int = 8,
    value_range: tuple[float, float] = (-1.0, 1.0),
    padding: int = 2,
) -> Image.Image:
    """Tile ``(N, C, H, W)`` images into one picture, ``nrow`` per row, with a padding border."""
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images of shape (N, 1 or 3, H, W), got {tuple(images.shape)}")
    pixels = to_uint8(images, value_range)
    n, h, w, c = pixels.shape
    ncol = min(nrow, n)
    nrows = (n + ncol - 1) // ncol
    canvas = np.full(
        (nrows * (h + padding) + padding, ncol * (w + padding) + padding, c), 255, np.uint8
    )
    for i in range(n):
        r, col = divmod(i, ncol)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        canvas[top : top + h, left : left + w] = pixels[i]
    mode = "L" if c == 1 else "RGB"
    return Image.fromarray(canvas[..., 0] if c == 1 else canvas, mode)


def grid_columns(n: int) -> int:
    """Images per row for a grid of ``n``: the divisor of ``n`` nearest above ``sqrt(n)`` that
    keeps the grid at most 2.5 times as wide as tall (100 -> 10, 64 -> 8, 12 -> 4, 10 -> 5), so
    every row is full; else one row for up to 10 images; else ``ceil(sqrt(n))`` (the last row
    shorter)."""
    if n < 1:
        raise ValueError(f"a grid needs at least one image, got {n}")
    for columns in range(math.isqrt(n - 1) + 1, n + 1):
        if n % columns == 0 and 2 * columns <= 5 * (n // columns):
            return columns
    return n if n <= 10 else math.isqrt(n - 1) + 1


def label_font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's built-in font at :data:`LABEL_SIZE` pixels."""
    return ImageFont.load_default(size=LABEL_SIZE)


def _fit(text: str, width: float, font: ImageFont.ImageFont | ImageFont.FreeTypeFont) -> str:
    """``text``, shortened with an ellipsis until it is at most ``width`` pixels wide."""
    if font.getlength(text) <= width:
        return text
    while len(text) > 1 and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def add_labels(
    grid: Image.Image,
    cell: tuple[int, int],
    padding: int,
    column_labels: Sequence[str] = (),
    row_labels: Sequence[str] = (),
) -> Image.Image:
    """``grid`` with ``column_labels`` in a band above its columns and ``row_labels`` in a band
    left of its rows; ``cell`` is one image's ``(height, width)`` and ``padding`` the border
    between images, both in the grid's pixels."""
    if not column_labels and not row_labels:
        return grid
    font = label_font()
    height, width = cell
    rows = [_fit(label, MAX_ROW_LABEL, font) for label in row_labels]
    left = (max(int(font.getlength(r)) for r in rows) + 2 * LABEL_MARGIN) if rows else 0
    top = LABEL_SIZE + 2 * LABEL_MARGIN if column_labels else 0
    canvas = Image.new(grid.mode, (left + grid.width, top + grid.height), "white")
    canvas.paste(grid, (left, top))
    draw = ImageDraw.Draw(canvas)
    ink = "black"
    for c, label in enumerate(column_labels):
        text = _fit(label, width + padding, font)
        centre = left + padding + c * (width + padding) + width / 2
        draw.text((centre, top - LABEL_MARGIN), text, fill=ink, font=font, anchor="mb")
    for r, label in enumerate(rows):
        middle = top + padding + r * (height + padding) + height / 2
        draw.text((left - LABEL_MARGIN, middle), label, fill=ink, font=font, anchor="rm")
    return canvas


def grid_picture(
    images: torch.Tensor,
    nrow: int = 8,
    value_range: tuple[float, float] = (-1.0, 1.0),
    scale: int = 1,
    column_labels: Sequence[str] = (),
    row_labels: Sequence[str] = (),
    padding: int = 2,
) -> Image.Image:
    """The grid of :func:`make_grid` enlarged ``scale`` times (nearest neighbour), with labels
    over its columns and beside its rows (see :func:`add_labels`)."""
    grid = make_grid(images, nrow=nrow, value_range=value_range, padding=padding)
    if scale > 1:
        grid = grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)
    cell = (images.shape[-2] * scale, images.shape[-1] * scale)
    return add_labels(grid, cell, padding * scale, column_labels, row_labels)


def picture_tensor(
    picture: Image.Image, value_range: tuple[float, float] = (-1.0, 1.0)
) -> torch.Tensor:
    """A pillow picture as one image ``(1, C, H, W)`` in ``value_range`` (``to_uint8``'s inverse),
    for a model whose periodic sample grid is a drawn picture (labels, a plot)."""
    pixels = torch.from_numpy(np.array(picture, dtype=np.uint8))
    pixels = pixels[..., None] if pixels.dim() == 2 else pixels[..., :3]
    low, high = value_range
    return pixels.permute(2, 0, 1).unsqueeze(0).float() / 255.0 * (high - low) + low


def save_grid(
    images: torch.Tensor,
    path: str | Path,
    nrow: int = 8,
    value_range: tuple[float, float] = (-1.0, 1.0),
    scale: int = 1,
    column_labels: Sequence[str] = (),
    row_labels: Sequence[str] = (),
) -> Path:
    """Save ``images`` as a grid PNG at ``path`` (see :func:`grid_picture`)."""
    grid = grid_picture(images, nrow, value_range, scale, column_labels, row_labels)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)
    return path


def display_scale(images: torch.Tensor, target: int = 64) -> int:
    """The whole enlargement that brings small images to about ``target`` pixels a side."""
    return max(1, target // images.shape[-1])
