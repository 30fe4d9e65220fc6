"""labcore-lsgan: the losses against the paper's closed forms, the contract checks of labcore's
test kit, and a short training run that must cover every mode of a small grid."""

import json

import pytest
import torch
import torch.nn.functional as F
from labcore_lsgan.data import GaussianGrid, grid_centres
from labcore_lsgan.losses import discriminator_loss, generator_loss
from labcore_lsgan.model import LSGAN
from labcore_lsgan.plugin import RECIPES
from labcore_lsgan.views import density_image, sample_scores

from labcore.testing import check_model, check_plugin, check_recipe, run_recipe

COMPONENTS = [LSGAN, GaussianGrid]
TINY_GRID = {"train_size": 64, "val_size": 32, "test_size": 32}


def discrete(p_data, p_g, total=1000):
    """Indices into a finite support whose frequencies are exactly ``p_data`` and ``p_g``."""
    real = torch.repeat_interleave(torch.arange(len(p_data)), (p_data * total).round().long())
    fake = torch.repeat_interleave(torch.arange(len(p_g)), (p_g * total).round().long())
    return real, fake


P_DATA = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.0], dtype=torch.float64)
P_G = torch.tensor([0.3, 0.3, 0.1, 0.1, 0.2], dtype=torch.float64)


@pytest.mark.parametrize(("a", "b"), [(0.0, 1.0), (-1.0, 1.0)])
def test_minimising_the_discriminator_loss_gives_the_optimal_discriminator(a, b):
    # Mao et al. 2017, eq. 4: D*(x) = (b p_data(x) + a p_g(x)) / (p_data(x) + p_g(x))
    real, fake = discrete(P_DATA, P_G)

    def loss(d):
        return discriminator_loss(d[real], d[fake], a, b)

    # the loss is quadratic in D's values on the support: one Newton step from 0 minimises it
    zero = torch.zeros(len(P_DATA), dtype=torch.float64)
    gradient = torch.autograd.functional.jacobian(loss, zero)
    hessian = torch.autograd.functional.hessian(loss, zero)
    d = -torch.linalg.solve(hessian, gradient)
    expected = (b * P_DATA + a * P_G) / (P_DATA + P_G)
    torch.testing.assert_close(d, expected)


def test_generator_objective_at_the_optimum_is_the_pearson_chi2_divergence():
    # eq. 7-8: with b - c = 1 and b - a = 2, 2 C(G) = chi2_Pearson(p_data + p_g || 2 p_g)
    a, b, c = -1.0, 1.0, 0.0
    real, fake = discrete(P_DATA, P_G)
    d_star = (b * P_DATA + a * P_G) / (P_DATA + P_G)
    two_c = 2 * (generator_loss(d_star[real], c) + generator_loss(d_star[fake], c))
    chi2 = ((2 * P_G - (P_DATA + P_G)) ** 2 / (P_DATA + P_G)).sum()
    torch.testing.assert_close(two_c, chi2)


def test_least_squares_loss_does_not_saturate_where_cross_entropy_does():
    # section 3.1: samples far on the real side of the boundary still get a gradient
    fake = torch.tensor([8.0], requires_grad=True)
    (ls_grad,) = torch.autograd.grad(generator_loss(fake, c=1.0), fake)
    (ce_grad,) = torch.autograd.grad(F.softplus(-fake).mean(), fake)
    assert ls_grad.abs().item() == pytest.approx(7.0)
    assert ce_grad.abs().item() < 1e-3


def test_grid_dataset_has_the_papers_modes_and_spread():
    bundle = GaussianGrid(GaussianGrid.Config()).load()
    centres = grid_centres(5, 2.0)
    assert sorted(set(centres[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert bundle.info["modes"] == centres.tolist() and len(centres) == 25
    train = bundle.split("train")["x"]
    assert train.shape == (20000, 2)
    offsets = train - centres[torch.cdist(train, centres).argmin(1)]
    assert offsets.std().item() == pytest.approx(0.05, rel=0.05)
    again = GaussianGrid(GaussianGrid.Config()).load().split("train")["x"]
    assert torch.equal(train, again)


def test_scores_count_modes_and_quality():
    centres = grid_centres(2, 2.0)
    fake = torch.cat([centres[:3].repeat(10, 1), torch.full((10, 2), 9.0)])
    scores = sample_scores(centres, fake, centres.tolist(), 0.1)
    assert scores["modes_covered"] == 3.0 and scores["high_quality"] == pytest.approx(0.75)
    image = density_image(fake, torch.tensor([-2.0, -2.0]), torch.tensor([2.0, 2.0]), size=8)
    assert image.shape == (1, 1, 8, 8) and image.min() == -1.0 and image.max() == 1.0


def test_model_on_points_honours_the_contract(tmp_path):
    result = check_model(LSGAN, GaussianGrid, dataset_overrides=TINY_GRID, workdir=tmp_path)
    assert result.samples.shape == (8, 2)
    assert {"test/modes_covered", "test/fake_to_real"} <= set(result.metrics)


def test_model_on_images_honours_the_contract(tmp_path):
    # labcore's built-in digits: (1, 8, 8) images in [-1, 1]; samples must stay in that range
    result = check_model(LSGAN, "digits", model_overrides={"hidden": 32}, workdir=tmp_path)
    assert result.samples.shape == (8, 1, 8, 8)
    assert result.samples.min() >= -1.0 and result.samples.max() <= 1.0


@pytest.mark.parametrize("recipe", sorted(RECIPES.glob("*.toml")), ids=lambda p: p.stem)
def test_recipes_validate(recipe):
    assert check_recipe(recipe, components=COMPONENTS).model_cls is LSGAN


def test_plugin_is_installed():
    record = check_plugin("lsgan")
    assert record.components == {"model": ["lsgan"], "dataset": ["gaussian-grid"]}


@pytest.mark.quality
def test_covers_every_mode_of_a_small_grid(tmp_path):
    # 2 x 2 well-separated modes: 2000 steps of the grid recipe cover all four
    overrides = ["data.side=2", "data.std=0.3", "train.eval_every=0", "train.sample_every=0"]
    run = run_recipe(
        RECIPES / "lsgan-grid.toml", tmp_path, steps=2000, overrides=overrides,
        components=COMPONENTS,
    )
    metrics = json.loads((run / "metrics.json").read_text())["metrics"]
    assert metrics["test/modes_covered"] == 4.0
    assert metrics["test/high_quality"] > 0.9
