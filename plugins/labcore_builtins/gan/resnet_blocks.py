"""The ResNet generator and discriminator of SNGAN for 32, 48 and 64 px images.

Miyato et al. 2018 ("Spectral normalization for generative adversarial networks"), appendix B,
tables 4 (CIFAR-10, 32x32) and 5 (STL-10, 48x48), after the ResNet GAN of Gulrajani et al. 2017;
the 64x64 networks are those of the authors' projection discriminator code (Miyato and Koyama
2018). With ``num_classes > 0`` the generator's batch norms are class-conditional
(:class:`~labcore_builtins.gan.conditional_norm.ConditionalBatchNorm2d`), the generator of the
projection discriminator paper. An optional SAGAN self-attention block (Zhang et al. 2019) follows
the block whose output has a chosen side.

``width`` is the paper's ``ch`` (64): at 32 px the generator has ``4 * width`` channels throughout
and the discriminator ``2 * width`` (256 and 128 in table 4); at 48 and 64 px the generator starts
at ``8 * width`` or ``16 * width`` channels and halves them per block, the discriminator doubles
from ``width`` per block.

Shapes: ``z (N, in_dim)`` (and ``y (N,)``) -> ``(N, C, H, W)`` in ``[-1, 1]``; the discriminator
body ``(N, C, H, W) -> (N, out_features)``, the ReLU'd features summed over positions.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

from labcore_builtins.gan.attention import SelfAttention
from labcore_builtins.gan.conditional_norm import batch_norm

SIDES = (32, 48, 64)


@dataclasses.dataclass(frozen=True)
class ResNetPlan:
    """The layout of one resolution: generator start side and channel multipliers per block."""

    start: int
    """Side of the generator's first feature map (4 or 6)."""
    generator: tuple[int, ...]
    """Channels, as multiples of ``width``, before the first and after each up block."""
    discriminator: tuple[tuple[int, bool], ...]
    """(channels as multiples of ``width``, downsamples) of each discriminator block."""


PLANS = {
    32: ResNetPlan(4, (4, 4, 4, 4), ((2, True), (2, True), (2, False), (2, False))),
    48: ResNetPlan(6, (8, 4, 2, 1), ((1, True), (2, True), (4, True), (8, True), (16, False))),
    64: ResNetPlan(
        4, (16, 8, 4, 2, 1), ((1, True), (2, True), (4, True), (8, True), (16, True), (16, False))
    ),
}


def resnet_plan(shape: tuple[int, ...]) -> ResNetPlan:
    """The plan for images of ``shape (C, S, S)``; a ValueError naming the sizes it supports."""
    if len(shape) != 3 or shape[1] != shape[2] or shape[1] not in PLANS:
        raise ValueError(
            f"model.arch = 'resnet' has the SNGAN networks for square images of "
            f"{', '.join(map(str, SIDES))} px, the data has shape {tuple(shape)}; use "
            "arch = 'dcgan' for other sizes, or resize the data"
        )
    return PLANS[shape[1]]


def attention_sides(shape: tuple[int, ...]) -> list[int]:
    """Feature-map sides at which both networks can take a self-attention block."""
    plan = resnet_plan(shape)
    g_sides = {plan.start * 2 ** (i + 1) for i in range(len(plan.generator) - 1)}
    d_sides, side = set(), shape[1]
    for _, down in plan.discriminator:
        side //= 2 if down else 1
        d_sides.add(side)
    return sorted(g_sides & d_sides)


def check_attention(attention_at: int, shape: tuple[int, ...]) -> None:
    """A ValueError naming the valid sides when ``attention_at`` (0: none) is not one."""
    sides = attention_sides(shape)
    if attention_at and attention_at not in sides:
        raise ValueError(
            f"model.attention_at = {attention_at}: for {shape[1]} px images the self-attention "
            f"block can sit at a feature map of side {' or '.join(map(str, sides))} (0: none)"
        )


def _init(conv: nn.Module, gain: float) -> nn.Module:
    """Xavier-uniform weights (the authors' initialisation), zero biases."""
    nn.init.xavier_uniform_(conv.weight, gain)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)
    return conv


def _conv(c_in: int, c_out: int, kernel: int, gain: float = math.sqrt(2)) -> nn.Conv2d:
    return _init(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2), gain)


