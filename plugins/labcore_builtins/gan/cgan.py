"""The conditional GAN (Mirza and Osindero 2014), concatenation or projection discriminator."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import torch
from torch import nn

import labcore
from labcore_builtins.gan.base import AdversarialConfig, AdversarialModel, frozen, randn
from labcore_builtins.gan.losses import GanLoss, discriminator_loss, generator_loss
from labcore_builtins.gan.resnet_blocks import ResNetGenerator
from labcore_builtins.gan.toy import scatter_image

Conditioning = Literal["concat", "projection"]


@dataclasses.dataclass
class CGANConfig(AdversarialConfig):
    loss: GanLoss = labcore.hp(
        "non-saturating", "objective: non-saturating | minimax | hinge (see the gan model)"
    )
    conditioning: Conditioning = labcore.hp(
        "concat", "how D sees the label: concat (Mirza and Osindero) | projection (Miyato, Koyama)"
    )
    embed_dim: int = labcore.hp(
        16,
        "size of the label embedding concatenated to z (dcgan and mlp G) and to the input "
        "(concat D); the resnet G takes the label through conditional batch norm instead",
    )
    n_dis: int = labcore.hp(
        1, "discriminator updates per generator update (5 in Miyato and Koyama 2018)"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.embed_dim < 1:
            raise ValueError(f"embed_dim must be positive, got {self.embed_dim}")
        if self.n_dis < 1:
            raise ValueError(f"n_dis must be at least 1, got {self.n_dis}")


def num_classes(info: dict[str, Any], model: str) -> int:
    if not info.get("num_classes"):
        raise ValueError(
            f"model {model!r} is conditioned on class labels, but the dataset declares no "
            "info['num_classes']; use a labelled dataset such as digits or mnist"
        )
    return int(info["num_classes"])


class ConditionalGenerator(nn.Module):
    """:math:`G(z, y) = G_0([z; e(y)])`: the label's embedding concatenated to the code.

    Shapes: ``z (N, z_dim)``, ``y (N,)`` int64 -> ``(N, *shape)``.
    """

    def __init__(self, classes: int, embed_dim: int, net: nn.Module) -> None:
        super().__init__()
        self.embed = nn.Embedding(classes, embed_dim)
        self.net = net

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, self.embed(y).to(z.dtype)], dim=1))


class ConcatDiscriminator(nn.Module):
    """:math:`D(x, y) = \\psi(\\phi([x; e(y)]))` (Mirza and Osindero 2014, section 4.1).

    The label's embedding enters with the input: as ``embed_dim`` constant channels of an image, or
    as ``embed_dim`` more features of a vector. ``body`` must accept ``C + embed_dim`` channels.
    Shapes: ``x (N, *shape)``, ``y (N,)`` -> ``(N,)``.
    """

    def __init__(self, classes: int, embed_dim: int, body: nn.Module) -> None:
        super().__init__()
        self.embed = nn.Embedding(classes, embed_dim)
        self.body = body
        self.head = nn.Linear(body.out_features, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        e = self.embed(y).to(x.dtype)
        if x.dim() == 4:
            e = e[:, :, None, None].expand(-1, -1, *x.shape[2:])
        return self.head(self.body(torch.cat([x, e], dim=1))).squeeze(1)


class ProjectionDiscriminator(nn.Module):
    """:math:`D(x, y) = \\psi(\\phi(x)) + e(y)^\\top \\phi(x)` (Miyato and Koyama 2018, eq. 3).

    The label enters through an inner product of its embedding :math:`e(y) \\in \\mathbb{R}^F`
    with the body's features :math:`\\phi(x) \\in \\mathbb{R}^F`, the form that the log density
    ratio takes when :math:`p(y \\mid x)` is log-linear in :math:`\\phi(x)`. In the paper's
    notation, with :math:`y` one-hot and :math:`V` the ``(K, F)`` embedding matrix, the projection
    term is :math:`y^\\top V \\phi(x)`; with the ResNet body :math:`\\phi(x)` is the sum over
    positions of the last block's ReLU'd features, as in the paper's CIFAR-10 model.
    Shapes: ``x (N, *shape)``, ``y (N,)`` -> ``(N,)``.
    """

    def __init__(self, classes: int, body: nn.Module) -> None:
        super().__init__()
        self.body = body
        self.head = nn.Linear(body.out_features, 1)
        self.embed = nn.Embedding(classes, body.out_features)
        nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        phi = self.body(x)
        return self.head(phi).squeeze(1) + (self.embed(y).to(phi.dtype) * phi).sum(dim=1)


class CGAN(AdversarialModel):
    """Conditional GAN (Mirza and Osindero 2014): generator and discriminator see the class label.

    The game of eq. 2 of the paper,

    .. math::
        \\min_G \\max_D \\; \\mathbb{E}_{x, y}[\\log \\sigma(D(x, y))]
        + \\mathbb{E}_{z, y}[\\log(1 - \\sigma(D(G(z, y), y)))],

    with the losses of the ``gan`` model (``non-saturating``, ``minimax`` or ``hinge``). The
    generator is :math:`G([z; e(y)])`; the discriminator is either ``concat``,
    :math:`D([x; e(y)])`, or ``projection``, :math:`\\psi(\\phi(x)) + e(y)^\\top\\phi(x)`
    (Miyato and Koyama 2018), which is usually paired with ``loss = "hinge"`` and
    ``spectral_norm = true``. With ``arch = "resnet"`` the generator is the SNGAN ResNet whose
    batch norms are class-conditional,
    :math:`\\gamma_y \\odot (h - \\mu_B) / \\sigma_B + \\beta_y`
    (:class:`~labcore_builtins.gan.conditional_norm.ConditionalBatchNorm2d`), the generator of
    Miyato and Koyama's CIFAR-10 and ImageNet experiments. The discriminator is updated at every
    step, the generator at every ``n_dis``-th (5 in the paper); DiffAugment (``diffaugment``)
    transforms real and generated images alike before D. Generated examples take the labels of
    the real batch.

    Batches: ``{"x": (N, *shape), "y": (N,)}`` with labels in ``[0, num_classes)``.
    ``sample(n, generator=g, condition=labels)`` draws one sample per label ``(n,)``; without
    labels it cycles through the classes. The sample grid has one row per class, the same noise
    down each column. Optimizers: ``generator``, ``discriminator``. ``evaluate`` is the ``gan``
    model's, with the held-out labels as conditions.
    """

    name = "cgan"
    Config = CGANConfig
    conditional = True

    def build_generator(self, in_dim: int) -> nn.Module:
        c = self.config
        if self.arch == "resnet":
            classes = num_classes(self.info, self.name)
            return ResNetGenerator(in_dim, self.shape, c.g_width, classes, c.attention_at)
        net = super().build_generator(in_dim + c.embed_dim)
        return ConditionalGenerator(num_classes(self.info, self.name), c.embed_dim, net)

    def build_discriminator(self) -> nn.Module:
        c = self.config
        classes = num_classes(self.info, self.name)
        if c.conditioning == "projection":
            return ProjectionDiscriminator(classes, self.build_body(self.shape[0]))
        body = self.build_body(self.shape[0] + c.embed_dim)
        return ConcatDiscriminator(classes, c.embed_dim, body)

    def discriminate(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.discriminator(x, y)

    @property
    def num_classes(self) -> int:
        return num_classes(self.info, self.name)

    def training_step(self, batch: dict[str, Any], ctx: Any) -> dict[str, torch.Tensor]:
        real, y = batch["x"], batch["y"]
        update_generator = self.generator_turn(ctx, self.config.n_dis)
        z = self.noise(real.shape[0], real.device)
        with ctx.autocast():
            with torch.set_grad_enabled(update_generator):
                fake = self.generator(z, y)
            d_real = self.discriminator(self.augmented(real), y)
            d_fake = self.discriminator(self.augmented(fake.detach()), y)
            d_loss = discriminator_loss(self.config.loss, d_real, d_fake)
        ctx.step("discriminator", d_loss)
        logs = {
            "d_loss": d_loss.detach(),
            "d_real": d_real.detach().float().mean(),
            "d_fake": d_fake.detach().float().mean(),
        }
        if update_generator:
            with frozen(self.discriminator), ctx.autocast():
                g_fake = self.discriminator(self.augmented(fake), y)
                g_loss = generator_loss(self.config.loss, g_fake)
            ctx.step("generator", g_loss)
            self.after_generator_update()
            logs["g_loss"] = g_loss.detach()
        return logs

    def labels(self, condition: torch.Tensor | None, n: int) -> torch.Tensor:
        """``condition`` checked as ``n`` class labels, or ``0, 1, ..., K-1, 0, ...`` when None."""
        device = self.fixed_noise.device
        if condition is None:
            return torch.arange(n, device=device) % self.num_classes
        labels = torch.as_tensor(condition, device=device).long().reshape(-1)
        if labels.numel() != n:
            raise ValueError(f"sample({n}) got {labels.numel()} labels; give one label per sample")
        if n and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(
                f"class labels must be in [0, {self.num_classes - 1}], got "
                f"{labels.min().item()}..{labels.max().item()}"
            )
        return labels

    def sample(
        self, n: int, *, generator: torch.Generator, condition: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``n`` samples ``(n, *shape)`` of the classes ``condition (n,)`` (default: cycling)."""
        y = self.labels(condition, n)
        return self.generate(randn(n, self.config.z_dim, generator, y.device), y)

    def sample_grid(self, generator: torch.Generator, bundle: Any) -> tuple[torch.Tensor, int]:
        """One row per class from the same fixed noise (up to 8 columns)."""
        cols = min(8, len(self.fixed_noise))
        k = self.num_classes
        y = torch.arange(k, device=self.fixed_noise.device).repeat_interleave(cols)
        fake = self.generate(self.fixed_noise[:cols].repeat(k, 1), y)
        if self.arch == "mlp":
            return scatter_image(bundle.split("train")["x"][: len(fake)], fake), 1
        return fake, cols
