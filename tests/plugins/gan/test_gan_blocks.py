"""The reusable building blocks: network shapes, minibatch std, spectral norm, EMA."""

import copy

import pytest
import torch
from torch import nn

from labcore_builtins.gan.blocks import (
    DCGANDiscriminatorBody,
    DCGANGenerator,
    Discriminator,
    MinibatchStdDev,
    MLPDiscriminatorBody,
    MLPGenerator,
    apply_spectral_norm,
    dcgan_init,
    downsampling_plan,
    ema_decay_at,
    ema_update,
)


@pytest.mark.parametrize(
    "size, plan",
    [((8, 8), (1, 4, 4)), ((28, 28), (2, 7, 7)), ((32, 32), (3, 4, 4)), ((64, 64), (4, 4, 4)),
     ((12, 20), (1, 6, 10)), ((7, 7), (0, 7, 7))],
)  # fmt: skip
def test_downsampling_plan(size, plan):
    assert downsampling_plan(*size) == plan


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32), (3, 12, 20), (1, 7, 7)])
def test_dcgan_networks_map_codes_to_images_and_images_to_scores(shape):
    torch.manual_seed(0)
    g = DCGANGenerator(16, shape, width=8)
    images = g(torch.randn(5, 16))
    assert images.shape == (5, *shape)
    assert images.min() >= -1 and images.max() <= 1
    body = DCGANDiscriminatorBody(shape, width=8, minibatch_std=True)
    d = Discriminator(body)
    assert d.features(images).shape == (5, body.out_features)
    assert d(images).shape == (5,)


def test_mlp_networks():
    g = MLPGenerator(3, 2, hidden=16, layers=2)
    d = Discriminator(MLPDiscriminatorBody(2, hidden=16, layers=2, minibatch_std=True))
    points = g(torch.randn(10, 3))
    assert points.shape == (10, 2)
    assert d(points).shape == (10,)


def test_dcgan_init_draws_weights_with_std_002():
    torch.manual_seed(0)
    conv = nn.Conv2d(64, 64, 4)
    dcgan_init(conv)
    assert conv.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert conv.bias.abs().max() == 0


def minibatch_std_reference(x: torch.Tensor, group_size: int) -> torch.Tensor:
    """Example i joins group column i % M (M = N / G); loops written out in float64."""
    n = x.shape[0]
    group = max(g for g in range(1, group_size + 1) if n % g == 0 and g <= n)
    columns = n // group
    stats = []
    for m in range(columns):
        members = x[[i for i in range(n) if i % columns == m]].double()
        stats.append(members.var(dim=0, unbiased=False).add(1e-8).sqrt().mean())
    extra = torch.stack([stats[i % columns] for i in range(n)]).float()
    shape = (n, 1, *x.shape[2:])
    return torch.cat([x, extra.view(n, *([1] * (x.dim() - 1))).expand(shape)], dim=1)


@pytest.mark.parametrize("n, group_size", [(8, 4), (6, 4), (5, 4), (3, 2)])
def test_minibatch_std_matches_the_written_out_statistic(n, group_size):
    torch.manual_seed(n)
    images = torch.randn(n, 3, 4, 4)
    vectors = torch.randn(n, 7)
    for x in (images, vectors):
        out = MinibatchStdDev(group_size)(x)
        assert out.shape == (n, x.shape[1] + 1, *x.shape[2:])
        assert torch.allclose(out, minibatch_std_reference(x, group_size), atol=1e-6)


def test_minibatch_std_is_small_for_a_collapsed_batch():
    collapsed = torch.randn(1, 5).repeat(8, 1)
    diverse = torch.randn(8, 5)
    layer = MinibatchStdDev()
    assert layer(collapsed)[:, -1].max() < 1e-3 < layer(diverse)[:, -1].min()


def power_iterate(module: nn.Module, x: torch.Tensor) -> None:
    """One training-mode forward: with many power iterations per pass, the estimates converge."""
    module.train()
    with torch.no_grad():
        module(x)
    module.eval()


def input_gradient_norms(critic: nn.Module, x: torch.Tensor) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x)
    return grad.norm(dim=1)


def test_spectral_norm_bounds_the_critics_lipschitz_constant():
    torch.manual_seed(0)
    critic = Discriminator(MLPDiscriminatorBody(2, hidden=64, layers=3))
    for p in critic.parameters():
        p.data.mul_(10)  # a steep critic: without the constraint, gradients are far above 1
    x = torch.randn(512, 2) * 3
    assert input_gradient_norms(critic, x).max() > 10
    apply_spectral_norm(critic, n_power_iterations=200)
    power_iterate(critic, x[:1])
    assert input_gradient_norms(critic, x).max() <= 1 + 1e-3
    a, b = torch.randn(256, 2), torch.randn(256, 2)
    with torch.no_grad():
        ratio = (critic(a) - critic(b)).abs() / (a - b).norm(dim=1)
    assert ratio.max() <= 1 + 1e-3


def test_spectral_norm_normalises_every_weight_of_a_dcgan_critic():
    torch.manual_seed(0)
    body = DCGANDiscriminatorBody((1, 8, 8), 8, "none")
    critic = apply_spectral_norm(Discriminator(body), n_power_iterations=200)
    power_iterate(critic, torch.randn(1, 1, 8, 8))
    layers = [m for m in critic.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 4
    for layer in layers:
        matrix = layer.weight.detach().flatten(1)
        assert torch.linalg.matrix_norm(matrix, ord=2).item() == pytest.approx(1.0, abs=1e-3)


def test_apply_spectral_norm_is_idempotent():
    critic = apply_spectral_norm(nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1)))
    apply_spectral_norm(critic)
    assert all(len(m.parametrizations.weight) == 1 for m in critic if isinstance(m, nn.Linear))


def test_ema_update_is_the_moving_average_and_copies_buffers():
    torch.manual_seed(0)
    source = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    target = copy.deepcopy(source)
    for p in source.parameters():
        p.data.add_(torch.randn_like(p))
    source(torch.randn(8, 3))  # moves the running statistics
    before = [p.detach().clone() for p in target.parameters()]
    ema_update(target, source, decay=0.9)
    for t, b, s in zip(target.parameters(), before, source.parameters(), strict=True):
        assert torch.allclose(t, 0.9 * b + 0.1 * s, atol=1e-6)
    for t, s in zip(target.buffers(), source.buffers(), strict=True):
        assert torch.equal(t, s)


def test_ema_decay_warms_up_then_holds():
    assert ema_decay_at(0.999, 0) == pytest.approx(0.1)
    assert ema_decay_at(0.999, 90) == pytest.approx(91 / 100)
    assert ema_decay_at(0.999, 100_000) == 0.999
