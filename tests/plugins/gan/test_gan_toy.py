"""The 2-D toy sets and how generated points are scored and drawn."""

import math

import pytest
import torch

from labcore.schema import SchemaError, build
from labcore_builtins.gan.toy import (
    Ring,
    RingConfig,
    SwissRoll,
    point_metrics,
    ring_centres,
    scatter_image,
)

SMALL = {"train_size": 4000, "val_size": 100, "test_size": 200}


def test_ring_centres_lie_evenly_on_the_circle():
    centres = ring_centres(8, 2.0)
    assert torch.allclose(centres.norm(dim=1), torch.full((8,), 2.0))
    angles = torch.atan2(centres[:, 1], centres[:, 0]).remainder(2 * math.pi)
    assert torch.allclose(angles, torch.arange(8) * math.pi / 4, atol=1e-6)


def test_ring_points_gather_around_the_centres_with_the_given_spread():
    bundle = Ring(Ring.Config(**SMALL)).load()
    x = bundle.split("train")["x"]
    assert x.shape == (4000, 2) and len(bundle.split("test")) == 200
    centres = torch.tensor(bundle.info["modes"])
    dist, nearest = torch.cdist(x, centres).min(dim=1)
    offsets = x - centres[nearest]
    assert offsets.std().item() == pytest.approx(0.02, rel=0.1)
    counts = torch.bincount(nearest, minlength=8).float()
    assert counts.min() > 0.8 * counts.mean()
    assert bundle.info["shape"] == (2,) and bundle.info["mode_std"] == 0.02


def test_the_same_seed_gives_the_same_points():
    a = Ring(Ring.Config(**SMALL)).load().split("train")["x"]
    b = Ring(Ring.Config(**SMALL)).load().split("train")["x"]
    c = Ring(Ring.Config(**SMALL, split_seed=1)).load().split("train")["x"]
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_swiss_roll_is_a_2d_spiral():
    bundle = SwissRoll(SwissRoll.Config(**SMALL, noise=0.0)).load()
    x = bundle.split("train")["x"]
    assert x.shape == (4000, 2) and bundle.info == {"shape": (2,)}
    radius = x.norm(dim=1) * 7.5  # the roll's radius grows with its angle t in [1.5 pi, 4.5 pi]
    assert radius.min() > 1.5 * math.pi - 1e-3 and radius.max() < 4.5 * math.pi + 1e-3


def test_bad_ring_settings_are_named():
    with pytest.raises(SchemaError, match="positive"):
        build(RingConfig, {"std": 0.0}, "data")


def test_point_metrics_of_a_perfect_and_of_a_collapsed_generator():
    bundle = Ring(Ring.Config(**SMALL)).load()
    real = bundle.split("test")["x"]
    modes, std = bundle.info["modes"], bundle.info["mode_std"]
    perfect = bundle.split("train")["x"][:1000]
    good = point_metrics(real, perfect, modes, std)
    assert good["modes_covered"] == 8 and good["high_quality"] > 0.98
    assert good["fake_to_real"] < 0.1 and good["real_to_fake"] < 0.1
    collapsed = torch.tensor(modes[2]) + 0.02 * torch.randn(1000, 2)
    bad = point_metrics(real, collapsed, modes, std)
    assert bad["modes_covered"] == 1 and bad["real_to_fake"] > 1.0
    assert set(point_metrics(real, perfect)) == {"fake_to_real", "real_to_fake"}


def test_scatter_images_are_large_and_frames_against_the_same_real_points_match():
    real = torch.randn(100, 2, generator=torch.Generator().manual_seed(0))
    near = torch.randn(50, 2, generator=torch.Generator().manual_seed(1)) * 0.5
    image = scatter_image(real, near)
    assert image.shape == (1, 3, 550, 550) and image.min() >= -1 and image.max() <= 1
    assert image.std() > 0.05  # something is drawn
    far = near + 100.0  # every generated point off the frame: only the markers at its edge move
    changed = (scatter_image(real, far) != image).any(dim=1)[0]
    assert changed.float().mean() < 0.1  # the axes did not follow the generated points
