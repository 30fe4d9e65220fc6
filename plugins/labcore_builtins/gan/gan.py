"""The generative adversarial network (Goodfellow et al. 2014) with DCGAN or MLP networks."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

import labcore
from labcore_builtins.gan.base import AdversarialConfig, AdversarialModel, frozen
from labcore_builtins.gan.losses import GanLoss, discriminator_loss, generator_loss


@dataclasses.dataclass
class GANConfig(AdversarialConfig):
    loss: GanLoss = labcore.hp(
        "non-saturating", "objective: non-saturating | minimax (Goodfellow 2014) | hinge"
    )
    n_dis: int = labcore.hp(
        1, "discriminator updates per generator update (5 in SNGAN, Miyato et al. 2018)"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_dis < 1:
            raise ValueError(f"n_dis must be at least 1, got {self.n_dis}")


class GAN(AdversarialModel):
    """Generative adversarial network (Goodfellow et al. 2014), DCGAN, ResNet or MLP networks.

    A generator :math:`G: z \\mapsto x`, :math:`z \\sim \\mathcal N(0, I)`, and a discriminator
    :math:`D` that outputs a logit play the game of eq. 1 of the paper,

    .. math::
        \\min_G \\max_D \\; \\mathbb{E}_x[\\log \\sigma(D(x))]
        + \\mathbb{E}_z[\\log(1 - \\sigma(D(G(z))))].

    Each training step makes one discriminator update on
    :math:`L_D = -\\mathbb{E}_x \\log \\sigma(D(x)) - \\mathbb{E}_z \\log(1 - \\sigma(D(G(z))))`
    and, every ``n_dis``-th step (1 by default, 5 in SNGAN), one generator update on

    - ``minimax``: :math:`L_G = \\mathbb{E}_z \\log(1 - \\sigma(D(G(z))))` (eq. 1 as written),
    - ``non-saturating``: :math:`L_G = -\\mathbb{E}_z \\log \\sigma(D(G(z)))` (section 3),
    - ``hinge``: :math:`L_D = \\mathbb{E}\\max(0, 1 - D(x)) + \\mathbb{E}\\max(0, 1 + D(G(z)))`,
      :math:`L_G = -\\mathbb{E} D(G(z))` (Lim and Ye 2017; Miyato et al. 2018).

    Networks: for images ``(C, H, W)`` the DCGAN architecture (Radford et al. 2016:
    transposed convolutions, batch norm, ReLU in G; strided convolutions, LeakyReLU in D) or, with
    ``arch = "resnet"``, the ResNets of SNGAN (Miyato et al. 2018, appendix B) for 32, 48 and
    64 px with an optional SAGAN self-attention block (Zhang et al. 2019); for points ``(F,)``
    MLPs. Options: DiffAugment of everything D sees (Zhao et al. 2020), spectral normalisation
    of D (Miyato et al. 2018), minibatch standard deviation against mode collapse (Karras et al.
    2018), an exponential moving average of G's weights for sampling, separate learning rates
    through ``[optimizer.generator]`` and ``[optimizer.discriminator]`` (TTUR, Heusel et al.
    2017).

    Batches: ``{"x": (N, *shape)}``. Samples: ``(n, *shape)``, images in ``[-1, 1]`` (tanh).
    Optimizers: ``generator``, ``discriminator``. ``evaluate`` scores a held-out split against as
    many samples: ``d_real``, ``d_fake`` (mean logits) and ``d_accuracy``; for points also the
    mode coverage (:func:`~labcore_builtins.gan.toy.point_metrics`).
    """

    name = "gan"
    Config = GANConfig

    def training_step(self, batch: dict[str, Any], ctx: Any) -> dict[str, torch.Tensor]:
        real = batch["x"]
        update_generator = self.generator_turn(ctx, self.config.n_dis)
        z = self.noise(real.shape[0], real.device)
        with ctx.autocast():
            with torch.set_grad_enabled(update_generator):
                fake = self.generator(z)
            d_real = self.discriminator(self.augmented(real))
            d_fake = self.discriminator(self.augmented(fake.detach()))
            d_loss = discriminator_loss(self.config.loss, d_real, d_fake)
        ctx.step("discriminator", d_loss)
        logs = {
            "d_loss": d_loss.detach(),
            "d_real": d_real.detach().float().mean(),
            "d_fake": d_fake.detach().float().mean(),
        }
        if update_generator:
            with frozen(self.discriminator), ctx.autocast():
                g_loss = generator_loss(self.config.loss, self.discriminator(self.augmented(fake)))
            ctx.step("generator", g_loss)
            self.after_generator_update()
            logs["g_loss"] = g_loss.detach()
        return logs
