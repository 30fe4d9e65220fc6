"""The conditional GAN: label conditioning, projection, sampling chosen classes, per-class grids."""

import pytest
import torch

from labcore.testing import check_model
from labcore_builtins.gan.cgan import CGAN, CGANConfig, ProjectionDiscriminator

INFO = {"shape": (1, 8, 8), "num_classes": 10, "value_range": (-1.0, 1.0)}
TINY = {"z_dim": 4, "g_width": 4, "d_width": 4, "embed_dim": 3, "fixed_samples": 8}


def tiny_cgan(**overrides) -> CGAN:
    torch.manual_seed(0)
    return CGAN(CGANConfig(**{**TINY, **overrides}), INFO)


@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_cgan_on_digits_honours_the_model_contract(tmp_path, conditioning):
    result = check_model(
        CGAN, "digits", model_overrides={**TINY, "conditioning": conditioning}, workdir=tmp_path
    )
    assert result.samples.shape == (8, 1, 8, 8)


def test_projection_discriminator_is_head_plus_inner_product():
    model = tiny_cgan(conditioning="projection")
    d = model.discriminator
    assert isinstance(d, ProjectionDiscriminator)
    d.eval()
    x, y = torch.rand(5, 1, 8, 8), torch.tensor([0, 3, 3, 9, 1])
    with torch.no_grad():
        phi = d.body(x)
        expected = d.head(phi).squeeze(1) + (d.embed.weight[y] * phi).sum(1)
        assert torch.allclose(d(x, y), expected, atol=1e-6)


@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_both_networks_depend_on_the_label(conditioning):
    model = tiny_cgan(conditioning=conditioning).eval()
    x, z = torch.rand(4, 1, 8, 8), torch.randn(4, 4)
    zeros, threes = torch.zeros(4, dtype=torch.long), torch.full((4,), 3)
    with torch.no_grad():
        assert not torch.allclose(model.discriminator(x, zeros), model.discriminator(x, threes))
        assert not torch.allclose(model.generator(z, zeros), model.generator(z, threes))


def test_sampling_chosen_classes_is_reproducible():
    model = tiny_cgan()
    labels = torch.tensor([7, 7, 2])
    first = model.sample(3, generator=torch.Generator().manual_seed(5), condition=labels)
    second = model.sample(3, generator=torch.Generator().manual_seed(5), condition=labels)
    assert first.shape == (3, 1, 8, 8) and torch.equal(first, second)
    other = model.sample(3, generator=torch.Generator().manual_seed(5), condition=labels + 1)
    assert not torch.allclose(first, other)


def test_labels_default_to_cycling_through_the_classes():
    model = tiny_cgan()
    assert model.labels(None, 12).tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]


@pytest.mark.parametrize(
    "labels, message",
    [(torch.tensor([1, 2]), "got 2 labels"), (torch.tensor([0, 10, 1]), r"in \[0, 9\]")],
)
def test_bad_labels_are_explained(labels, message):
    with pytest.raises(ValueError, match=message):
        tiny_cgan().sample(3, generator=torch.Generator(), condition=labels)


def test_the_grid_has_one_row_per_class_and_one_noise_per_column():
    model = tiny_cgan(fixed_samples=5)
    images, nrow = model.sample_grid(torch.Generator().manual_seed(0), bundle=None)
    assert nrow == 5 and images.shape == (50, 1, 8, 8)
    for cls in (0, 4, 9):
        y = torch.full((5,), cls)
        expected = model.generate(model.fixed_noise, y)
        assert torch.allclose(images[cls * 5 : (cls + 1) * 5], expected)


def test_a_dataset_without_classes_is_explained():
    with pytest.raises(ValueError, match="num_classes"):
        CGAN(CGANConfig(**TINY), {"shape": (1, 8, 8)})
