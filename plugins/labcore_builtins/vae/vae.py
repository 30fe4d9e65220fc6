"""The variational autoencoder (Kingma and Welling 2014) with the beta weight of Higgins et al.
(2017), a KL warm-up, and the importance-weighted bound of Burda et al. (2016) for evaluation."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

import torch
from torch import nn

import labcore
from labcore_builtins.vae.base import LatentConfig, LatentModel, full_precision
from labcore_builtins.vae.bounds import (
    bernoulli_log_prob,
    gaussian_kl,
    gaussian_log_prob,
    iwae_bound,
    log_normal,
    log_standard_normal,
    reparameterise,
)

Likelihood = Literal["bernoulli", "gaussian"]


@dataclasses.dataclass
class VAEConfig(LatentConfig):
    likelihood: Likelihood = labcore.hp(
        "bernoulli", "decoder p(x|z): bernoulli (pixels in [0, 1] as targets) | gaussian"
    )
    decoder_std: float = labcore.hp(
        0.1, "gaussian: standard deviation of p(x|z) in [0, 1] pixel units (initial if learned)"
    )
    learn_std: bool = labcore.hp(False, "gaussian: learn one shared decoder standard deviation")
    beta: float = labcore.hp(1.0, "weight of the KL term (beta-VAE, Higgins et al. 2017)")
    warmup_steps: int = labcore.hp(
        0, "the KL weight rises linearly from 0 to beta over this many steps (0: no warm-up)"
    )
    iwae_k: int = labcore.hp(
        100, "importance samples of the IWAE bound in evaluate() (Burda et al. 2016); 0: skip it"
    )
    iwae_chunk: int = labcore.hp(
        4096, "decoder inputs (examples x k) per batched IWAE pass; bounds evaluation memory"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.decoder_std <= 0:
            raise ValueError(f"decoder_std must be positive, got {self.decoder_std}")
        if self.beta < 0:
            raise ValueError(f"beta must be 0 or more, got {self.beta}")
        if self.warmup_steps < 0 or self.iwae_k < 0:
            raise ValueError("warmup_steps and iwae_k must be 0 or more")
        if self.iwae_chunk < 1:
            raise ValueError(f"iwae_chunk must be positive, got {self.iwae_chunk}")


class VAE(LatentModel):
    """Variational autoencoder (Kingma and Welling 2014), MLP or convolutional, beta-weighted.

    An encoder :math:`q_\\phi(z \\mid x) = \\mathcal N(\\mu_\\phi(x), \\operatorname{diag}
    \\sigma_\\phi^2(x))`, the prior :math:`p(z) = \\mathcal N(0, I)` and a decoder
    :math:`p_\\theta(x \\mid z)`, Bernoulli on the pixels mapped onto ``[0, 1]`` or Gaussian with
    mean :math:`\\sigma(\\text{logits})` and a fixed or learned shared standard deviation, are
    trained on the negative of the beta-weighted evidence lower bound (eq. 3 of the paper; Higgins
    et al. 2017, eq. 4):

    .. math::
        \\mathcal L_\\beta(x) = \\mathbb E_{q_\\phi(z|x)}[\\log p_\\theta(x \\mid z)]
        - \\beta_t\\, KL(q_\\phi(z \\mid x) \\,\\|\\, p(z)),

    with one reparameterised sample :math:`z = \\mu + \\sigma \\odot \\epsilon`,
    :math:`\\epsilon \\sim \\mathcal N(0, I)` (section 2.4) and the KL in closed form (appendix B).
    :math:`\\beta_t` rises linearly from 0 to :math:`\\beta` over ``warmup_steps`` (the KL
    annealing of Bowman et al. 2016 and Sønderby et al. 2016).

    Logged per step, in nats per example: ``elbo`` (with :math:`\\beta = 1`),
    ``reconstruction_nll`` :math:`= -\\log p(x \\mid z)`, ``kl``; also ``loss`` and ``beta``.
    ``evaluate`` adds the importance-weighted bound ``iwae`` with ``iwae_k`` samples (Burda et al.
    2016, eq. 8), a tighter lower bound of :math:`\\log p(x)`.

    Batches: ``{"x": (N, C, H, W)}`` in the data's value range. Samples: the decoder's mean image
    ``(n, C, H, W)`` in the value range. Optimizer: ``main`` (all parameters).
    """

    name = "vae"
    Config = VAEConfig

    def __init__(self, config: VAEConfig, info: dict[str, Any]) -> None:
        super().__init__(config, info)
        log_std = torch.tensor(math.log(config.decoder_std))
        if config.likelihood == "gaussian" and config.learn_std:
            self.decoder_log_std = nn.Parameter(log_std)
        else:
            self.register_buffer("decoder_log_std", log_std)

    # -- the bound ----------------------------------------------------------------------------

    def log_likelihood(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """:math:`\\log p(x \\mid z)` in nats from decoder logits.

        Shapes: ``logits (..., N, C, H, W)`` (leading importance-sample dimensions allowed),
        ``x (N, C, H, W)`` in the data's value range ``->`` ``(..., N)``.
        """
        logits = full_precision(logits).flatten(-3)
        target = self.to_unit(full_precision(x)).flatten(-3)
        if self.config.likelihood == "bernoulli":
            return bernoulli_log_prob(logits, target)
        return gaussian_log_prob(torch.sigmoid(logits), self.decoder_log_std, target)

    def kl_weight(self, step: int) -> float:
        """:math:`\\beta_t` at training step ``step`` (0-based): the warm-up, then ``beta``."""
        c = self.config
        if c.warmup_steps == 0:
            return c.beta
        return c.beta * min(1.0, (step + 1) / c.warmup_steps)

    def elbo_terms(self, x: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:math:`\\log p(x \\mid z)` at :math:`z = \\mu + \\sigma \\odot \\epsilon` and the
        closed-form KL, each ``(N,)`` in nats, for images ``x (N, C, H, W)`` and noise
        ``eps (N, z_dim)``."""
        mu, logvar = self.encode(x)
        z = reparameterise(mu, logvar, eps)
        log_px_z = self.log_likelihood(self.decoder(z), x)
        return log_px_z, gaussian_kl(full_precision(mu), full_precision(logvar))

    def log_weights(self, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Importance log weights :math:`\\log p(x \\mid z_i) + \\log p(z_i) - \\log q(z_i \\mid x)`
        of :math:`z_i = \\mu + \\sigma \\odot \\epsilon_i`, all ``k`` samples in one decoder pass.

        Shapes: ``x (N, C, H, W)``, ``eps (k, N, z_dim) -> (k, N)``.
        """
        mu, logvar = (full_precision(t) for t in self.encode(x))
        z = reparameterise(mu, logvar, eps)
        logits = self.decoder(z.flatten(0, 1)).unflatten(0, z.shape[:2])
        return self.log_likelihood(logits, x) + log_standard_normal(z) - log_normal(z, mu, logvar)

    def iwae(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """The IWAE bound :math:`\\mathcal L_k` (Burda et al. 2016, eq. 8) of each image, ``(N,)``.

        Chunks of examples keep ``k x chunk`` decoder inputs within ``iwae_chunk``; within a chunk
        all ``k`` samples of all examples go through the decoder as one batch.
        """
        chunk = max(1, self.config.iwae_chunk // k)
        bounds = []
        for part in x.split(chunk):
            eps = self.noise(k, part.shape[0], like=part)
            bounds.append(iwae_bound(self.log_weights(part, eps)))
        return torch.cat(bounds)

    # -- the contract -------------------------------------------------------------------------

    def training_step(self, batch: dict[str, Any], ctx: Any) -> dict[str, Any]:
        x = batch["x"]
        beta = self.kl_weight(ctx.global_step)
        with ctx.autocast():
            eps = self.noise(x.shape[0], like=x)
            log_px_z, kl = self.elbo_terms(x, eps)
        loss = -(log_px_z - beta * kl).mean()
        ctx.step("main", loss)
        return {
            "loss": loss.detach(),
            "elbo": (log_px_z - kl).mean().detach(),
            "reconstruction_nll": -log_px_z.mean().detach(),
            "kl": kl.mean().detach(),
            "beta": beta,
        }

    def evaluate(self, split: Any, ctx: Any) -> dict[str, float]:
        """Means over the split, in nats per example: ``iwae`` (with ``iwae_k`` samples; left out
        when 0), ``elbo``, ``reconstruction_nll`` and ``kl`` (one posterior sample each)."""
        sums: dict[str, torch.Tensor] = {}
        count = 0
        for batch in ctx.batches(split):
            x = batch["x"]
            values = {}
            if self.config.iwae_k:
                values["iwae"] = self.iwae(x, self.config.iwae_k)
            eps = self.noise(x.shape[0], like=x)
            log_px_z, kl = self.elbo_terms(x, eps)
            values.update(elbo=log_px_z - kl, reconstruction_nll=-log_px_z, kl=kl)
            for key, value in values.items():
                sums[key] = sums.get(key, 0.0) + value.double().sum()
            count += x.shape[0]
        return {key: float(total) / count for key, total in sums.items()}
