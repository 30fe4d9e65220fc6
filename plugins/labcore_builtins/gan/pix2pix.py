"""pix2pix (Isola et al. 2017): image-to-image translation with a U-Net and a PatchGAN."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from typing import Any

import torch
from torch import nn

import labcore
from labcore.images import display_scale, grid_picture, picture_tensor
from labcore.model import OptimizerFactory
from labcore_builtins.gan.base import eval_mode, frozen
from labcore_builtins.gan.blocks import Norm, apply_spectral_norm, ema_decay_at, ema_update, norm2d
from labcore_builtins.gan.losses import GanLoss, discriminator_loss, generator_loss
from labcore_builtins.gan.similarity import (
    l1_per_image,
    psnr_per_image,
    ssim_per_image,
    ssim_sigma_for,
)

MAX_UNET_DEPTH = 8


def unet_max_depth(height: int, width: int) -> int:
    """How many times both sides halve exactly (at most 8, the paper's depth for 256x256)."""
    depth = 0
    while depth < MAX_UNET_DEPTH and height % 2 == 0 and width % 2 == 0:
        height, width, depth = height // 2, width // 2, depth + 1
    return depth


class NoiseDropout(nn.Module):
    """Dropout that is pix2pix's noise source: active at training and, optionally, at test time.

    Isola et al. (section 2.1) give the generator no ``z`` and use dropout, also at test time, as
    its only randomness. The mask is drawn from the ``generator`` passed to ``forward`` (on its
    device), so samples are reproducible; without one, from the global random state.
    """

    def __init__(self, p: float, at_test_time: bool) -> None:
        super().__init__()
        self.p = p
        self.at_test_time = at_test_time

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.p == 0 or not (self.training or self.at_test_time):
            return x
        device = generator.device if generator is not None else x.device
        keep = torch.rand(x.shape, generator=generator, device=device).to(x.device) >= self.p
        return x * keep.to(x.dtype) / (1.0 - self.p)


class UNetGenerator(nn.Module):
    """The pix2pix U-Net (Isola et al. 2017, section 3.1 and appendix 6.1.1).

    An encoder of ``depth`` stages ``LeakyReLU(0.2) -> Conv2d(4, stride 2) -> BatchNorm`` (no
    activation before the first, no norm on the first and the innermost), channels
    ``width * min(2^i, 8)``, and a mirrored decoder of ``ReLU -> ConvTranspose2d(4, stride 2) ->
    BatchNorm``, whose stage ``i`` sees the encoder's stage ``i`` concatenated to its input (the
    skip connections, "U"). The innermost ``dropout_layers`` decoder stages apply
    :class:`NoiseDropout`; the last stage ends in ``tanh``. ``depth = 0`` takes the deepest U-Net
    the image size allows (8 for 256x256, the paper's).

    Shapes: ``(N, in_channels, H, W) -> (N, out_channels, H, W)``; ``H`` and ``W`` divisible by
    ``2^depth``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        size: tuple[int, int],
        width: int = 64,
        depth: int = 0,
        dropout: float = 0.5,
        dropout_layers: int = 3,
        test_dropout: bool = True,
    ) -> None:
        super().__init__()
        deepest = unet_max_depth(*size)
        depth = depth or deepest
        if not 1 <= depth <= deepest:
            raise ValueError(
                f"a U-Net of depth {depth} needs sides divisible by {2**depth}, the images are "
                f"{size[0]}x{size[1]}; use depth <= {deepest} (0 picks {deepest})"
            )
        ch = [width * min(2**i, 8) for i in range(depth)]
        self.down = nn.ModuleList()
        for i in range(depth):
            inner_norm = 0 < i < depth - 1
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2)]
            c_in = in_channels if i == 0 else ch[i - 1]
            layers.append(nn.Conv2d(c_in, ch[i], 4, 2, 1, bias=not inner_norm))
            if inner_norm:
                layers.append(nn.BatchNorm2d(ch[i]))
            self.down.append(nn.Sequential(*layers))
        self.up = nn.ModuleList()
        self.noise = nn.ModuleList()
        for i in reversed(range(depth)):
            c_in = ch[i] if i == depth - 1 else 2 * ch[i]
            c_out = out_channels if i == 0 else ch[i - 1]
            layers = [nn.ReLU(), nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=i == 0)]
            layers.append(nn.Tanh() if i == 0 else nn.BatchNorm2d(c_out))
            self.up.append(nn.Sequential(*layers))
            p = dropout if (depth - 1 - i) < dropout_layers and i > 0 else 0.0
            self.noise.append(NoiseDropout(p, test_dropout))
        self.depth = depth

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        skips = []
        for down in self.down:
            x = down(x)
            skips.append(x)
        h = skips[-1]
        for j, (up, noise) in enumerate(zip(self.up, self.noise, strict=True)):
            i = self.depth - 1 - j
            if i < self.depth - 1:
                h = torch.cat([skips[i], h], dim=1)
            h = noise(up(h), generator)
        return h


def patch_receptive_field(layers: int) -> int:
    """Input pixels seen by one PatchGAN output: 70 for ``layers = 3`` (the paper's 70x70)."""
    field = 4 + 3  # the two 4x4 stride-1 convolutions at the end
    for _ in range(layers):
        field = 2 * field + 2
    return field


class PatchDiscriminator(nn.Module):
    """The PatchGAN discriminator (Isola et al. 2017, section 3.2 and appendix 6.1.2).

    ``Conv2d(4, stride 2) -> LeakyReLU(0.2)``, then ``layers - 1`` stages of
    ``Conv2d(4, stride 2) -> norm -> LeakyReLU``, one ``Conv2d(4, stride 1) -> norm -> LeakyReLU``
    and a ``Conv2d(4, stride 1)`` to one channel: a map of logits, each judging whether one
    :func:`patch_receptive_field`-sized patch is real. ``layers = 3`` gives the paper's 70x70
    PatchGAN; fewer suit small images. Channels ``width * min(2^i, 8)``.

    Shapes: ``(N, in_channels, H, W) -> (N, 1, H', W')`` with
    ``H' = floor(H / 2^layers) - 2``.
    """

    def __init__(
        self,
        in_channels: int,
        size: tuple[int, int],
        width: int = 64,
        layers: int = 3,
        norm: Norm = "batch",
    ) -> None:
        super().__init__()
        side = min(size)
        for _ in range(layers):
            side //= 2
        if layers < 1 or side - 2 < 1:
            most = max((n for n in range(1, 9) if min(size) // 2**n - 2 >= 1), default=0)
            raise ValueError(
                f"a PatchGAN with {layers} stride-2 layers does not fit {size[0]}x{size[1]} "
                f"images; set patch_layers between 1 and {most}"
            )
        modules: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        c_prev = width
        for n in range(1, layers + 1):
            c = width * min(2**n, 8)
            stride = 2 if n < layers else 1
            modules += [nn.Conv2d(c_prev, c, 4, stride, 1), norm2d(norm, c), nn.LeakyReLU(0.2)]
            c_prev = c
        modules.append(nn.Conv2d(c_prev, 1, 4, 1, 1))
        self.net = nn.Sequential(*modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@dataclasses.dataclass
class Pix2PixConfig:
    width: int = labcore.hp(64, "U-Net channels at the first stage (ngf)")
    depth: int = labcore.hp(0, "U-Net stages; 0 takes the deepest the image size allows (<= 8)")
    dropout: float = labcore.hp(0.5, "dropout rate of the innermost decoder stages (the noise)")
    dropout_layers: int = labcore.hp(3, "how many innermost decoder stages apply dropout")
    test_dropout: bool = labcore.hp(True, "keep dropout on when sampling (Isola et al.)")
    d_width: int = labcore.hp(64, "PatchGAN channels at the first layer (ndf)")
    patch_layers: int = labcore.hp(3, "PatchGAN stride-2 layers: 3 is the 70x70 PatchGAN")
    d_norm: Norm = labcore.hp("batch", "PatchGAN normalisation: batch | layer | none")
    spectral_norm: bool = labcore.hp(False, "spectrally normalise the PatchGAN's weights")
    loss: GanLoss = labcore.hp(
        "non-saturating", "adversarial objective: non-saturating | minimax | hinge"
    )
    gan_weight: float = labcore.hp(
        1.0, "weight of the adversarial term; 0 trains the U-Net on L1 alone (no discriminator)"
    )
    l1_weight: float = labcore.hp(100.0, "lambda, the weight of the L1 term (the paper's 100)")
    ema_decay: float = labcore.hp(
        0.999, "decay of the moving average of G's weights used for sampling; 0 turns it off"
    )
    grid_size: int = labcore.hp(8, "input | output | target rows in the periodic sample grid")

    def __post_init__(self) -> None:
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.gan_weight < 0 or self.l1_weight < 0:
            raise ValueError("gan_weight and l1_weight must not be negative")
        if self.gan_weight == 0 and self.l1_weight == 0:
            raise ValueError("gan_weight and l1_weight are both 0: nothing to train")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")


def paired_shapes(info: dict[str, Any]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(condition_shape, shape)`` from a paired dataset's info, or a ValueError saying why not."""
    if "condition_shape" not in info or "shape" not in info:
        raise ValueError(
            "model 'pix2pix' needs paired images (info['condition_shape'] and info['shape']); "
            "use a paired dataset such as edges2digits or paired-folder"
        )
    source, target = tuple(info["condition_shape"]), tuple(info["shape"])
    if len(source) != 3 or len(target) != 3 or source[1:] != target[1:]:
        raise ValueError(
            f"pix2pix maps (C, H, W) images to images of the same size; the dataset pairs "
            f"{source} with {target}"
        )
    return source, target


GRID_COLUMNS = ("input", "output", "target")


class Pix2Pix(labcore.Model):
    """pix2pix (Isola et al. 2017): a conditional GAN that maps input images to output images.

    The generator :math:`G` (a U-Net, :class:`UNetGenerator`) maps an input :math:`x` to an output;
    the discriminator :math:`D` (a PatchGAN, :class:`PatchDiscriminator`) judges (input, output)
    pairs patch by patch. The objective is eq. 4 of the paper,

    .. math::
        G^* = \\arg\\min_G \\max_D \\; \\mathcal{L}_{cGAN}(G, D) + \\lambda\\, \\mathcal{L}_{L1}(G),
        \\qquad \\mathcal{L}_{L1} = \\mathbb{E}_{x, y}\\lVert y - G(x) \\rVert_1,

    with :math:`\\mathcal L_{cGAN}` the GAN loss of eq. 1 on pairs :math:`D(x, y)` vs
    :math:`D(x, G(x))`, averaged over patches (non-saturating for G by default), and
    :math:`\\lambda` = ``l1_weight`` = 100. Noise enters only through dropout
    (:class:`NoiseDropout`). ``gan_weight = 0`` gives the paper's L1-only baseline.

    Batches: ``{"condition": (N, C_in, H, W), "x": (N, C, H, W)}`` (input, target).
    ``sample(n, generator=g, condition=inputs)`` maps ``n`` inputs; the sample grid shows
    input | output | target rows from the validation split. ``evaluate`` reports L1, PSNR (dB)
    and SSIM (Wang et al. 2004) of outputs against targets. Optimizers: ``generator``,
    ``discriminator`` (none when ``gan_weight = 0``).
    """

    name = "pix2pix"
    Config = Pix2PixConfig
    grid_caption = (
        "Each row: one of the first inputs of the validation split, the model's output for it "
        "and the target."
    )

    def __init__(self, config: Pix2PixConfig, info: dict[str, Any]) -> None:
        super().__init__(config, info)
        source, target = paired_shapes(info)
        size = target[1:]
        self.generator = UNetGenerator(
            source[0], target[0], size, config.width, config.depth, config.dropout,
            config.dropout_layers, config.test_dropout,
        )  # fmt: skip
        self.discriminator = None
        if config.gan_weight > 0:
            self.discriminator = PatchDiscriminator(
                source[0] + target[0], size, config.d_width, config.patch_layers, config.d_norm
            )
            if config.spectral_norm:
                apply_spectral_norm(self.discriminator)
        self.ema_generator = (
            copy.deepcopy(self.generator).requires_grad_(False) if config.ema_decay > 0 else None
        )
        self.register_buffer("generator_updates", torch.zeros((), dtype=torch.long))
        low, high = info.get("value_range", (-1.0, 1.0))
        self.data_range = float(high - low)

    def configure_optimizers(self, make: OptimizerFactory) -> dict[str, torch.optim.Optimizer]:
        optimizers = {"generator": make("generator", self.generator.parameters())}
        if self.discriminator is not None:
            optimizers["discriminator"] = make("discriminator", self.discriminator.parameters())
        return optimizers

    def training_step(self, batch: dict[str, Any], ctx: Any) -> dict[str, torch.Tensor]:
        c = self.config
        source, target = batch["condition"], batch["x"]
        d = self.discriminator
        logs = {}
        with ctx.autocast():
            fake = self.generator(source)
        if d is not None:
            with ctx.autocast():
                d_real = d(torch.cat([source, target], dim=1))
                d_fake = d(torch.cat([source, fake.detach()], dim=1))
                d_loss = discriminator_loss(c.loss, d_real, d_fake)
            ctx.step("discriminator", d_loss)
            logs["d_loss"] = d_loss.detach()
        with frozen(d) if d is not None else contextlib.nullcontext(), ctx.autocast():
            l1 = (fake - target).abs().mean()
            g_loss = c.l1_weight * l1
            if d is not None:
                g_adv = generator_loss(c.loss, d(torch.cat([source, fake], dim=1)))
                g_loss = g_loss + c.gan_weight * g_adv
                logs["g_adv"] = g_adv.detach()
        ctx.step("generator", g_loss)
        if self.ema_generator is not None:
            decay = ema_decay_at(c.ema_decay, self.generator_updates)
            ema_update(self.ema_generator, self.generator, decay)
        self.generator_updates += 1
        logs.update(g_loss=g_loss.detach(), l1=l1.detach())
        return logs

    @property
    def sampler(self) -> nn.Module:
        return self.ema_generator if self.ema_generator is not None else self.generator

    @property
    def samples_from_ema(self) -> bool:
        return self.ema_generator is not None

    @torch.no_grad()
    def translate(
        self, inputs: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The sampler's outputs ``(N, C, H, W)`` for ``inputs`` ``(N, C_in, H, W)``."""
        with eval_mode(self.sampler) as net:
            return net(inputs, generator)

    def sample(
        self, n: int, *, generator: torch.Generator, condition: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Outputs for ``n`` input images ``condition`` ``(n, C_in, H, W)``."""
        if condition is None:
            raise ValueError(
                "pix2pix translates input images: pass them as condition (n, C_in, H, W); "
                "from the command line: `labcore translate RUN INPUTS -o OUT`"
            )
        if condition.shape[0] != n:
            raise ValueError(f"sample({n}) got {condition.shape[0]} input images; give n inputs")
        return self.translate(condition.to(self.generator_updates.device), generator)

    def sample_grid(self, generator: torch.Generator, bundle: Any) -> tuple[torch.Tensor, int]:
        """The rows of :meth:`grid_rows` drawn as one picture, enlarged and headed
        input | output | target."""
        images, nrow = self.grid_rows(generator, bundle)
        value_range = tuple(bundle.info.get("value_range", (-1.0, 1.0)))
        picture = grid_picture(
            images, nrow, value_range, display_scale(images), column_labels=GRID_COLUMNS
        )
        return picture_tensor(picture, value_range), 1

    def grid_rows(self, generator: torch.Generator, bundle: Any) -> tuple[torch.Tensor, int]:
        """Rows of input | output | target from the start of the val split (else test, train)."""
        name = next(s for s in ("val", "test", "train") if s in bundle.splits)
        split = bundle.split(name)
        source = split["condition"][: self.config.grid_size].to(self.generator_updates.device)
        target = split["x"][: self.config.grid_size].to(source.device)
        output = self.translate(source, generator)
        channels = max(source.shape[1], target.shape[1])
        rows = [t.expand(-1, channels, -1, -1) for t in (source, output, target)]
        return torch.stack(rows, dim=1).flatten(0, 1), 3

    def evaluate(self, split: Any, ctx: Any) -> dict[str, float]:
        """Mean L1, PSNR (dB) and SSIM of outputs against targets over the split.

        The dropout noise is drawn from a generator seeded with 0, so the figures are repeatable.
        """
        gen = torch.Generator(device="cpu").manual_seed(0)
        l1, psnr, ssim = [], [], []
        for batch in ctx.batches(split):
            output = self.translate(batch["condition"], gen)
            target = batch["x"]
            sigma = ssim_sigma_for(*target.shape[-2:])
            l1.append(l1_per_image(output, target))
            psnr.append(psnr_per_image(output, target, self.data_range))
            ssim.append(ssim_per_image(output, target, self.data_range, sigma))
        return {
            "l1": torch.cat(l1).mean().item(),
            "psnr": torch.cat(psnr).mean().item(),
            "ssim": torch.cat(ssim).mean().item(),
        }
