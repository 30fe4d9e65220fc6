"""The adversarial losses against hand computations with the sigmoid written out."""

import math

import pytest
import torch

from labcore_builtins.gan import losses

REAL = torch.tensor([2.0, -1.0, 0.5])
FAKE = torch.tensor([-3.0, 0.0, 1.5])


def sigmoid(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def test_discriminator_bce_is_cross_entropy_of_real_vs_fake():
    expected = -mean(math.log(sigmoid(t)) for t in REAL) - mean(
        math.log(1 - sigmoid(t)) for t in FAKE
    )
    assert losses.discriminator_bce_loss(REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_generator_minimax_and_non_saturating():
    minimax = mean(math.log(1 - sigmoid(t)) for t in FAKE)
    non_saturating = -mean(math.log(sigmoid(t)) for t in FAKE)
    assert losses.generator_minimax_loss(FAKE).item() == pytest.approx(minimax, rel=1e-6)
    assert losses.generator_non_saturating_loss(FAKE).item() == pytest.approx(
        non_saturating, rel=1e-6
    )


def test_minimax_gradient_saturates_where_non_saturating_does_not():
    # A discriminator that confidently rejects the sample: D(G(z)) = -10.
    fake = torch.tensor([-10.0], requires_grad=True)
    (g_mm,) = torch.autograd.grad(losses.generator_minimax_loss(fake), fake)
    (g_ns,) = torch.autograd.grad(losses.generator_non_saturating_loss(fake), fake)
    assert abs(g_mm.item()) < 1e-4
    assert abs(g_ns.item()) > 0.99


def test_softplus_forms_do_not_overflow():
    big = torch.tensor([1e4, -1e4])
    assert torch.isfinite(losses.discriminator_bce_loss(big, -big))
    assert torch.isfinite(losses.generator_non_saturating_loss(big))


def test_hinge_losses():
    d = mean(max(0, 1 - t) for t in REAL) + mean(max(0, 1 + t) for t in FAKE)
    assert losses.discriminator_hinge_loss(REAL, FAKE).item() == pytest.approx(d)
    assert losses.generator_hinge_loss(FAKE).item() == pytest.approx(-mean(FAKE.tolist()))


def test_wasserstein_losses_and_estimate():
    estimate = mean(REAL.tolist()) - mean(FAKE.tolist())
    assert losses.wasserstein_estimate(REAL, FAKE).item() == pytest.approx(estimate)
    assert losses.critic_wasserstein_loss(REAL, FAKE).item() == pytest.approx(-estimate)
    assert losses.generator_wasserstein_loss(FAKE).item() == pytest.approx(-mean(FAKE.tolist()))


@pytest.mark.parametrize("kind", ["minimax", "non-saturating", "hinge"])
def test_loss_dispatch(kind):
    d_expected = (
        losses.discriminator_hinge_loss(REAL, FAKE)
        if kind == "hinge"
        else losses.discriminator_bce_loss(REAL, FAKE)
    )
    g_expected = {
        "minimax": losses.generator_minimax_loss,
        "non-saturating": losses.generator_non_saturating_loss,
        "hinge": losses.generator_hinge_loss,
    }[kind](FAKE)
    assert torch.equal(losses.discriminator_loss(kind, REAL, FAKE), d_expected)
    assert torch.equal(losses.generator_loss(kind, FAKE), g_expected)


def test_unknown_generator_loss_is_named():
    with pytest.raises(ValueError, match="unknown GAN loss 'lsgan'"):
        losses.generator_loss("lsgan", FAKE)


def test_gradient_penalty_of_a_linear_critic_is_its_formula():
    # D(x) = <w, x>: the gradient is w everywhere, so GP = (||w|| - 1)^2 for any interpolate.
    w = torch.tensor([3.0, 4.0, 0.0, 12.0]).view(1, 4)  # ||w|| = 13
    real, fake = torch.randn(6, 1, 2, 2), torch.randn(6, 1, 2, 2)
    gp = losses.gradient_penalty(lambda x: (x.flatten(1) * w).sum(1), real, fake)
    assert gp.item() == pytest.approx((13.0 - 1.0) ** 2)


def test_gradient_penalty_of_a_quadratic_critic_matches_the_interpolates():
    # D(x) = ||x||^2 / 2 has gradient x, so GP = mean((||x_hat|| - 1)^2) with the same epsilons.
    real, fake = torch.randn(5, 3), torch.randn(5, 3)
    gp = losses.gradient_penalty(
        lambda x: 0.5 * x.pow(2).sum(1), real, fake, generator=torch.Generator().manual_seed(7)
    )
    eps = torch.rand(5, 1, generator=torch.Generator().manual_seed(7))
    x_hat = eps * real + (1 - eps) * fake
    expected = ((x_hat.norm(dim=1) - 1) ** 2).mean()
    assert gp.item() == pytest.approx(expected.item(), rel=1e-5)


def test_gradient_penalty_reaches_the_critic_weights():
    critic = torch.nn.Linear(3, 1)
    real, fake = torch.randn(4, 3), torch.randn(4, 3)
    gp = losses.gradient_penalty(lambda x: critic(x).squeeze(1), real, fake)
    gp.backward()
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    w = critic.weight.detach()
    expected = 2 * (w.norm() - 1) * w / w.norm()
    assert torch.allclose(critic.weight.grad, expected, atol=1e-5)


def test_gradient_penalty_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="differ"):
        losses.gradient_penalty(lambda x: x.sum(1), torch.zeros(2, 3), torch.zeros(3, 3))
