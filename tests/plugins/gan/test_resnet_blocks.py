"""The SNGAN ResNets: shapes at 32/48/64 px, the paper's widths, spectral norm on every D layer."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labcore_builtins.gan.attention import SelfAttention
from labcore_builtins.gan.cgan import CGAN, CGANConfig
from labcore_builtins.gan.conditional_norm import ConditionalBatchNorm2d
from labcore_builtins.gan.gan import GAN, GANConfig
from labcore_builtins.gan.resnet_blocks import (
    ResNetDiscriminatorBody,
    ResNetGenerator,
    attention_sides,
    upsample2,
)


def info(side: int, channels: int = 3) -> dict:
    return {"shape": (channels, side, side), "value_range": (-1.0, 1.0), "num_classes": 4}


@pytest.mark.parametrize("side", [32, 48, 64])
@pytest.mark.parametrize("classes", [0, 4])
def test_generator_and_discriminator_shapes(side, classes):
    torch.manual_seed(0)
    generator = ResNetGenerator(16, (3, side, side), width=8, num_classes=classes)
    body = ResNetDiscriminatorBody((3, side, side), width=8)
    y = torch.tensor([0, 3]) if classes else None
    x = generator(torch.randn(2, 16), y)
    assert x.shape == (2, 3, side, side)
    assert x.abs().max() <= 1.0
    assert body(x).shape == (2, body.out_features)


def test_cifar_networks_have_the_paper_widths():
    generator = ResNetGenerator(128, (3, 32, 32), width=64)
    body = ResNetDiscriminatorBody((3, 32, 32), width=64)
    assert generator.start == (256, 4, 4)  # dense 4x4x256 (table 4)
    assert [b.conv1.out_channels for b in generator.blocks] == [256, 256, 256]
    assert [b.conv1.out_channels for b in body.blocks] == [128, 128, 128, 128]
    assert [b.down for b in body.blocks] == [True, True, False, False]
    assert body.blocks[0].first and not body.blocks[1].first
    # the parameter counts of the published SNGAN CIFAR-10 ResNets: 4.3M and 1.0M
    assert sum(p.numel() for p in generator.parameters()) == pytest.approx(4.28e6, rel=0.01)
    assert sum(p.numel() for p in body.parameters()) == pytest.approx(1.05e6, rel=0.01)


def test_unsupported_sizes_are_refused_naming_the_supported_ones():
    with pytest.raises(ValueError, match="32, 48, 64 px"):
        GAN(GANConfig(arch="resnet"), info(28, channels=1))


def test_discriminator_sums_relu_features_over_positions():
    body = ResNetDiscriminatorBody((1, 32, 32), width=8)
    x = torch.randn(3, 1, 32, 32)
    features = torch.relu(body.blocks(x))
    assert torch.allclose(body(x), features.sum(dim=(2, 3)))


@pytest.mark.parametrize("model_cls,config_cls", [(GAN, GANConfig), (CGAN, CGANConfig)])
def test_spectral_norm_on_every_discriminator_layer(model_cls, config_cls):
    extra = {"conditioning": "projection"} if model_cls is CGAN else {}
    config = config_cls(arch="resnet", g_width=8, d_width=8, spectral_norm=True, attention_at=16,
                        **extra)  # fmt: skip
    model = model_cls(config, info(32))
    layers = [m for m in model.discriminator.modules()
              if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding))]  # fmt: skip
    assert len(layers) >= 15  # convolutions, shortcuts, attention, head (and projection)
    assert all(hasattr(m, "parametrizations") for m in layers)
    for layer in layers:
        weight = layer.weight.detach().flatten(1)
        assert torch.linalg.matrix_norm(weight, ord=2) < 1.2  # one power iteration per pass


def test_conditional_resnet_generator_uses_conditional_batch_norm():
    model = CGAN(CGANConfig(arch="resnet", g_width=8, d_width=8), info(32))
    norms = [m for m in model.generator.modules() if isinstance(m, ConditionalBatchNorm2d)]
    assert len(norms) == 6  # two per up block
    assert all(n.scale.num_embeddings == 4 for n in norms)
    with pytest.raises(ValueError, match="labels y"):
        model.generator(torch.randn(2, model.config.z_dim))


@pytest.mark.parametrize("side,at", [(32, 8), (32, 16), (64, 32), (48, 12)])
def test_self_attention_sits_after_the_blocks_of_the_chosen_side(side, at):
    generator = ResNetGenerator(8, (3, side, side), width=8, attention_at=at)
    body = ResNetDiscriminatorBody((3, side, side), width=8, attention_at=at)
    sides = []
    h = generator.project(torch.randn(2, 8)).view(-1, *generator.start)
    for i, block in enumerate(generator.blocks):
        h = block(h)
        if str(i) in generator.attention:
            sides.append(h.shape[-1])
    h = torch.randn(2, 3, side, side)
    for layer in body.blocks:
        if isinstance(layer, SelfAttention):
            sides.append(h.shape[-1])
        h = layer(h)
    assert sides == [at, at]


def test_attention_at_must_be_a_side_both_networks_have():
    assert attention_sides((3, 32, 32)) == [8, 16]
    with pytest.raises(ValueError, match="side 8 or 16"):
        GAN(GANConfig(arch="resnet", attention_at=32), info(32))
    with pytest.raises(ValueError, match="arch = 'resnet'"):
        GANConfig(arch="dcgan", attention_at=16)


@pytest.mark.parametrize("shape", [(2, 3, 4, 4), (1, 5, 3, 7)])
def test_upsample2_is_nearest_interpolation_forward_and_backward(shape):
    torch.manual_seed(0)
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(shape[0], shape[1], 2 * shape[2], 2 * shape[3], dtype=torch.float64)
    ours = upsample2(x)
    (grad,) = torch.autograd.grad((ours * weights).sum(), x)
    reference = F.interpolate(x, scale_factor=2, mode="nearest")
    (reference_grad,) = torch.autograd.grad((reference * weights).sum(), x)
    assert torch.equal(ours, reference)
    torch.testing.assert_close(grad, reference_grad, rtol=1e-12, atol=1e-12)  # sums of 4
