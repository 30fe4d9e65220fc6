"""Two-dimensional toy data for the MLP GANs, and how to look at and score generated points.

The ring of eight Gaussians (Metz et al. 2017, "Unrolled generative adversarial networks",
section 3.1) is the classic test of mode collapse: a plain GAN tends to cover one or a few of the
eight modes at a time and hop between them, while aids such as minibatch standard deviation or a
Wasserstein critic cover all eight. The swiss roll (as in Gulrajani et al. 2017's toy experiments)
tests a curved, one-dimensional manifold.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from PIL import Image

import labcore
from labcore.images import picture_tensor
from labcore.points import scatter_picture


@dataclasses.dataclass
class PointsConfig:
    """Sizes and seed of a synthetic point set."""

    train_size: int = labcore.hp(20000, "points in the train split")
    val_size: int = labcore.hp(2000, "points in the val split")
    test_size: int = labcore.hp(2000, "points in the test split")
    split_seed: int = labcore.hp(0, "seed of the draw (the data are the same for the same seed)")

    def __post_init__(self) -> None:
        if min(self.train_size, self.val_size, self.test_size) < 1:
            raise ValueError("train_size, val_size and test_size must all be positive")


def ring_centres(modes: int, radius: float) -> torch.Tensor:
    """``(modes, 2)`` centres evenly spaced on a circle of ``radius``, the first at angle 0."""
    angles = torch.arange(modes, dtype=torch.float64) * (2 * math.pi / modes)
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).float()


def sample_ring(n: int, modes: int, radius: float, std: float, seed: int) -> torch.Tensor:
    """``(n, 2)`` points from an equal mixture of isotropic Gaussians on a ring."""
    gen = torch.Generator().manual_seed(seed)
    centres = ring_centres(modes, radius)
    which = torch.randint(modes, (n,), generator=gen)
    return centres[which] + std * torch.randn(n, 2, generator=gen)


def sample_swiss_roll(n: int, noise: float, seed: int) -> torch.Tensor:
    """``(n, 2)`` points of scikit-learn's swiss roll seen along its axis, scaled by 1/7.5.

    The roll's ``(x, z)`` coordinates, as in the toy experiments of Gulrajani et al. (2017).
    """
    # scikit-learn and matplotlib are imported where used: importing them costs ~0.9 s of CLI
    # start-up.
    from sklearn.datasets import make_swiss_roll

    points, _ = make_swiss_roll(n, noise=noise, random_state=seed)
    return torch.from_numpy(points[:, [0, 2]] / 7.5).float()


def _split(points: torch.Tensor, config: PointsConfig) -> dict[str, labcore.TensorSplit]:
    a = config.train_size
    b = a + config.val_size
    return {
        "train": labcore.TensorSplit(x=points[:a]),
        "val": labcore.TensorSplit(x=points[a:b]),
        "test": labcore.TensorSplit(x=points[b:]),
    }


@dataclasses.dataclass
class RingConfig(PointsConfig):
    modes: int = labcore.hp(8, "number of Gaussians on the ring")
    radius: float = labcore.hp(2.0, "radius of the ring")
    std: float = labcore.hp(0.02, "standard deviation of each Gaussian")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.modes < 1 or self.radius <= 0 or self.std <= 0:
            raise ValueError("modes, radius and std must all be positive")


class Ring(labcore.Dataset):
    """A mixture of Gaussians evenly spaced on a ring (8 by default), 2-D points.

    ``info`` holds ``shape = (2,)``, the mode centres ``modes`` ``(K, 2)`` and ``mode_std`` so that
    models can count covered modes.
    """

    name = "ring"
    Config = RingConfig

    def load(self) -> labcore.DataBundle:
        c = self.config
        total = c.train_size + c.val_size + c.test_size
        points = sample_ring(total, c.modes, c.radius, c.std, c.split_seed)
        info = {
            "shape": (2,),
            "modes": ring_centres(c.modes, c.radius).tolist(),
            "mode_std": c.std,
        }
        return labcore.DataBundle(splits=_split(points, c), info=info)


@dataclasses.dataclass
class SwissRollConfig(PointsConfig):
    noise: float = labcore.hp(0.25, "standard deviation of the Gaussian noise added to the roll")


class SwissRoll(labcore.Dataset):
    """The swiss roll seen along its axis: 2-D points on a noisy spiral."""

    name = "swiss-roll"
    Config = SwissRollConfig

    def load(self) -> labcore.DataBundle:
        c = self.config
        total = c.train_size + c.val_size + c.test_size
        points = sample_swiss_roll(total, c.noise, c.split_seed)
        return labcore.DataBundle(splits=_split(points, c), info={"shape": (2,)})


def point_metrics(
    real: torch.Tensor,
    fake: torch.Tensor,
    modes: list[list[float]] | None = None,
    mode_std: float | None = None,
) -> dict[str, float]:
    """Distances between point sets, and with known modes, mode coverage (Metz et al. 2017).

    - ``fake_to_real``: mean distance from a generated point to its nearest real point (quality).
    - ``real_to_fake``: mean distance from a real point to its nearest generated point (coverage).
    - ``high_quality``: share of generated points within 3 standard deviations of a mode centre.
    - ``modes_covered``: modes that receive at least 1% of the generated points as high-quality
      points.

    Args:
        real: ``(N, 2)`` real points; fake: ``(M, 2)`` generated points.
        modes: ``(K, 2)`` mode centres; mode_std: their standard deviation.
    """
    real, fake = real.double(), fake.double()
    out = {
        "fake_to_real": torch.cdist(fake, real).min(dim=1).values.mean().item(),
        "real_to_fake": torch.cdist(real, fake).min(dim=1).values.mean().item(),
    }
    if modes is not None and mode_std is not None:
        centres = torch.tensor(modes, dtype=torch.float64, device=fake.device)
        dist, nearest = torch.cdist(fake, centres).min(dim=1)
        good = dist <= 3 * mode_std
        counts = torch.bincount(nearest[good], minlength=len(centres))
        out["high_quality"] = good.double().mean().item()
        out["modes_covered"] = float((counts >= 0.01 * len(fake)).sum().item())
    return out


def scatter_image(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The scatter plot of :func:`labcore.points.scatter_figure` as one image ``(1, 3, H, W)`` in
    ``[-1, 1]``: what the periodic sample grids of a point model show. Its frame comes from
    ``real`` alone, so grids drawn against the same real points share their axes."""
    return picture_tensor(Image.fromarray(scatter_picture(real, fake)))
