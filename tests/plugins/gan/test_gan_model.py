"""The GAN model: the contract through the real trainer, the update rule, EMA sampling."""

import pytest
import torch

from labcore.schema import SchemaError, build
from labcore.testing import check_model
from labcore_builtins.data import Digits
from labcore_builtins.gan.gan import GAN, GANConfig
from labcore_builtins.gan.toy import Ring

DIGITS_INFO = {"shape": (1, 8, 8), "num_classes": 10, "value_range": (-1.0, 1.0)}
TINY = {"z_dim": 4, "g_width": 4, "d_width": 4, "fixed_samples": 8}
TINY_RING = {"train_size": 64, "val_size": 16, "test_size": 16}


def tiny_gan(**overrides) -> GAN:
    torch.manual_seed(0)
    return GAN(GANConfig(**{**TINY, **overrides}), DIGITS_INFO)


def labcore_digits():
    return Digits(Digits.Config()).load()


def test_dcgan_on_digits_honours_the_model_contract(tmp_path):
    result = check_model(GAN, "digits", model_overrides=TINY, workdir=tmp_path)
    assert result.samples.shape == (8, 1, 8, 8)
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(result.logs[0])
    assert {"val/d_accuracy", "test/d_real", "test/d_fake"} <= set(result.metrics)


def test_mlp_gan_on_the_ring_honours_the_model_contract(tmp_path):
    result = check_model(
        GAN,
        Ring,
        model_overrides={"z_dim": 2, "hidden": 8, "layers": 2, "minibatch_std": True},
        dataset_overrides=TINY_RING,
        workdir=tmp_path,
        components=[Ring],
    )
    assert result.samples.shape == (8, 2)
    assert {"test/modes_covered", "test/high_quality", "test/fake_to_real"} <= set(result.metrics)


def test_a_step_updates_the_discriminator_then_the_generator(step_context):
    model = tiny_gan()
    ctx = step_context(model)
    batch = {"x": torch.rand(6, 1, 8, 8) * 2 - 1}
    model.training_step(batch, ctx)
    assert ctx.calls == ["discriminator", "generator"]


def test_the_generator_step_leaves_the_discriminator_gradients_alone(step_context):
    model = tiny_gan()
    ctx = step_context(model)
    seen = {}
    original = ctx.step

    def step(name, loss):
        original(name, loss)
        seen[name] = [p.grad.clone() for p in model.discriminator.parameters()]

    ctx.step = step
    model.training_step({"x": torch.rand(6, 1, 8, 8) * 2 - 1}, ctx)
    for after_d, after_g in zip(seen["discriminator"], seen["generator"], strict=True):
        assert torch.equal(after_d, after_g)


@pytest.mark.parametrize("loss, sign", [("minimax", -1), ("non-saturating", 1)])
def test_the_configured_generator_loss_is_used(step_context, loss, sign):
    # log(1 - sigmoid) < 0 for the minimax loss, -log(sigmoid) > 0 for the non-saturating one
    model = tiny_gan(loss=loss)
    logs = model.training_step({"x": torch.rand(6, 1, 8, 8) * 2 - 1}, step_context(model))
    assert sign * logs["g_loss"] > 0


def test_samples_come_from_the_moving_average(train_model):
    model = tiny_gan(ema_decay=0.9)
    split = labcore_digits().split("train")
    train_model(model, split, steps=5, batch_size=8)
    z = torch.randn(4, 4, generator=torch.Generator().manual_seed(3))
    samples = model.sample(4, generator=torch.Generator().manual_seed(3))
    model.ema_generator.eval()
    model.generator.eval()
    with torch.no_grad():
        assert torch.allclose(samples, model.ema_generator(z))
        assert not torch.allclose(samples, model.generator(z))
    assert int(model.generator_updates) == 5


def test_without_ema_samples_come_from_the_generator():
    model = tiny_gan(ema_decay=0.0)
    assert model.ema_generator is None
    z = torch.randn(3, 4, generator=torch.Generator().manual_seed(1))
    model.generator.eval()
    with torch.no_grad():
        expected = model.generator(z)
    assert torch.allclose(model.sample(3, generator=torch.Generator().manual_seed(1)), expected)


def test_sample_grids_use_the_fixed_noise_kept_in_the_state_dict():
    model = tiny_gan()
    assert "fixed_noise" in model.state_dict()
    bundle = labcore_digits()
    first, nrow = model.sample_grid(torch.Generator().manual_seed(0), bundle)
    second, _ = model.sample_grid(torch.Generator().manual_seed(99), bundle)
    assert nrow == 8 and first.shape == (8, 1, 8, 8)
    assert torch.equal(first, second)


def test_point_models_show_a_scatter_plot_as_their_sample_grid():
    bundle = Ring(Ring.Config(**TINY_RING)).load()
    torch.manual_seed(0)
    model = GAN(GANConfig(z_dim=2, hidden=8, layers=1, fixed_samples=50), bundle.info)
    image, nrow = model.sample_grid(torch.Generator().manual_seed(0), bundle)
    assert nrow == 1 and image.shape == (1, 3, 550, 550)
    assert image.min() >= -1 and image.max() <= 1


def test_unconditional_samples_reject_a_condition():
    with pytest.raises(ValueError, match="unconditional"):
        tiny_gan().sample(2, generator=torch.Generator(), condition=torch.tensor([1, 2]))


@pytest.mark.parametrize(
    "arch, info, message",
    [
        ("dcgan", {"shape": (2,)}, "use arch = 'mlp'"),
        ("mlp", DIGITS_INFO, "use arch = 'dcgan'"),
    ],
)
def test_mismatched_architecture_and_data_are_explained(arch, info, message):
    with pytest.raises(ValueError, match=message):
        GAN(GANConfig(arch=arch), info)


def test_auto_arch_picks_by_the_data_shape():
    assert GAN(GANConfig(z_dim=2, hidden=4, layers=1), {"shape": (2,)}).arch == "mlp"
    assert tiny_gan().arch == "dcgan"


@pytest.mark.parametrize(
    "section, message",
    [({"ema_decay": 1.0}, "ema_decay"), ({"loss": "lsgan"}, "model.loss"), ({"zdim": 3}, "z_dim")],
)
def test_bad_hyperparameters_are_named(section, message):
    with pytest.raises(SchemaError, match=message):
        build(GANConfig, section, "model")
