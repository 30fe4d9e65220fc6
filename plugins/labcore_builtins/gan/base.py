"""What the noise-to-data GANs (GAN, WGAN, conditional GAN) share.

A generator ``G: z -> x`` with an exponential moving average copy used for sampling, a
discriminator (or critic), a fixed noise batch for comparable sample grids across steps, the
choice between DCGAN or SNGAN ResNet networks for images and MLPs for low-dimensional points, and
DiffAugment in front of the discriminator. Subclasses write the training step: the update rule is
what tells the models apart.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Iterator
from typing import Any, Literal

import torch
from torch import nn

import labcore
from labcore.model import OptimizerFactory
from labcore_builtins.gan.blocks import (
    DCGANDiscriminatorBody,
    DCGANGenerator,
    Discriminator,
    MLPDiscriminatorBody,
    MLPGenerator,
    Norm,
    apply_spectral_norm,
    ema_decay_at,
    ema_update,
)
from labcore_builtins.gan.diffaugment import DiffAugment, Policy
from labcore_builtins.gan.resnet_blocks import ResNetDiscriminatorBody, ResNetGenerator
from labcore_builtins.gan.toy import point_metrics, scatter_image

Arch = Literal["auto", "dcgan", "resnet", "mlp"]


@dataclasses.dataclass
class AdversarialConfig:
    """Hyperparameters common to the noise-to-data GANs."""

    z_dim: int = labcore.hp(64, "size of the latent code z ~ N(0, I)")
    arch: Arch = labcore.hp(
        "auto",
        "networks: dcgan (images), resnet (the SNGAN ResNets, 32/48/64 px), mlp (points); "
        "auto picks dcgan or mlp by the data's shape",
    )
    g_width: int = labcore.hp(
        64,
        "dcgan: generator channels at full resolution, doubled per coarser stage (at most 8x); "
        "resnet: the SNGAN paper's ch (64)",
        applies=lambda c: c.arch != "mlp",
    )
    d_width: int = labcore.hp(
        64,
        "dcgan: discriminator channels at full resolution, doubled per coarser stage; "
        "resnet: the SNGAN paper's ch (64)",
        applies=lambda c: c.arch != "mlp",
    )
    attention_at: int = labcore.hp(
        0,
        "resnet: side of the feature maps after which G and D get a SAGAN self-attention block "
        "(Zhang et al. 2019), e.g. 16; 0: none",
        applies=lambda c: c.arch == "resnet",
    )
    diffaugment: list[Policy] = labcore.hp(
        [],
        "DiffAugment (Zhao et al. 2020) of every image D sees, real and generated: any of "
        "color, translation, cutout; []: none",
        applies=lambda c: c.arch != "mlp",
    )
    hidden: int = labcore.hp(
        128, "mlp: units per hidden layer of G and D", applies=lambda c: c.arch in ("mlp", "auto")
    )
    layers: int = labcore.hp(
        3, "mlp: hidden layers of G and D", applies=lambda c: c.arch in ("mlp", "auto")
    )
    d_norm: Norm = labcore.hp(
        "batch",
        "dcgan: discriminator normalisation: batch | layer | none",
        applies=lambda c: c.arch in ("dcgan", "auto"),
    )
    spectral_norm: bool = labcore.hp(
        False, "spectrally normalise every discriminator weight (Miyato et al. 2018)"
    )
    minibatch_std: bool = labcore.hp(
        False,
        "append the minibatch standard deviation to D's features (Karras et al. 2018)",
        applies=lambda c: c.arch != "resnet",
    )
    ema_decay: float = labcore.hp(
        0.999, "decay of the moving average of G's weights used for sampling; 0 turns it off"
    )
    fixed_samples: int = labcore.hp(
        64, "size of the fixed noise batch behind the periodic sample grids"
    )

    def __post_init__(self) -> None:
        if self.z_dim < 1:
            raise ValueError(f"z_dim must be positive, got {self.z_dim}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.fixed_samples < 1:
            raise ValueError(f"fixed_samples must be positive, got {self.fixed_samples}")
        if self.attention_at < 0 or (self.attention_at and self.arch != "resnet"):
            raise ValueError(
                f"attention_at = {self.attention_at}: self-attention blocks belong to "
                "arch = 'resnet'; set attention_at = 0 or arch = 'resnet'"
            )
        if self.minibatch_std and self.arch == "resnet":
            raise ValueError("minibatch_std is for arch = 'dcgan' or 'mlp', not 'resnet'")


def resolve_arch(arch: Arch, shape: tuple[int, ...]) -> Literal["dcgan", "resnet", "mlp"]:
    """``dcgan`` for ``(C, H, W)`` images, ``mlp`` for ``(F,)`` vectors; a clear error otherwise."""
    if arch == "auto":
        arch = "dcgan" if len(shape) == 3 else "mlp"
    if arch in ("dcgan", "resnet") and len(shape) != 3:
        raise ValueError(
            f"model.arch = {arch!r} needs images of shape (C, H, W), the data has shape {shape}; "
            "use arch = 'mlp' for vectors"
        )
    if arch == "mlp" and len(shape) != 1:
        raise ValueError(
            f"model.arch = 'mlp' needs vectors of shape (F,), the data has shape {shape}; "
            "use arch = 'dcgan' for images"
        )
    return arch


def data_shape(info: dict[str, Any], model: str) -> tuple[int, ...]:
    if "shape" not in info:
        raise ValueError(f"model {model!r} needs the dataset's info['shape'] (one example's shape)")
    return tuple(int(s) for s in info["shape"])


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Run ``module`` in eval mode (batch-norm running statistics) and restore its mode after."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[nn.Module]:
    """Stop gradients from accumulating in ``module``'s parameters (the other player's update)."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in zip(module.parameters(), flags, strict=True):
            p.requires_grad_(flag)


