"""Differentiable Augmentation (DiffAugment, Zhao et al. 2020) for data-efficient GAN training.

The discriminator sees every image, real or generated, through the same random, differentiable
transformations :math:`T`: it is trained on :math:`D(T(x))` and :math:`D(T(G(z)))` and the
generator on :math:`D(T(G(z)))` (eqs. 2-3 of the paper), so the generator's gradient passes
through :math:`T` and the generator is not taught to produce augmented images. Augmenting only the
real images would shift the distribution the generator is asked to match (section 3.1).

The transformations and their ranges are those of the authors' code, which assumes pixel values
in ``[-1, 1]`` (0 is mid-grey), the range of the tanh generators here:

- ``color``: brightness + U(-0.5, 0.5), saturation x U(0, 2) around the per-pixel channel mean,
  contrast x U(0.5, 1.5) around the image mean;
- ``translation``: a shift by up to 1/8 of each side, vacated pixels 0;
- ``cutout``: a square of half the side set to 0 at a random position.

Every image of a batch draws its own parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F

Policy = Literal["color", "translation", "cutout"]
POLICIES: tuple[Policy, ...] = ("color", "translation", "cutout")


def _uniform(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One U[0, 1) draw per image, shaped ``(N, 1, 1, 1)``."""
    return torch.rand(x.shape[0], 1, 1, 1, generator=generator, device=x.device, dtype=x.dtype)


def color(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random brightness, saturation and contrast, in this order."""
    x = x + (_uniform(x, generator) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_uniform(x, generator) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x, generator) + 0.5) + mean


def _offsets(x: torch.Tensor, low: int, high: int, generator: torch.Generator | None):
    """Integer draws in ``[low, high]`` per image, shaped ``(N, 1, 1)``."""
    return torch.randint(
        low, high + 1, (x.shape[0], 1, 1), generator=generator, device=x.device
    )


def translation(
    x: torch.Tensor, generator: torch.Generator | None = None, ratio: float = 0.125
) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its sides; pixels shifted in are 0."""
    n, _, height, width = x.shape
    max_dy, max_dx = int(height * ratio + 0.5), int(width * ratio + 0.5)
    dy = _offsets(x, -max_dy, max_dy, generator)
    dx = _offsets(x, -max_dx, max_dx, generator)
    rows = torch.arange(height, device=x.device)[None, :, None] + dy  # (N, H, 1) source rows
    cols = torch.arange(width, device=x.device)[None, None, :] + dx  # (N, 1, W) source columns
    padded = F.pad(x, (1, 1, 1, 1))  # a zero border; sources outside the image read it
    rows = rows.clamp(-1, height) + 1
    cols = cols.clamp(-1, width) + 1
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def cutout(
    x: torch.Tensor, generator: torch.Generator | None = None, ratio: float = 0.5
) -> torch.Tensor:
    """Zero a square of ``ratio`` times each side, centred at a random position (may overhang)."""
    _, _, height, width = x.shape
    size_y, size_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    top = _offsets(x, 0, height - size_y % 2, generator) - size_y // 2
    left = _offsets(x, 0, width - size_x % 2, generator) - size_x // 2
    rows = torch.arange(height, device=x.device)[None, :, None]
    cols = torch.arange(width, device=x.device)[None, None, :]
    inside = (rows >= top) & (rows < top + size_y) & (cols >= left) & (cols < left + size_x)
    return x * (~inside).unsqueeze(1).to(x.dtype)


TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}


class DiffAugment:
    """The transformations of ``policy`` applied in the order given, fresh draws at every call.

    Random numbers come from ``generator`` when one is given to the call, else from torch's
    global random state (saved in checkpoints, so a resumed run draws the same augmentations).
    Shapes: ``(N, C, H, W) -> (N, C, H, W)``; differentiable with respect to the images.
    """

    def __init__(self, policy: Sequence[str]) -> None:
        unknown = [p for p in policy if p not in TRANSFORMS]
        if unknown:
            raise ValueError(
                f"DiffAugment: unknown transformation {unknown[0]!r}; use {', '.join(POLICIES)}"
            )
        self.policy = tuple(policy)

    def __call__(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        for name in self.policy:
            x = TRANSFORMS[name](x, generator)
        return x

    def __repr__(self) -> str:
        return f"DiffAugment({', '.join(self.policy)})"
