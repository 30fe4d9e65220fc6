"""The 25-Gaussian grid: the 2-D mode-collapse benchmark of VEEGAN (Srivastava et al. 2017) and
PacGAN (Lin et al. 2018).

An equal mixture of isotropic Gaussians centred on a ``side`` x ``side`` grid with ``spacing``
between neighbours (5 x 5, spacing 2, standard deviation 0.05 in those papers: centres at
``{-4, -2, 0, 2, 4}^2``). A generator that collapses onto a few modes is easy to see and to count.
"""

from __future__ import annotations

import dataclasses

import torch

import labcore


@dataclasses.dataclass
class GridConfig:
    """Size of the grid and of the splits."""

    side: int = labcore.hp(5, "modes per row and column")
    spacing: float = labcore.hp(2.0, "distance between neighbouring modes")
    std: float = labcore.hp(0.05, "standard deviation of each Gaussian")
    train_size: int = labcore.hp(20000, "points in the train split")
    val_size: int = labcore.hp(2000, "points in the val split")
    test_size: int = labcore.hp(2000, "points in the test split")
    split_seed: int = labcore.hp(0, "seed of the draw (the same seed gives the same points)")

    def __post_init__(self) -> None:
        if self.side < 1 or self.spacing <= 0 or self.std <= 0:
            raise ValueError("side, spacing and std must be positive")
        if min(self.train_size, self.val_size, self.test_size) < 1:
            raise ValueError("train_size, val_size and test_size must be positive")


def grid_centres(side: int, spacing: float) -> torch.Tensor:
    """``(side * side, 2)`` mode centres, row by row, centred on the origin."""
    axis = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * spacing
    rows, cols = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([cols.flatten(), rows.flatten()], dim=1).float()


def sample_grid_mixture(
    n: int, side: int, spacing: float, std: float, generator: torch.Generator
) -> torch.Tensor:
    """``(n, 2)`` points from the equal mixture of Gaussians on the grid."""
    centres = grid_centres(side, spacing)
    which = torch.randint(len(centres), (n,), generator=generator)
    return centres[which] + std * torch.randn(n, 2, generator=generator)


class GaussianGrid(labcore.Dataset):
    """A grid of Gaussians (25 by default) in the plane: 2-D points ``x``.

    ``info``: ``shape = (2,)``, the mode centres ``modes`` ``(K, 2)`` and their ``mode_std``, from
    which a model's evaluation counts covered modes.
    """

    name = "gaussian-grid"
    Config = GridConfig

    def load(self) -> labcore.DataBundle:
        c = self.config
        generator = torch.Generator().manual_seed(c.split_seed)
        n = c.train_size + c.val_size + c.test_size
        points = sample_grid_mixture(n, c.side, c.spacing, c.std, generator)
        ends = [0, c.train_size, c.train_size + c.val_size, n]
        splits = {
            split: labcore.TensorSplit(x=points[start:end])
            for split, start, end in zip(("train", "val", "test"), ends, ends[1:])
        }
        info = {
            "shape": (2,),
            "modes": grid_centres(c.side, c.spacing).tolist(),
            "mode_std": c.std,
        }
        return labcore.DataBundle(splits, info)
