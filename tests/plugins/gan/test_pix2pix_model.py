"""pix2pix: U-Net, PatchGAN, dropout as noise, the L1 + adversarial step, evaluation."""

import numpy as np
import pytest
import torch
from torch import nn

from labcore import DataBundle, TensorSplit
from labcore.images import grid_picture, picture_tensor, to_uint8
from labcore.testing import run_recipe
from labcore_builtins.gan.pix2pix import (
    NoiseDropout,
    PatchDiscriminator,
    Pix2Pix,
    Pix2PixConfig,
    UNetGenerator,
    patch_receptive_field,
    unet_max_depth,
)
from labcore_builtins.gan.similarity import l1_per_image, psnr_per_image

INFO = {"shape": (1, 8, 8), "condition_shape": (1, 8, 8), "value_range": (-1.0, 1.0)}
TINY = {"width": 4, "d_width": 4, "patch_layers": 1, "grid_size": 3}


def tiny_pix2pix(**overrides) -> Pix2Pix:
    torch.manual_seed(0)
    return Pix2Pix(Pix2PixConfig(**{**TINY, **overrides}), INFO)


def pairs(n: int = 6, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    target = torch.rand(n, 1, 8, 8, generator=gen) * 2 - 1
    return {"condition": (target > 0).float() * 2 - 1, "x": target}


@pytest.mark.parametrize(
    "size, depth", [((8, 8), 3), ((28, 28), 2), ((256, 256), 8), ((12, 20), 2), ((7, 7), 0)]
)
def test_unet_max_depth(size, depth):
    assert unet_max_depth(*size) == depth


@pytest.mark.parametrize("channels, size, depth", [((1, 1), (8, 8), 0), ((3, 1), (28, 28), 2),
                                                    ((1, 3), (32, 32), 5)])  # fmt: skip
def test_unet_maps_inputs_to_outputs_of_the_same_size(channels, size, depth):
    net = UNetGenerator(channels[0], channels[1], size, width=4, depth=depth)
    out = net(torch.randn(2, channels[0], *size))
    assert out.shape == (2, channels[1], *size)
    assert out.abs().max() <= 1


def test_unet_skip_connections_carry_the_input_past_the_bottleneck():
    # With a zeroed innermost stage, information can only reach the output through the skips.
    torch.manual_seed(0)
    net = UNetGenerator(1, 1, (8, 8), width=4, dropout=0.0).eval()
    for p in net.down[-1].parameters():
        nn.init.zeros_(p)
    x = torch.randn(1, 1, 8, 8, requires_grad=True)
    net(x)[0, 0, 3, 3].backward()
    assert x.grad.abs().sum() > 0


def test_too_deep_a_unet_is_explained():
    with pytest.raises(ValueError, match="use depth <= 3"):
        UNetGenerator(1, 1, (8, 8), depth=4)


def test_patchgan_receptive_field_is_70_pixels_for_three_layers():
    assert patch_receptive_field(3) == 70
    torch.manual_seed(0)
    d = PatchDiscriminator(1, (128, 128), width=4, layers=3, norm="none")
    x = torch.randn(1, 1, 128, 128, requires_grad=True)
    out = d(x)
    assert out.shape == (1, 1, 14, 14)  # floor(128 / 8) - 2
    out[0, 0, 7, 7].backward()
    rows = x.grad[0, 0].abs().sum(1).nonzero()
    cols = x.grad[0, 0].abs().sum(0).nonzero()
    assert rows.max() - rows.min() + 1 == 70 and cols.max() - cols.min() + 1 == 70


def test_too_many_patch_layers_are_explained():
    with pytest.raises(ValueError, match="between 1 and 1"):
        PatchDiscriminator(2, (8, 8), layers=2)


def test_noise_dropout_is_drawn_from_the_given_generator():
    layer = NoiseDropout(0.5, at_test_time=True).eval()
    x = torch.ones(4, 16)
    first = layer(x, torch.Generator().manual_seed(1))
    assert torch.equal(first, layer(x, torch.Generator().manual_seed(1)))
    assert not torch.equal(first, layer(x, torch.Generator().manual_seed(2)))
    assert set(first.unique().tolist()) <= {0.0, 2.0}


def test_noise_dropout_can_be_turned_off_at_test_time():
    layer = NoiseDropout(0.5, at_test_time=False).eval()
    x = torch.ones(4, 16)
    assert torch.equal(layer(x, torch.Generator()), x)
    assert not torch.equal(layer.train()(x), x)


def test_a_step_updates_the_patchgan_then_the_unet(step_context):
    model = tiny_pix2pix()
    ctx = step_context(model)
    logs = {k: float(v) for k, v in model.training_step(pairs(), ctx).items()}
    assert ctx.calls == ["discriminator", "generator"]
    assert {"d_loss", "g_adv", "g_loss", "l1"} <= set(logs)
    assert logs["g_loss"] == pytest.approx(logs["g_adv"] + 100 * logs["l1"], rel=1e-5)


def test_without_the_adversarial_term_it_is_an_l1_unet(step_context):
    model = tiny_pix2pix(gan_weight=0.0, l1_weight=1.0)
    assert model.discriminator is None
    ctx = step_context(model)
    assert set(ctx.optimizers) == {"generator"}
    logs = model.training_step(pairs(), ctx)
    assert ctx.calls == ["generator"] and logs["g_loss"] == pytest.approx(logs["l1"])


def test_training_reduces_the_l1_distance(train_model):
    model = tiny_pix2pix(width=8, dropout=0.0)
    split = TensorSplit(**pairs(64))
    adam = {"name": "adam", "lr": 2e-3}
    _, logs = train_model(model, split, steps=60, batch_size=16, optimizer=adam)
    assert sum(log["l1"] for log in logs[-10:]) < 0.7 * sum(log["l1"] for log in logs[:10])


def test_sample_translates_the_given_inputs_reproducibly():
    model = tiny_pix2pix()
    inputs = pairs(3)["condition"]
    first = model.sample(3, generator=torch.Generator().manual_seed(0), condition=inputs)
    second = model.sample(3, generator=torch.Generator().manual_seed(0), condition=inputs)
    assert first.shape == (3, 1, 8, 8) and torch.equal(first, second)
    with pytest.raises(ValueError, match="pass them as condition"):
        model.sample(3, generator=torch.Generator())
    with pytest.raises(ValueError, match="got 3 input images"):
        model.sample(2, generator=torch.Generator(), condition=inputs)


def test_the_grid_shows_input_output_target_rows():
    model = tiny_pix2pix()
    data = pairs(5)
    bundle = DataBundle(splits={"train": TensorSplit(**pairs(8, 1)), "val": TensorSplit(**data)})
    images, nrow = model.grid_rows(torch.Generator().manual_seed(0), bundle)
    assert nrow == 3 and images.shape == (9, 1, 8, 8)
    assert torch.equal(images[0::3], data["condition"][:3])
    assert torch.equal(images[2::3], data["x"][:3])
    expected = model.translate(data["condition"][:3], torch.Generator().manual_seed(0))
    assert torch.equal(images[1::3], expected)


def test_the_sample_grid_is_the_rows_drawn_large_under_their_headers():
    model = tiny_pix2pix()
    data = pairs(5)
    splits = {"train": TensorSplit(**pairs(8, 1)), "val": TensorSplit(**data)}
    bundle = DataBundle(splits=splits, info={"value_range": (-1.0, 1.0)})
    picture, nrow = model.sample_grid(torch.Generator().manual_seed(0), bundle)
    rows, _ = model.grid_rows(torch.Generator().manual_seed(0), bundle)
    plain = to_uint8(picture_tensor(grid_picture(rows, 3, scale=8)))[0]
    drawn = to_uint8(picture)[0]
    assert nrow == 1 and drawn.shape[1] == plain.shape[1]
    headers = drawn.shape[0] - plain.shape[0]
    assert headers > 0 and (drawn[:headers] < 128).any()  # input | output | target
    np.testing.assert_array_equal(drawn[headers:], plain)
    assert "fixed noise" not in model.grid_caption and "target" in model.grid_caption


def test_evaluate_reports_l1_psnr_and_ssim_of_outputs_against_targets(eval_context):
    model = tiny_pix2pix()
    split = TensorSplit(**pairs(10))
    out = model.evaluate(split, eval_context(4))
    assert set(out) == {"l1", "psnr", "ssim"}
    gen = torch.Generator().manual_seed(0)
    outputs = torch.cat([model.translate(split["condition"][i : i + 4], gen) for i in (0, 4, 8)])
    assert out["l1"] == pytest.approx(l1_per_image(outputs, split["x"]).mean().item())
    assert out["psnr"] == pytest.approx(psnr_per_image(outputs, split["x"], 2.0).mean().item())
    assert -1 <= out["ssim"] <= 1


@pytest.mark.parametrize(
    "info, message",
    [
        ({"shape": (1, 8, 8)}, "paired dataset such as edges2digits"),
        ({"shape": (1, 8, 8), "condition_shape": (1, 16, 16)}, "same size"),
    ],
)
def test_unpaired_data_is_explained(info, message):
    with pytest.raises(ValueError, match=message):
        Pix2Pix(Pix2PixConfig(), info)


def test_a_resumed_run_reproduces_the_uninterrupted_one(tmp_path, labcore_cli):
    # check_model cannot drive pix2pix (its samples need inputs), so resume through the CLI.
    recipe = "pix2pix-edges2digits"
    settings = ["model.width=4", "model.d_width=4", "train.batch_size=8", "evaluate.metrics=[]"]
    straight = run_recipe(recipe, tmp_path / "straight", steps=4, overrides=settings)
    halfway = run_recipe(recipe, tmp_path / "resumed", steps=2, overrides=settings)
    labcore_cli("resume", halfway, "--set", "train.max_steps=4", check=0)
    a = torch.load(straight / "checkpoints" / "last.pt", weights_only=False)["model"]
    b = torch.load(halfway / "checkpoints" / "last.pt", weights_only=False)["model"]
    assert a.keys() == b.keys() and int(b["generator_updates"]) == 4
    assert all(torch.equal(a[key], b[key]) for key in a)
