"""The probability pieces of the VAE family against torch.distributions and hand computation."""

import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from labcore_builtins.vae.bounds import (
    bernoulli_log_prob,
    elbo,
    gaussian_kl,
    gaussian_log_prob,
    iwae_bound,
    log_normal,
    log_standard_normal,
    reparameterise,
)


def test_gaussian_kl_by_hand():
    # KL(N(0.5, 0.25) || N(0, 1)) = 0.5 * (0.25 + 0.25 - 1 - log 0.25) per dimension
    mu = torch.tensor([[0.5, 0.0]], dtype=torch.float64)
    logvar = torch.tensor([[math.log(0.25), 0.0]], dtype=torch.float64)
    expected = 0.5 * (0.25 + 0.25 - 1 - math.log(0.25)) + 0.0
    assert gaussian_kl(mu, logvar).item() == pytest.approx(expected, rel=1e-12)


def test_gaussian_kl_matches_torch_distributions_float64():
    generator = torch.Generator().manual_seed(0)
    mu = torch.randn(5, 3, dtype=torch.float64, generator=generator)
    logvar = torch.randn(5, 3, dtype=torch.float64, generator=generator)
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = kl_divergence(q, p).sum(-1)
    torch.testing.assert_close(gaussian_kl(mu, logvar), expected, rtol=1e-12, atol=1e-12)


def test_log_normal_and_prior_match_torch_distributions():
    generator = torch.Generator().manual_seed(1)
    z = torch.randn(4, 6, 3, dtype=torch.float64, generator=generator)  # (k, N, D)
    mu = torch.randn(6, 3, dtype=torch.float64, generator=generator)
    logvar = torch.randn(6, 3, dtype=torch.float64, generator=generator)
    expected = Normal(mu, torch.exp(0.5 * logvar)).log_prob(z).sum(-1)
    torch.testing.assert_close(log_normal(z, mu, logvar), expected, rtol=1e-12, atol=1e-12)
    prior = Normal(torch.zeros(()), torch.ones(())).log_prob(z).sum(-1)
    torch.testing.assert_close(log_standard_normal(z), prior, rtol=1e-12, atol=1e-12)


def test_bernoulli_log_prob_matches_torch_and_hand_value():
    logits = torch.tensor([[0.0, 2.0, -1.0]], dtype=torch.float64)
    target = torch.tensor([[1.0, 0.0, 1.0]], dtype=torch.float64)
    p = torch.sigmoid(logits)
    by_hand = math.log(0.5) + math.log(1 - p[0, 1].item()) + math.log(p[0, 2].item())
    assert bernoulli_log_prob(logits, target).item() == pytest.approx(by_hand, rel=1e-12)
    grey = torch.rand(3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    more = torch.randn(2, 3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    expected = Bernoulli(logits=more, validate_args=False).log_prob(grey).sum(-1)
    torch.testing.assert_close(bernoulli_log_prob(more, grey), expected)


def test_gaussian_log_prob_matches_torch_distributions():
    generator = torch.Generator().manual_seed(4)
    mean = torch.rand(2, 3, 7, dtype=torch.float64, generator=generator)
    target = torch.rand(3, 7, dtype=torch.float64, generator=generator)
    log_std = torch.tensor(math.log(0.1), dtype=torch.float64)
    expected = Normal(mean, log_std.exp()).log_prob(target).sum(-1)
    torch.testing.assert_close(gaussian_log_prob(mean, log_std, target), expected)


def test_reparameterise_has_the_posterior_moments():
    mu = torch.tensor([[1.0, -2.0]])
    logvar = torch.tensor([[math.log(4.0), math.log(0.01)]])
    eps = torch.randn(200_000, 1, 2, generator=torch.Generator().manual_seed(5))
    z = reparameterise(mu, logvar, eps)
    torch.testing.assert_close(z.mean(0), mu, atol=2e-2, rtol=0)
    torch.testing.assert_close(z.std(0), torch.tensor([[2.0, 0.1]]), atol=1e-2, rtol=0)


def test_iwae_bound_is_log_mean_exp():
    log_w = torch.tensor([[0.0, -1.0], [math.log(3.0), -1.0]], dtype=torch.float64)
    bound = iwae_bound(log_w)
    assert bound[0].item() == pytest.approx(math.log((1 + 3) / 2), rel=1e-12)
    assert bound[1].item() == pytest.approx(-1.0, rel=1e-12)
    huge = torch.tensor([[-1000.0], [-1001.0]], dtype=torch.float64)  # exp underflows
    expected = -1000.0 + math.log((1 + math.exp(-1.0)) / 2)
    assert iwae_bound(huge).item() == pytest.approx(expected, rel=1e-12)


def test_elbo_is_likelihood_minus_kl():
    assert elbo(torch.tensor([-5.0]), torch.tensor([2.0])).item() == -7.0