def upsample2(x: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour upsampling by 2 of ``(N, C, H, W)`` to ``(N, C, 2H, 2W)``: the values of
    ``F.interpolate(x, scale_factor=2, mode="nearest")``, as a broadcast and a copy. On CPU it is
    5x faster forward at the generator's last, largest map, where ``F.interpolate`` slows sharply,
    and slower on small maps; a 32 px SNGAN step gains about 8% (benchmarks/upsample.py)."""
    n, c, h, w = x.shape
    return x[:, :, :, None, :, None].expand(n, c, h, 2, w, 2).reshape(n, c, 2 * h, 2 * w)


class GeneratorBlock(nn.Module):
    """Up block: ``BN -> ReLU -> upsample x2 -> conv3 -> BN -> ReLU -> conv3`` plus the shortcut
    ``upsample x2 -> conv1``. Batch norms are class-conditional when ``num_classes > 0``.

    Shapes: ``x (N, c_in, S, S)``, ``y (N,)`` or None -> ``(N, c_out, 2S, 2S)``.
    """

    def __init__(self, c_in: int, c_out: int, num_classes: int = 0) -> None:
        super().__init__()
        self.norm1 = batch_norm(c_in, num_classes)
        self.conv1 = _conv(c_in, c_out, 3)
        self.norm2 = batch_norm(c_out, num_classes)
        self.conv2 = _conv(c_out, c_out, 3)
        self.shortcut = _conv(c_in, c_out, 1, gain=1.0)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = upsample2(F.relu(self.norm1(x, y)))
        h = self.conv2(F.relu(self.norm2(self.conv1(h), y)))
        return h + self.shortcut(upsample2(x))


class DiscriminatorBlock(nn.Module):
    """``ReLU -> conv3 -> ReLU -> conv3 [-> avgpool 2]`` plus the shortcut ``conv1 [-> avgpool 2]``
    (the identity when the block keeps channels and size).

    ``first = True`` is the "optimized" input block of the paper: no ReLU on the image, and the
    shortcut pools before its 1x1 convolution. Shapes: ``(N, c_in, S, S) -> (N, c_out, S', S')``,
    ``S' = S / 2`` when ``down``.
    """

    def __init__(self, c_in: int, c_out: int, down: bool, first: bool = False) -> None:
        super().__init__()
        self.down, self.first = down, first
        self.conv1 = _conv(c_in, c_out, 3)
        self.conv2 = _conv(c_out, c_out, 3)
        learnable = c_in != c_out or down
        self.shortcut = _conv(c_in, c_out, 1, gain=1.0) if learnable else None

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 2) if self.down else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(x)
        h = self._pool(self.conv2(F.relu(self.conv1(h))))
        if self.shortcut is None:
            return h + x
        if self.first:
            return h + self.shortcut(self._pool(x))
        return h + self._pool(self.shortcut(x))


class ResNetGenerator(nn.Module):
    """The SNGAN ResNet generator: ``z -> linear -> (start x start) -> up blocks -> BN -> ReLU ->
    conv3 -> tanh`` (Miyato et al. 2018, tables 4 and 5).

    With ``num_classes > 0`` it is the conditional generator of Miyato and Koyama 2018: the label
    enters through the conditional batch norms of the blocks, and ``forward`` needs ``y``.
    ``attention_at`` (a side, 0 for none) adds a :class:`SelfAttention` after the block with that
    output side. Shapes: ``z (N, in_dim)``, ``y (N,)`` -> ``(N, C, S, S)``.
    """

    def __init__(
        self,
        in_dim: int,
        shape: tuple[int, int, int],
        width: int = 64,
        num_classes: int = 0,
        attention_at: int = 0,
    ) -> None:
        super().__init__()
        plan = resnet_plan(shape)
        check_attention(attention_at, shape)
        self.num_classes = num_classes
        channels = [m * width for m in plan.generator]
        self.start = (channels[0], plan.start, plan.start)
        self.project = _init(nn.Linear(in_dim, channels[0] * plan.start**2), 1.0)
        self.blocks = nn.ModuleList(
            GeneratorBlock(c_in, c_out, num_classes)
            for c_in, c_out in zip(channels, channels[1:], strict=False)
        )
        self.attention = nn.ModuleDict()
        for i, c_out in enumerate(channels[1:]):
            if plan.start * 2 ** (i + 1) == attention_at:
                self.attention[str(i)] = SelfAttention(c_out)
        self.out = nn.Sequential(
            nn.BatchNorm2d(channels[-1]),
            nn.ReLU(),
            _conv(channels[-1], shape[0], 3, gain=1.0),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes and y is None:
            raise ValueError("this generator is class-conditional: call it with labels y")
        h = self.project(z).view(-1, *self.start)
        for i, block in enumerate(self.blocks):
            h = block(h, y)
            if str(i) in self.attention:
                h = self.attention[str(i)](h)
        return self.out(h)


class ResNetDiscriminatorBody(nn.Module):
    """The SNGAN ResNet discriminator up to its features: the optimized first block, further
    blocks, ReLU and the global sum over positions (Miyato et al. 2018, tables 4 and 5).

    Wrapped by :class:`~labcore_builtins.gan.blocks.Discriminator` (a linear head) or the
    projection discriminator; spectral normalisation is applied to the whole discriminator by the
    model. ``attention_at`` adds a :class:`SelfAttention` after the block with that output side.
    Shapes: ``(N, in_channels, S, S) -> (N, out_features)``.
    """

    def __init__(
        self, shape: tuple[int, int, int], width: int = 64, attention_at: int = 0
    ) -> None:
        super().__init__()
        plan = resnet_plan(shape)
        check_attention(attention_at, shape)
        layers: list[nn.Module] = []
        c_in, side = shape[0], shape[1]
        for i, (mult, down) in enumerate(plan.discriminator):
            layers.append(DiscriminatorBlock(c_in, mult * width, down, first=i == 0))
            c_in, side = mult * width, side // 2 if down else side
            if side == attention_at and not any(isinstance(m, SelfAttention) for m in layers):
                layers.append(SelfAttention(c_in))
        self.blocks = nn.Sequential(*layers)
        self.out_features = c_in

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.blocks(x)).sum(dim=(2, 3))
