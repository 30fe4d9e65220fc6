"""The VAE-GAN (Larsen et al. 2016): a VAE whose decoder is also a GAN generator, with the
reconstruction error measured in a hidden layer of the discriminator."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

import labcore
from labcore_builtins.gan.base import frozen
from labcore_builtins.gan.blocks import Discriminator, Norm
from labcore_builtins.gan.losses import GanLoss, discriminator_loss, generator_loss
from labcore_builtins.vae.base import LatentConfig, LatentModel, full_precision
from labcore_builtins.vae.bounds import gaussian_kl, reparameterise
from labcore_builtins.vae.networks import Arch, image_body


@dataclasses.dataclass
class VAEGANConfig(LatentConfig):
    arch: Arch = labcore.hp(
        "conv", "networks: conv (DCGAN-style) | mlp (fully connected; prone to mode collapse)"
    )
    gamma: float = labcore.hp(
        0.1,
        "weight of the feature-wise reconstruction against the GAN loss in the decoder's "
        "update (the paper's gamma)",
    )
    loss: GanLoss = labcore.hp(
        "non-saturating", "GAN objective: non-saturating | minimax (the paper's) | hinge"
    )
    d_width: int = labcore.hp(
        32, "conv: discriminator channels at full resolution, doubled per coarser stage"
    )
    d_hidden: int = labcore.hp(256, "mlp: units per hidden layer of the discriminator")
    d_norm: Norm = labcore.hp("batch", "conv: discriminator normalisation: batch | layer | none")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.gamma < 0:
            raise ValueError(f"gamma must be 0 or more, got {self.gamma}")
        if self.d_width < 1 or self.d_hidden < 1:
            raise ValueError("d_width and d_hidden must be positive")


def feature_reconstruction(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """The paper's feature-wise reconstruction loss (Larsen et al. 2016, eq. 6–7):

    .. math::
        \\mathcal L_{llike}^{Dis_l} = -\\mathbb E_{q(z|x)}[\\log \\mathcal N(Dis_l(x);
        Dis_l(\\tilde x), I)] = \\tfrac12 \\lVert Dis_l(x) - Dis_l(\\tilde x) \\rVert^2 + c,

    without the constant, averaged over the batch. Shapes: ``(N, F), (N, F) -> ()``.
    """
    return 0.5 * (full_precision(fake) - full_precision(real)).pow(2).sum(1).mean()


class VAEGAN(LatentModel):
    """VAE-GAN (Larsen et al. 2016): a VAE with a learned similarity metric.

    The encoder :math:`q(z \\mid x)` and decoder :math:`\\tilde x = Dec(z)` of the VAE (same
    networks as the ``vae`` model), and a discriminator :math:`Dis` (the GAN family's
    :class:`~labcore_builtins.gan.blocks.Discriminator`) whose last hidden layer
    :math:`Dis_l` (``features``) replaces the pixel space in the reconstruction error. With
    :math:`z \\sim q(z \\mid x)`, :math:`z_p \\sim \\mathcal N(0, I)`:

    .. math::
        \\mathcal L_{prior} = KL(q(z \\mid x) \\,\\|\\, p(z)), \\qquad
        \\mathcal L_{llike}^{Dis_l} = \\tfrac12 \\lVert Dis_l(x) - Dis_l(Dec(z)) \\rVert^2,

    and the GAN loss :math:`\\mathcal L_{GAN}` of real images against the union of the
    reconstructions :math:`Dec(z)` and the prior samples :math:`Dec(z_p)` (section 2.2; ``loss``
    picks the form, as in the ``gan`` model; real and fake sides carry equal weight).
    Algorithm 1 of the paper assigns the losses to three optimizers:

    - ``encoder``: :math:`\\mathcal L_{prior} + \\mathcal L_{llike}^{Dis_l}`;
    - ``decoder``: :math:`\\gamma\\, \\mathcal L_{llike}^{Dis_l}` + the generator's GAN loss;
    - ``discriminator``: the discriminator's GAN loss only.

    Each update uses the other networks' parameters from before the step (all three are taken
    from one state, as in the paper's simultaneous update): the decoder's loss is built on the
    encoder's detached codes, the discriminator's on the decoder's detached images.

    Logged per step: ``kl`` (nats per example), ``feature_reconstruction``, ``encoder_loss``,
    ``decoder_loss``, ``gan_g``, ``d_loss``, ``d_real``, ``d_fake``.

    Batches: ``{"x": (N, C, H, W)}``. Samples: ``(n, C, H, W)`` in the data's value range.
    Optimizers: ``encoder``, ``decoder``, ``discriminator``.
    """

    name = "vaegan"
    Config = VAEGANConfig

    def __init__(self, config: VAEGANConfig, info: dict[str, Any]) -> None:
        super().__init__(config, info)
        c = config
        body = image_body(c.arch, self.shape, c.d_width, c.d_hidden, c.layers, c.d_norm)
        self.discriminator = Discriminator(body)

    def configure_optimizers(self, make):
        return {
            "encoder": make("encoder", self.encoder.parameters()),
            "decoder": make("decoder", self.decoder.parameters()),
            "discriminator": make("discriminator", self.discriminator.parameters()),
        }

    def training_step(self, batch: dict[str, Any], ctx: Any) -> dict[str, Any]:
        c = self.config
        x = batch["x"]
        n = x.shape[0]
        with ctx.autocast():
            mu, logvar = self.encode(x)
            z = reparameterise(mu, logvar, self.noise(x.shape[0], like=x))
            with torch.no_grad():
                real_features = self.discriminator.features(x)
            with frozen(self.decoder), frozen(self.discriminator):
                rec_features = self.discriminator.features(self.decode(z))
            kl = gaussian_kl(full_precision(mu), full_precision(logvar)).mean()
            encoder_rec = feature_reconstruction(rec_features, real_features)
            encoder_loss = kl + encoder_rec
        ctx.step("encoder", encoder_loss)

        z_prior = self.noise(n, like=x)
        with ctx.autocast():
            fakes = self.decode(torch.cat([z.detach(), z_prior]))
            with frozen(self.discriminator):
                fake_features = self.discriminator.features(fakes)
                d_fake_for_g = self.discriminator.head(fake_features).squeeze(1)
            decoder_rec = feature_reconstruction(fake_features[:n], real_features)
            gan_g = generator_loss(c.loss, d_fake_for_g)
            decoder_loss = c.gamma * decoder_rec + gan_g
        ctx.step("decoder", decoder_loss)

        with ctx.autocast():
            d_real = self.discriminator(x)
            d_fake = self.discriminator(fakes.detach())
            d_loss = discriminator_loss(c.loss, d_real, d_fake)
        ctx.step("discriminator", d_loss)
        return {
            "kl": kl.detach(),
            "feature_reconstruction": encoder_rec.detach(),
            "encoder_loss": encoder_loss.detach(),
            "decoder_loss": decoder_loss.detach(),
            "gan_g": gan_g.detach(),
            "d_loss": d_loss.detach(),
            "d_real": d_real.detach().float().mean(),
            "d_fake": d_fake.detach().float().mean(),
        }

    def evaluate(self, split: Any, ctx: Any) -> dict[str, float]:
        """Means over the split: ``kl`` (nats per example), ``feature_reconstruction_loss`` (the
        paper's feature-wise error) and ``reconstruction_mse`` (per pixel, in ``[0, 1]`` units),
        each with one posterior sample per image."""
        sums = {"kl": 0.0, "feature_reconstruction_loss": 0.0, "reconstruction_mse": 0.0}
        count = 0
        for batch in ctx.batches(split):
            x = batch["x"]
            mu, logvar = self.encode(x)
            rec = self.decode(reparameterise(mu, logvar, self.noise(x.shape[0], like=x)))
            real, fake = self.discriminator.features(torch.cat([x, rec])).chunk(2)
            n = x.shape[0]
            kl = gaussian_kl(full_precision(mu), full_precision(logvar))
            error = (self.to_unit(full_precision(rec)) - self.to_unit(full_precision(x))).pow(2)
            sums["kl"] += float(kl.sum())
            sums["feature_reconstruction_loss"] += float(feature_reconstruction(fake, real)) * n
            sums["reconstruction_mse"] += float(error.flatten(1).mean(1).sum())
            count += n
        return {key: total / count for key, total in sums.items()}
