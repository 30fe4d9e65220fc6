"""The least-squares GAN (Mao et al. 2017) with MLP networks, for points and small images."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
from torch import nn

import labcore
from labcore_lsgan.losses import discriminator_loss, generator_loss
from labcore_lsgan.views import density_image, sample_scores


@dataclasses.dataclass
class LSGANConfig:
    """Networks and the a-b-c coding of the least-squares objectives."""

    z_dim: int = labcore.hp(16, "dimension of the generator's Gaussian noise")
    hidden: int = labcore.hp(128, "width of the hidden layers of G and D")
    layers: int = labcore.hp(3, "hidden layers of G and D")
    a: float = labcore.hp(0.0, "D's target for generated data (eq. 9: 0; eq. 8: -1)")
    b: float = labcore.hp(1.0, "D's target for real data (eq. 8 and 9: 1)")
    c: float = labcore.hp(1.0, "G's target for D on generated data (eq. 9: 1; eq. 8: 0)")
    eval_samples: int = labcore.hp(2000, "samples drawn by evaluate()")

    def __post_init__(self) -> None:
        if min(self.z_dim, self.hidden, self.layers, self.eval_samples) < 1:
            raise ValueError("z_dim, hidden, layers and eval_samples must be positive")
        if self.a == self.b:
            raise ValueError("a and b must differ: D cannot tell real (b) from generated (a)")


def mlp(features_in: int, hidden: int, layers: int, features_out: int) -> nn.Sequential:
    """``layers`` hidden [linear, LeakyReLU(0.2)] blocks of width ``hidden``, then a linear map."""
    blocks: list[nn.Module] = []
    width = features_in
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
        width = hidden
    return nn.Sequential(*blocks, nn.Linear(width, features_out))


class LSGAN(labcore.Model):
    """Least-squares GAN (Mao et al. 2017, eq. 2) with MLP generator and discriminator.

    The discriminator :math:`D` outputs one unbounded value per example; the objectives are

    .. math::
        L_D = \\tfrac12 \\mathbb{E}_x[(D(x) - b)^2] + \\tfrac12 \\mathbb{E}_z[(D(G(z)) - a)^2],
        \\qquad L_G = \\tfrac12 \\mathbb{E}_z[(D(G(z)) - c)^2]

    with :math:`z \\sim \\mathcal N(0, I_{z\\_dim})`. Unlike the sigmoid cross-entropy of the
    original GAN, the least-squares loss keeps penalising generated samples that lie on the right
    side of the decision boundary but far from the data, which gives the generator gradients where
    the cross-entropy saturates (section 3.1).

    Each training step makes one discriminator update, then one generator update on the same
    noise. Data of any shape is flattened: ``x`` ``(N, *shape)`` -> ``(N, prod(shape))``. When the
    data declares ``info["value_range"] = (low, high)`` the generator ends in a scaled tanh onto
    that range, otherwise in a linear layer.

    Batches: ``{"x": (N, *shape)}``. Samples: ``(n, *shape)``. Optimizers: ``generator``,
    ``discriminator``.
    """

    name = "lsgan"
    Config = LSGANConfig

    def __init__(self, config: LSGANConfig, info: dict[str, Any]) -> None:
        super().__init__(config, info)
        self.shape = tuple(info["shape"])
        features = math.prod(self.shape)
        self.value_range = info.get("value_range")
        self.generator = mlp(config.z_dim, config.hidden, config.layers, features)
        self.discriminator = mlp(features, config.hidden, config.layers, 1)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """``G(z)``: noise ``(N, z_dim)`` to data ``(N, *shape)``."""
        out = self.generator(z)
        if self.value_range is not None:
            low, high = self.value_range
            out = low + (high - low) * (torch.tanh(out) + 1) / 2
        return out.view(len(z), *self.shape)

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        """``D(x)``: data ``(N, *shape)`` to one value per example ``(N,)``."""
        return self.discriminator(x.flatten(1)).squeeze(1)

    def configure_optimizers(self, make: Any) -> dict[str, torch.optim.Optimizer]:
        return {
            "generator": make("generator", self.generator.parameters()),
            "discriminator": make("discriminator", self.discriminator.parameters()),
        }

    def training_step(self, batch: dict[str, torch.Tensor], ctx: Any) -> dict[str, Any]:
        real = batch["x"]
        z = torch.randn(len(real), self.config.z_dim, device=real.device)
        c = self.config
        with ctx.autocast():
            fake = self.generate(z)
            d_real = self.discriminate(real)
            d_fake = self.discriminate(fake.detach())
            d_loss = discriminator_loss(d_real, d_fake, c.a, c.b)
        ctx.step("discriminator", d_loss)
        self.discriminator.requires_grad_(False)
        try:
            with ctx.autocast():
                g_loss = generator_loss(self.discriminate(fake), c.c)
            ctx.step("generator", g_loss)
        finally:
            self.discriminator.requires_grad_(True)
        return {
            "d_loss": d_loss.detach(),
            "g_loss": g_loss.detach(),
            "d_real": d_real.detach().mean(),
            "d_fake": d_fake.detach().mean(),
        }

    def sample(
        self, n: int, *, generator: torch.Generator, condition: torch.Tensor | None = None
    ) -> torch.Tensor:
        z = torch.randn(n, self.config.z_dim, generator=generator, device=generator.device)
        return self.generate(z.to(self.generator[0].weight.device))

    def sample_grid(self, generator: torch.Generator, bundle: Any) -> Any:
        """Images: 64 samples. Points: density images of real and generated points, side by
        side."""
        if len(self.shape) == 3:
            return super().sample_grid(generator, bundle)
        if self.shape != (2,):
            return None
        real = bundle.split("train")["x"][:4096].cpu()
        fake = self.sample(len(real), generator=generator).cpu()
        low = real.min(0).values - 0.5
        high = real.max(0).values + 0.5
        return torch.cat([density_image(real, low, high), density_image(fake, low, high)]), 2

    def evaluate(self, split: Any, ctx: Any) -> dict[str, float]:
        """Nearest-neighbour distances between generated and real data of ``split``; with the
        data's ``modes`` and ``mode_std``, the modes covered and the share of high-quality
        samples."""
        real = torch.cat([batch["x"] for batch in ctx.batches(split)]).flatten(1)
        generator = torch.Generator(ctx.device).manual_seed(0)
        fake = self.sample(self.config.eval_samples, generator=generator).flatten(1)
        return sample_scores(real, fake, self.info.get("modes"), self.info.get("mode_std"))
