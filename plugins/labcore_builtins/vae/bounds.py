"""The probability pieces of the VAE family: densities, the KL term, the ELBO and the IWAE bound.

Every function returns one value per example, in nats, summed over the event dimension (the last
one: the latent size ``D`` or the number of pixels ``P``); leading dimensions broadcast, so the
same code serves a batch ``(N, ...)`` and ``k`` importance samples per example ``(k, N, ...)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2.0 * math.pi)


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """The reparameterisation trick (Kingma and Welling 2014, section 2.4):
    :math:`z = \\mu + \\sigma \\odot \\epsilon`, :math:`\\sigma = \\exp(\\tfrac12 \\log \\sigma^2)`.

    Shapes: ``mu, logvar (N, D)``; ``eps (N, D)`` or ``(k, N, D)`` standard normal draws; the
    result has the shape of ``eps``.
    """
    return mu + torch.exp(0.5 * logvar) * eps


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """:math:`KL(\\mathcal N(\\mu, \\operatorname{diag}\\sigma^2) \\,\\|\\, \\mathcal N(0, I))` in
    closed form (Kingma and Welling 2014, appendix B):

    .. math:: KL = \\tfrac12 \\sum_j (\\mu_j^2 + \\sigma_j^2 - 1 - \\log \\sigma_j^2)

    Shapes: ``(..., D) -> (...)``.
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


def log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """:math:`\\log \\mathcal N(z; \\mu, \\operatorname{diag} \\sigma^2)
    = -\\tfrac12 \\sum_j [\\log 2\\pi + \\log \\sigma_j^2 + (z_j - \\mu_j)^2 / \\sigma_j^2]`.

    Shapes: ``(..., D) -> (...)`` (``mu`` and ``logvar`` broadcast against ``z``).
    """
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) * torch.exp(-logvar)).sum(-1)


def log_standard_normal(z: torch.Tensor) -> torch.Tensor:
    """The prior's log density :math:`\\log \\mathcal N(z; 0, I)`. Shapes: ``(..., D) -> (...)``."""
    return -0.5 * (LOG_2PI + z.pow(2)).sum(-1)


def bernoulli_log_prob(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """:math:`\\log p(x \\mid z) = \\sum_i [x_i \\log \\pi_i + (1 - x_i) \\log(1 - \\pi_i)]`,
    :math:`\\pi = \\sigma(\\text{logits})`: the Bernoulli decoder (Kingma and Welling 2014,
    appendix C.1), written as a negative binary cross-entropy on logits (exact, no overflow).

    ``target`` holds values in ``[0, 1]``; grey levels are allowed (the usual "continuous
    Bernoulli-style" use on non-binary images, whose values are then not normalised
    probabilities). Shapes: ``(..., P), (..., P) -> (...)``.
    """
    target = target.expand_as(logits)
    return -F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)


def gaussian_log_prob(
    mean: torch.Tensor, log_std: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """:math:`\\log \\mathcal N(x; \\mu, s^2 I) = -\\sum_i [\\tfrac12 \\log 2\\pi + \\log s
    + (x_i - \\mu_i)^2 / 2 s^2]`: the Gaussian decoder (Kingma and Welling 2014, appendix C.2).

    ``log_std`` is a scalar tensor or broadcasts against ``mean``. Shapes:
    ``(..., P), (..., P) -> (...)``.
    """
    log_std = log_std.expand_as(mean)
    z = (target - mean) * torch.exp(-log_std)
    return -(0.5 * LOG_2PI + log_std + 0.5 * z.pow(2)).sum(-1)


def elbo(log_px_z: torch.Tensor, kl: torch.Tensor) -> torch.Tensor:
    """The evidence lower bound (Kingma and Welling 2014, eq. 3):
    :math:`\\mathcal L = \\mathbb E_{q(z|x)}[\\log p(x|z)] - KL(q(z|x) \\| p(z)) \\le \\log p(x)`,
    here with the one-sample estimate of the first term and the closed-form KL."""
    return log_px_z - kl


def iwae_bound(log_weights: torch.Tensor) -> torch.Tensor:
    """The importance-weighted bound (Burda et al. 2016, eq. 8) from ``k`` log weights per example:

    .. math::
        \\mathcal L_k = \\log \\frac1k \\sum_{i=1}^k w_i, \\qquad
        \\log w_i = \\log p(x \\mid z_i) + \\log p(z_i) - \\log q(z_i \\mid x),
        \\quad z_i \\sim q(z \\mid x)

    computed as a log-sum-exp. :math:`\\mathcal L_1` is the ELBO (with a Monte Carlo KL),
    :math:`\\mathbb E \\mathcal L_k` grows with ``k`` and tends to :math:`\\log p(x)`.

    Shapes: ``(k, N) -> (N,)``.
    """
    k = log_weights.shape[0]
    return torch.logsumexp(log_weights, dim=0) - math.log(k)
