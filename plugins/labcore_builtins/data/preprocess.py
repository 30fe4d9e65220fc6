"""Preprocessing shared by the image datasets: the value range, resizing and centre-cropping.

Every loader here returns images as float32 ``(N, C, H, W)`` tensors in ``[0, 1]``; the dataset
components then map them linearly onto the value range the recipe asks for (``[-1, 1]`` by default,
the range of a tanh generator; ``[0, 1]`` for a Bernoulli decoder).
"""

from __future__ import annotations

import dataclasses

import torch
from PIL import Image

import labcore

DEFAULT_VALUE_RANGE = (-1.0, 1.0)


@dataclasses.dataclass
class ImageConfig:
    """Hyperparameters every image dataset has."""

    value_range: tuple[float, float] = labcore.hp(
        DEFAULT_VALUE_RANGE, "pixel values are mapped linearly onto [low, high], e.g. [0, 1]"
    )

    def __post_init__(self) -> None:
        low, high = self.value_range
        if not low < high:
            raise ValueError(f"value_range {list(self.value_range)}: low must be below high")


def to_value_range(images: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    """Map ``images`` in ``[0, 1]`` linearly onto ``value_range = (low, high)``."""
    low, high = value_range
    return images * (high - low) + low


def resize_and_crop(image: Image.Image, resize: int = 0, crop: int = 0) -> Image.Image:
    """Resize ``image`` so its shorter side is ``resize`` (bilinear), then centre-crop ``crop`` x
    ``crop``. A zero leaves that step out."""
    if resize > 0:
        width, height = image.size
        scale = resize / min(width, height)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR)
    if crop > 0:
        width, height = image.size
        if crop > min(width, height):
            raise ValueError(
                f"cannot centre-crop {crop}x{crop} from a {width}x{height} image; "
                "lower crop or set resize to at least crop"
            )
        left, top = (width - crop) // 2, (height - crop) // 2
        image = image.crop((left, top, left + crop, top + crop))
    return image