def randn(n: int, dim: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """``(n, dim)`` standard normal draws from ``generator`` (on its device), on ``device``."""
    return torch.randn(n, dim, generator=generator, device=generator.device).to(device)


class AdversarialModel(labcore.Model):
    """Base of the noise-to-data GANs: networks, EMA generator, fixed noise, sampling.

    Submodules: ``generator``, ``discriminator`` and, with ``ema_decay > 0``, ``ema_generator``
    (the moving average, used by :meth:`sample`). Buffers: ``fixed_noise``
    ``(fixed_samples, z_dim)`` and ``generator_updates``, the count of generator updates, which
    drives the EMA warm-up. All of them are in the state dict, so a resumed run continues exactly.
    """

    Config = AdversarialConfig
    conditional = False
    """Whether the networks take class labels ``y`` besides their input."""

    def __init__(self, config: AdversarialConfig, info: dict[str, Any]) -> None:
        super().__init__(config, info)
        self.shape = data_shape(info, self.name)
        self.arch = resolve_arch(config.arch, self.shape)
        if config.diffaugment and self.arch == "mlp":
            raise ValueError("model.diffaugment transforms images; set diffaugment = [] for points")
        self.augment = DiffAugment(config.diffaugment) if config.diffaugment else None
        self.generator = self.build_generator(config.z_dim)
        self.discriminator = self.build_discriminator()
        if config.spectral_norm:
            apply_spectral_norm(self.discriminator)
        self.ema_generator = (
            copy.deepcopy(self.generator).requires_grad_(False) if config.ema_decay > 0 else None
        )
        self.register_buffer("fixed_noise", torch.randn(config.fixed_samples, config.z_dim))
        self.register_buffer("generator_updates", torch.zeros((), dtype=torch.long))

    # -- networks -----------------------------------------------------------------------------

    def build_generator(self, in_dim: int) -> nn.Module:
        """``G``: ``(N, in_dim) -> (N, *shape)``."""
        c = self.config
        if self.arch == "resnet":
            return ResNetGenerator(in_dim, self.shape, c.g_width, attention_at=c.attention_at)
        if self.arch == "dcgan":
            return DCGANGenerator(in_dim, self.shape, c.g_width)
        return MLPGenerator(in_dim, self.shape[0], c.hidden, c.layers)

    def build_body(self, in_channels: int) -> nn.Module:
        """The discriminator body for inputs with ``in_channels`` channels (or features)."""
        c = self.config
        if self.arch == "resnet":
            shape = (in_channels, *self.shape[1:])
            return ResNetDiscriminatorBody(shape, c.d_width, c.attention_at)
        if self.arch == "dcgan":
            shape = (in_channels, *self.shape[1:])
            return DCGANDiscriminatorBody(shape, c.d_width, c.d_norm, c.minibatch_std)
        return MLPDiscriminatorBody(in_channels, c.hidden, c.layers, c.minibatch_std)

    def build_discriminator(self) -> nn.Module:
        return Discriminator(self.build_body(self.shape[0]))

    def configure_optimizers(self, make: OptimizerFactory) -> dict[str, torch.optim.Optimizer]:
        return {
            "generator": make("generator", self.generator.parameters()),
            "discriminator": make("discriminator", self.discriminator.parameters()),
        }

    # -- training helpers ---------------------------------------------------------------------

    def augmented(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` as the discriminator sees it in training: through DiffAugment when it is on.

        Applied to real and generated images alike, in the discriminator's and the generator's
        updates (Zhao et al. 2020, eqs. 2-3); never in evaluation.
        """
        return self.augment(x) if self.augment is not None else x

    @staticmethod
    def generator_turn(ctx: Any, every: int) -> bool:
        """Whether this training step ends with a generator update: every ``every``-th step.

        Counted from the trainer's step (``ctx.global_step``), which a resumed run restores, so
        the schedule of ``every - 1`` discriminator-only steps carries over exactly.
        """
        return (ctx.global_step + 1) % every == 0

    def noise(self, n: int, device: torch.device) -> torch.Tensor:
        """A training batch of latent codes ``(n, z_dim)`` from the global random state."""
        return torch.randn(n, self.config.z_dim, device=device)

    def after_generator_update(self) -> None:
        """Count the update and move the EMA generator toward the generator."""
        if self.ema_generator is not None:
            decay = ema_decay_at(self.config.ema_decay, self.generator_updates)
            ema_update(self.ema_generator, self.generator, decay)
        self.generator_updates += 1

    @property
    def sampler(self) -> nn.Module:
        """The network :meth:`sample` uses: the EMA generator when there is one."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    @property
    def samples_from_ema(self) -> bool:
        return self.ema_generator is not None

    # -- sampling and evaluation --------------------------------------------------------------

    @torch.no_grad()
    def generate(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The sampler's output in eval mode for codes ``z (N, z_dim)`` (and labels ``y (N,)``)."""
        with eval_mode(self.sampler) as net:
            return net(z) if y is None else net(z, y)

    def sample(
        self, n: int, *, generator: torch.Generator, condition: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``n`` samples ``(n, *shape)`` from the EMA generator, codes drawn from ``generator``."""
        if condition is not None:
            raise ValueError(f"model {self.name!r} is unconditional; sample it without a condition")
        return self.generate(randn(n, self.config.z_dim, generator, self.fixed_noise.device))

    def sample_grid(self, generator: torch.Generator, bundle: Any) -> tuple[torch.Tensor, int]:
        """Samples of the fixed noise, 8 per row; for points, a scatter plot against real data."""
        fake = self.generate(self.fixed_noise)
        if self.arch == "mlp":
            real = bundle.split("train")["x"][: len(fake)]
            return scatter_image(real, fake), 1
        return fake, 8

    def discriminate(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The discriminator's raw scores ``(N,)`` for examples ``x`` (and labels ``y``)."""
        return self.discriminator(x)

    def score_summary(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        """What the held-out scores say: mean logits and the discriminator's accuracy."""
        accuracy = 0.5 * ((real > 0).double().mean() + (fake < 0).double().mean())
        return {
            "d_real": real.double().mean().item(),
            "d_fake": fake.double().mean().item(),
            "d_accuracy": accuracy.item(),
        }

    def evaluate(self, split: Any, ctx: Any) -> dict[str, float]:
        """The discriminator on held-out real data against as many samples (noise seeded with 0).

        A discriminator far more accurate on held-out data than chance is winning the game or
        has memorised the training set. For points, also the nearest-neighbour distances and the
        mode coverage of :func:`~labcore_builtins.gan.toy.point_metrics`.
        """
        gen = torch.Generator(device="cpu").manual_seed(0)
        reals, fakes, d_real, d_fake = [], [], [], []
        with eval_mode(self.discriminator):
            for batch in ctx.batches(split):
                x = batch["x"]
                y = batch["y"] if self.conditional else None
                fake = self.generate(randn(len(x), self.config.z_dim, gen, x.device), y)
                d_real.append(self.discriminate(x, y).float())
                d_fake.append(self.discriminate(fake, y).float())
                reals.append(x)
                fakes.append(fake)
        out = self.score_summary(torch.cat(d_real), torch.cat(d_fake))
        if self.arch == "mlp":
            modes, mode_std = self.info.get("modes"), self.info.get("mode_std")
            out.update(point_metrics(torch.cat(reals), torch.cat(fakes), modes, mode_std))
        return out
