"""The least-squares GAN objectives (Mao et al. 2017, "Least Squares Generative Adversarial
Networks", eq. 2).

With :math:`a` the discriminator's target for generated data, :math:`b` its target for real data
and :math:`c` the value the generator wants the discriminator to output for generated data,

.. math::
    \\min_D V(D) = \\tfrac12 \\mathbb{E}_x[(D(x) - b)^2] + \\tfrac12 \\mathbb{E}_z[(D(G(z)) - a)^2]

    \\min_G V(G) = \\tfrac12 \\mathbb{E}_z[(D(G(z)) - c)^2]

For fixed :math:`G` the optimal discriminator is
:math:`D^*(x) = (b\\,p_{data}(x) + a\\,p_g(x)) / (p_{data}(x) + p_g(x))` (eq. 4); with
:math:`b - c = 1` and :math:`b - a = 2` (e.g. :math:`a=-1, b=1, c=0`, eq. 8) minimising
:math:`V(G)` at :math:`D^*` minimises the Pearson :math:`\\chi^2` divergence between
:math:`p_{data} + p_g` and :math:`2p_g` (eq. 7). The paper's experiments use the 0-1 coding
:math:`a=0, b=c=1` (eq. 9), the default here.

Both functions take the discriminator's raw outputs, one value per example (any shape), and
average over all their elements.
"""

from __future__ import annotations

import torch


def discriminator_loss(real: torch.Tensor, fake: torch.Tensor, a: float, b: float) -> torch.Tensor:
    """:math:`\\tfrac12 \\mathbb{E}[(D(x) - b)^2] + \\tfrac12 \\mathbb{E}[(D(G(z)) - a)^2]`.

    Args:
        real: :math:`D(x)` on real data, shape ``(N,)``.
        fake: :math:`D(G(z))` on generated data, shape ``(M,)``.
        a: target for generated data; b: target for real data.
    """
    return 0.5 * (real - b).pow(2).mean() + 0.5 * (fake - a).pow(2).mean()


def generator_loss(fake: torch.Tensor, c: float) -> torch.Tensor:
    """:math:`\\tfrac12 \\mathbb{E}[(D(G(z)) - c)^2]` for ``fake`` = :math:`D(G(z))`, ``(M,)``."""
    return 0.5 * (fake - c).pow(2).mean()
