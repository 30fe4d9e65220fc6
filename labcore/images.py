"""Image grids and image files: tensors in a known value range to PNG with pillow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image


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


def save_grid(
    images: torch.Tensor,
    path: str | Path,
    nrow: int = 8,
    value_range: tuple[float, float] = (-1.0, 1.0),
    scale: int = 1,
) -> Path:
    """Save ``images`` as a grid PNG at ``path`` (``scale`` enlarges small images, nearest)."""
    grid = make_grid(images, nrow=nrow, value_range=value_range)
    if scale > 1:
        grid = grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)
    return path
