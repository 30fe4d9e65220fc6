"""Adversarial losses, written on the discriminator's raw outputs (logits or critic values).

Notation: :math:`D(x)` is the discriminator's output *before* any sigmoid, for real data
:math:`x \\sim p_{data}` and for generated data :math:`\\tilde x = G(z)`, :math:`z \\sim p_z`.
:math:`\\sigma` is the logistic sigmoid. Every function takes tensors of any shape (one value per
example, or one per patch for PatchGAN) and averages over all their elements.

The logarithms of the sigmoid are computed through softplus,
:math:`\\log \\sigma(t) = -\\operatorname{softplus}(-t)` and
:math:`\\log (1 - \\sigma(t)) = -\\operatorname{softplus}(t)`, which is exact and never overflows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F

GanLoss = Literal["minimax", "non-saturating", "hinge"]


def discriminator_bce_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss of the original GAN (Goodfellow et al. 2014, eq. 1).

    .. math::
        L_D = -\\mathbb{E}_x[\\log \\sigma(D(x))] - \\mathbb{E}_z[\\log(1 - \\sigma(D(G(z))))]

    The binary cross-entropy of calling real data real and generated data fake. It serves both the
    ``minimax`` and the ``non-saturating`` objectives, which differ only in the generator's loss.
    """
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def generator_minimax_loss(fake: torch.Tensor) -> torch.Tensor:
    """The generator's side of the minimax game (Goodfellow et al. 2014, eq. 1).

    .. math:: L_G = \\mathbb{E}_z[\\log(1 - \\sigma(D(G(z))))]

    Its gradient vanishes when the discriminator confidently rejects the samples, which is why
    the paper recommends the non-saturating loss in practice.
    """
    return -F.softplus(fake).mean()


def generator_non_saturating_loss(fake: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss (Goodfellow et al. 2014, section 3).

    .. math:: L_G = -\\mathbb{E}_z[\\log \\sigma(D(G(z)))]

    Same fixed point as the minimax loss, strong gradients early in training.
    """
    return F.softplus(-fake).mean()


def discriminator_hinge_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The hinge loss of the discriminator (Lim and Ye 2017; Miyato et al. 2018, eq. 16).

    .. math::
        L_D = \\mathbb{E}_x[\\max(0, 1 - D(x))] + \\mathbb{E}_z[\\max(0, 1 + D(G(z)))]
    """
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def generator_hinge_loss(fake: torch.Tensor) -> torch.Tensor:
    """The generator's loss paired with the hinge discriminator loss (Miyato et al. 2018, eq. 17).

    .. math:: L_G = -\\mathbb{E}_z[D(G(z))]
    """
    return -fake.mean()


def critic_wasserstein_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The WGAN critic's loss (Arjovsky et al. 2017, eq. 3, negated to be minimised).

    .. math:: L_C = \\mathbb{E}_z[D(G(z))] - \\mathbb{E}_x[D(x)]

    For a 1-Lipschitz critic, :math:`-L_C` is a lower bound of the Wasserstein-1 distance between
    the data and the generator's distributions; see :func:`wasserstein_estimate`.
    """
    return fake.mean() - real.mean()


def generator_wasserstein_loss(fake: torch.Tensor) -> torch.Tensor:
    """The WGAN generator's loss (Arjovsky et al. 2017, algorithm 1).

    .. math:: L_G = -\\mathbb{E}_z[D(G(z))]
    """
    return -fake.mean()


def wasserstein_estimate(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The critic's estimate of the Wasserstein-1 distance (Arjovsky et al. 2017, eq. 2).

    .. math:: \\hat W = \\mathbb{E}_x[D(x)] - \\mathbb{E}_z[D(G(z))]
    """
    return real.mean() - fake.mean()


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The gradient penalty of WGAN-GP (Gulrajani et al. 2017, eq. 3), without its weight.

    .. math::
        GP = \\mathbb{E}_{\\hat x}[(\\lVert \\nabla_{\\hat x} D(\\hat x) \\rVert_2 - 1)^2],
        \\qquad \\hat x = \\epsilon x + (1 - \\epsilon) \\tilde x,
        \\quad \\epsilon \\sim U[0, 1]

    with one :math:`\\epsilon` per example. The graph is kept (``create_graph``) so that the
    penalty's own gradient reaches the critic's weights.

    Args:
        critic: maps a batch shaped like ``real`` to one value per example, shape ``(N,)`` or
            ``(N, 1)``.
        real: real examples, shape ``(N, ...)``.
        fake: generated examples, same shape (detached from the generator).
        generator: random source for :math:`\\epsilon` (default: the global one).
    """
    if real.shape != fake.shape:
        raise ValueError(
            f"gradient_penalty: real {tuple(real.shape)} and fake {tuple(fake.shape)} differ"
        )
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(shape, generator=generator, device=real.device, dtype=real.dtype)
    mixed = (eps * real + (1 - eps) * fake).detach().requires_grad_(True)
    out = critic(mixed)
    (grad,) = torch.autograd.grad(out.sum(), mixed, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)
    return ((norms - 1.0) ** 2).mean()


def discriminator_loss(kind: GanLoss, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss for ``minimax``, ``non-saturating`` or ``hinge``."""
    if kind == "hinge":
        return discriminator_hinge_loss(real, fake)
    return discriminator_bce_loss(real, fake)


def generator_loss(kind: GanLoss, fake: torch.Tensor) -> torch.Tensor:
    """The generator's loss for ``minimax``, ``non-saturating`` or ``hinge``."""
    if kind == "minimax":
        return generator_minimax_loss(fake)
    if kind == "non-saturating":
        return generator_non_saturating_loss(fake)
    if kind == "hinge":
        return generator_hinge_loss(fake)
    raise ValueError(f"unknown GAN loss {kind!r}; use minimax, non-saturating or hinge")
