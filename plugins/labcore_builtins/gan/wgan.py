"""The Wasserstein GAN (Arjovsky et al. 2017) with three ways to keep the critic Lipschitz."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import torch

import labcore
from labcore_builtins.gan.base import AdversarialConfig, AdversarialModel, frozen
from labcore_builtins.gan.blocks import Norm, apply_spectral_norm
from labcore_builtins.gan.losses import (
    critic_wasserstein_loss,
    discriminator_hinge_loss,
    generator_wasserstein_loss,
    gradient_penalty,
    wasserstein_estimate,
)

Constraint = Literal["spectral-norm", "clip", "gradient-penalty"]
CriticLoss = Literal["wasserstein", "hinge"]


@dataclasses.dataclass
class WGANConfig(AdversarialConfig):
    constraint: Constraint = labcore.hp(
        "spectral-norm", "Lipschitz constraint: spectral-norm | clip | gradient-penalty"
    )
    n_critic: int = labcore.hp(5, "critic updates per generator update")
    loss: CriticLoss = labcore.hp(
        "wasserstein",
        "critic loss: wasserstein (E D(G(z)) - E D(x)) | hinge (Miyato et al. 2018, eq. 16)",
    )
    clip_value: float = labcore.hp(
        0.01,
        "clip: critic weights are clipped to [-c, c]",
        applies=lambda c: c.constraint == "clip",
    )
    gp_weight: float = labcore.hp(
        10.0,
        "gradient-penalty: the penalty's weight lambda",
        applies=lambda c: c.constraint == "gradient-penalty",
    )
    d_norm: Norm = labcore.hp(
        "none",
        "dcgan: critic normalisation: none | layer | batch (not with gradient-penalty)",
        applies=lambda c: c.arch in ("dcgan", "auto"),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_critic < 1:
            raise ValueError(f"n_critic must be at least 1, got {self.n_critic}")
        if self.constraint == "gradient-penalty" and self.d_norm == "batch":
            raise ValueError(
                "the gradient penalty is per example, batch norm mixes examples; "
                "set d_norm = 'layer' or 'none' (Gulrajani et al. 2017, section 4)"
            )
        if self.spectral_norm and self.constraint != "spectral-norm":
            raise ValueError(
                "spectral_norm = true belongs to constraint = 'spectral-norm'; "
                "drop spectral_norm or change the constraint"
            )
        # the constraint decides; the resolved recipe must not say otherwise
        self.spectral_norm = self.constraint == "spectral-norm"


class WGAN(AdversarialModel):
    """Wasserstein GAN (Arjovsky et al. 2017): a critic estimates the Wasserstein-1 distance.

    By the Kantorovich-Rubinstein duality (eq. 2 of the paper),

    .. math::
        W(p_{data}, p_G) = \\sup_{\\lVert D \\rVert_L \\le 1}
        \\mathbb{E}_x[D(x)] - \\mathbb{E}_z[D(G(z))].

    The critic :math:`D` outputs an unbounded score (no sigmoid) and minimises
    :math:`L_C = \\mathbb{E}_z D(G(z)) - \\mathbb{E}_x D(x)`; the generator minimises
    :math:`L_G = -\\mathbb{E}_z D(G(z))`. The critic is updated at every training step, the
    generator at every ``n_critic``-th (algorithm 1), counted by the ``critic_updates`` buffer so
    that a resumed run keeps the schedule. The Lipschitz constraint is one of

    - ``spectral-norm`` (default): every critic weight divided by its largest singular value
      (Miyato et al. 2018, eq. 8; ``torch.nn.utils.parametrizations.spectral_norm``);
    - ``clip``: weights clipped to :math:`[-c, c]` after each critic update (the original paper);
    - ``gradient-penalty``: :math:`\\lambda\\, \\mathbb{E}_{\\hat x}(\\lVert \\nabla D(\\hat x)
      \\rVert_2 - 1)^2` on random interpolates of real and generated data added to
      :math:`L_C` (Gulrajani et al. 2017, eq. 3).

    ``loss = "hinge"`` trains the critic on the hinge loss instead,
    :math:`\\mathbb{E}_x \\max(0, 1 - D(x)) + \\mathbb{E}_z \\max(0, 1 + D(G(z)))` (Miyato et al.
    2018, eq. 16), the generator's loss unchanged; the logged estimate is then a score gap, no
    longer a bound on the distance.

    ``diffaugment`` passes every image the critic sees in training through DiffAugment (Zhao et
    al. 2020); the penalty is then taken on :math:`D \\circ T`, the function being trained.

    Logged: ``wasserstein`` = :math:`\\mathbb{E}_x D(x) - \\mathbb{E}_z D(G(z))`, the critic's
    estimate, at every step (its curve should fall as the generator improves), ``critic_loss``,
    ``gp`` with the penalty, ``g_loss`` on generator steps. ``evaluate`` gives the estimate on a
    held-out split, ``wasserstein``.

    Batches: ``{"x": (N, *shape)}``. Samples: ``(n, *shape)``.
    Optimizers: ``generator``, ``discriminator`` (the critic).
    """

    name = "wgan"
    Config = WGANConfig

    def __init__(self, config: WGANConfig, info: dict[str, Any]) -> None:
        super().__init__(config, info)
        if config.constraint == "spectral-norm":
            apply_spectral_norm(self.discriminator)
        self.register_buffer("critic_updates", torch.zeros((), dtype=torch.long))

    def score_summary(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        """The critic's Wasserstein estimate on held-out data."""
        return {"wasserstein": wasserstein_estimate(real.double(), fake.double()).item()}

    def critic_in_training(self, x: torch.Tensor) -> torch.Tensor:
        """The critic as training sees it, :math:`D(T(x))` with DiffAugment's :math:`T` when on;
        the gradient penalty constrains this function."""
        return self.discriminator(self.augmented(x))

    def critic_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """The critic's loss on its scores of real and generated data, by ``loss``."""
        if self.config.loss == "hinge":
            return discriminator_hinge_loss(real, fake)
        return critic_wasserstein_loss(real, fake)

    @torch.no_grad()
    def clip_critic(self) -> None:
        for p in self.discriminator.parameters():
            p.clamp_(-self.config.clip_value, self.config.clip_value)

    def training_step(self, batch: dict[str, Any], ctx: Any) -> dict[str, torch.Tensor]:
        c = self.config
        real = batch["x"]
        update_generator = (int(self.critic_updates) + 1) % c.n_critic == 0
        z = self.noise(real.shape[0], real.device)
        with ctx.autocast(), torch.set_grad_enabled(update_generator):
            fake = self.generator(z)
        with ctx.autocast():
            c_real = self.discriminator(self.augmented(real))
            c_fake = self.discriminator(self.augmented(fake.detach()))
            loss = self.critic_loss(c_real, c_fake)
        logs = {"wasserstein": wasserstein_estimate(c_real, c_fake).detach()}
        if c.constraint == "gradient-penalty":
            gp = gradient_penalty(self.critic_in_training, real, fake.detach())
            loss = loss + c.gp_weight * gp
            logs["gp"] = gp.detach()
        ctx.step("discriminator", loss)
        if c.constraint == "clip":
            self.clip_critic()
        self.critic_updates += 1
        logs["critic_loss"] = loss.detach()
        if update_generator:
            with frozen(self.discriminator), ctx.autocast():
                g_loss = generator_wasserstein_loss(self.discriminator(self.augmented(fake)))
            ctx.step("generator", g_loss)
            self.after_generator_update()
            logs["g_loss"] = g_loss.detach()
        return logs
