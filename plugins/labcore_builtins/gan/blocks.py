"""Reusable GAN building blocks: DCGAN and MLP networks, minibatch standard deviation,
spectral normalisation and the exponential moving average of weights.

Other families import these (the VAE-GAN uses :class:`Discriminator` and its ``features``), so they
depend on nothing but torch and take plain arguments, not recipe configs.

Shapes: images are ``(N, C, H, W)``, points and features ``(N, F)``, latent codes ``(N, z_dim)``.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

Norm = Literal["batch", "layer", "none"]


def downsampling_plan(height: int, width: int, min_side: int = 4) -> tuple[int, int, int]:
    """How many stride-2 stages a DCGAN uses for an image of ``height x width``.

    The image is halved while both sides stay even and at least ``min_side`` after halving.
    Returns ``(stages, h0, w0)``: the number of stages and the side lengths at the coarsest one
    (``8x8 -> (1, 4, 4)``, ``28x28 -> (2, 7, 7)``, ``64x64 -> (4, 4, 4)``).
    """
    stages = 0
    while height % 2 == 0 and width % 2 == 0 and min(height, width) // 2 >= min_side:
        height, width, stages = height // 2, width // 2, stages + 1
    return stages, height, width


def _channels(width: int, stage: int, max_mult: int = 8) -> int:
    return width * min(2**stage, max_mult)


def norm2d(kind: Norm, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    return nn.Identity()


def dcgan_init(module: nn.Module) -> None:
    """The DCGAN initialisation (Radford et al. 2016, section 4): weights ~ N(0, 0.02).

    Batch-norm scales ~ N(1, 0.02), biases 0. Apply with ``model.apply(dcgan_init)``.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class MinibatchStdDev(nn.Module):
    """Minibatch standard deviation (Karras et al. 2018, section 3), an aid against mode collapse.

    The batch is split into groups of ``group_size`` examples; within a group the standard
    deviation of every feature is taken over the examples and averaged over all features,

    .. math:: s = \\frac{1}{|F|} \\sum_{f \\in F} \\sqrt{\\operatorname{Var}_{i \\in g}[x_{i,f}]
              + 10^{-8}}

    and :math:`s` is appended to each example of the group as one more channel (images) or one
    more feature (vectors). A batch of near-identical samples has a small :math:`s`, which the
    discriminator learns to reject.

    Shapes: ``(N, C, H, W) -> (N, C + 1, H, W)`` and ``(N, F) -> (N, F + 1)``. The group size is
    the largest divisor of ``N`` not above ``group_size``.
    """

    def __init__(self, group_size: int = 4) -> None:
        super().__init__()
        if group_size < 2:
            raise ValueError(f"MinibatchStdDev: group_size must be at least 2, got {group_size}")
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        group = max(g for g in range(1, min(self.group_size, n) + 1) if n % g == 0)
        grouped = x.reshape(group, n // group, *x.shape[1:])
        std = (grouped.var(dim=0, unbiased=False) + 1e-8).sqrt()
        s = std.flatten(1).mean(dim=1)  # (n // group,)
        s = s.repeat(group)  # example i belongs to group column i % (n // group)
        extra = s.view(n, *([1] * (x.dim() - 1))).expand(n, 1, *x.shape[2:])
        return torch.cat([x, extra.to(x.dtype)], dim=1)


class DCGANGenerator(nn.Module):
    """The DCGAN generator (Radford et al. 2016, figure 1) for any image size.

    A linear projection of the input code to ``(width * 2^S, h0, w0)``, then ``S`` stages of
    ``ConvTranspose2d(4, stride 2) -> BatchNorm -> ReLU`` that double the side and halve the
    channels, and a final ``3x3`` convolution with ``tanh`` to the image channels. ``S, h0, w0``
    come from :func:`downsampling_plan`.

    Shapes: ``(N, in_dim) -> (N, C, H, W)`` in ``[-1, 1]``.
    """

    def __init__(self, in_dim: int, shape: tuple[int, int, int], width: int = 64) -> None:
        super().__init__()
        channels, height, wide = shape
        stages, h0, w0 = downsampling_plan(height, wide)
        top = _channels(width, stages)
        self.start = (top, h0, w0)
        self.project = nn.Sequential(
            nn.Linear(in_dim, top * h0 * w0, bias=False),
            nn.Unflatten(1, self.start),
            nn.BatchNorm2d(top),
            nn.ReLU(inplace=True),
        )
        layers: list[nn.Module] = []
        for stage in range(stages, 0, -1):
            c_in, c_out = _channels(width, stage), _channels(width, stage - 1)
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]
        layers += [nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(self.project(z))


class DCGANDiscriminatorBody(nn.Module):
    """The convolutional body of the DCGAN discriminator (Radford et al. 2016) for any image size.

    A ``3x3`` convolution to ``width`` channels, then ``S`` stages of
    ``Conv2d(4, stride 2) -> norm -> LeakyReLU(0.2)`` that halve the side and double the channels
    (the plan of :class:`DCGANGenerator` in reverse), optionally a :class:`MinibatchStdDev` channel,
    a last ``3x3`` convolution, and a flatten. Batch norm is DCGAN's choice; WGAN-GP needs ``layer``
    or ``none`` (the penalty is per example), spectral normalisation usually goes with ``none``.

    Shapes: ``(N, C, H, W) -> (N, out_features)``.
    """

    def __init__(
        self,
        shape: tuple[int, int, int],
        width: int = 64,
        norm: Norm = "batch",
        minibatch_std: bool = False,
    ) -> None:
        super().__init__()
        channels, height, wide = shape
        stages, h0, w0 = downsampling_plan(height, wide)
        act = nn.LeakyReLU(0.2)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, 1, 1), act]
        for stage in range(stages):
            c_in, c_out = _channels(width, stage), _channels(width, stage + 1)
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), norm2d(norm, c_out), act]
        top = _channels(width, stages)
        if minibatch_std:
            layers.append(MinibatchStdDev())
        layers += [nn.Conv2d(top + int(minibatch_std), top, 3, 1, 1), act, nn.Flatten()]
        self.layers = nn.Sequential(*layers)
        self.out_features = top * h0 * w0
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class MLPGenerator(nn.Module):
    """A fully connected generator for low-dimensional data (the 2-D toy sets).

    ``layers`` hidden layers of ``hidden`` units with ReLU, a linear output (unbounded: toy data
    are not scaled to ``[-1, 1]``). Shapes: ``(N, in_dim) -> (N, out_dim)``.
    """

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 128, layers: int = 3) -> None:
        super().__init__()
        modules: list[nn.Module] = []
        size = in_dim
        for _ in range(layers):
            modules += [nn.Linear(size, hidden), nn.ReLU(inplace=True)]
            size = hidden
        modules.append(nn.Linear(size, out_dim))
        self.net = nn.Sequential(*modules)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class MLPDiscriminatorBody(nn.Module):
    """The fully connected discriminator body for low-dimensional data.

    ``layers`` hidden layers of ``hidden`` units with LeakyReLU(0.2); with ``minibatch_std`` the
    :class:`MinibatchStdDev` statistic enters before the last hidden layer.
    Shapes: ``(N, in_dim) -> (N, out_features)``.
    """

    def __init__(
        self, in_dim: int, hidden: int = 128, layers: int = 3, minibatch_std: bool = False
    ) -> None:
        super().__init__()
        if layers < 1:
            raise ValueError(f"MLPDiscriminatorBody: layers must be at least 1, got {layers}")
        modules: list[nn.Module] = []
        size = in_dim
        for i in range(layers):
            if minibatch_std and i == layers - 1:
                modules.append(MinibatchStdDev())
                size += 1
            modules += [nn.Linear(size, hidden), nn.LeakyReLU(0.2)]
            size = hidden
        self.layers = nn.Sequential(*modules)
        self.out_features = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class Discriminator(nn.Module):
    """A discriminator body followed by a linear head: one raw score per example.

    ``features(x)`` is the body's output :math:`\\phi(x)`, shape ``(N, F)``, and ``forward(x)``
    is :math:`\\psi(\\phi(x))`, shape ``(N,)``: a logit for the GAN losses, a critic value for WGAN.
    The VAE-GAN's learned similarity (Larsen et al. 2016) reads ``features``.
    """

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body
        self.head = nn.Linear(body.out_features, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)


def apply_spectral_norm(module: nn.Module, n_power_iterations: int = 1) -> nn.Module:
    """Spectrally normalise every linear, convolution and embedding weight in ``module``.

    Spectral normalisation (Miyato et al. 2018, eq. 8) replaces a weight :math:`W` by
    :math:`W / \\sigma(W)`, with :math:`\\sigma(W)` its largest singular value estimated by
    ``n_power_iterations`` of power iteration per training forward pass
    (``torch.nn.utils.parametrizations.spectral_norm``). With 1-Lipschitz activations this bounds
    the Lipschitz constant of a fully connected network by 1. For a convolution the bound is on
    the reshaped ``(out, in * k * k)`` kernel matrix, as in the paper, which approximates the
    operator norm. Returns ``module`` (modified in place).
    """
    targets = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.Embedding)
    for child in list(module.modules()):
        if isinstance(child, targets) and not hasattr(child, "parametrizations"):
            spectral_norm(child, n_power_iterations=n_power_iterations)
    return module


def ema_decay_at(decay: float, updates: int | torch.Tensor) -> float | torch.Tensor:
    """The decay used at the ``updates``-th update: ``min(decay, (1 + t) / (10 + t))``.

    The warm-up of TensorFlow's ``ExponentialMovingAverage(num_updates=t)``: early averages
    follow the weights closely instead of remembering the random initialisation. For a tensor
    ``updates`` (a counter buffer on the GPU) the decay is a tensor on the same device, so that
    computing it does not wait for the device.
    """
    if isinstance(updates, torch.Tensor):
        count = updates.to(torch.float32)
        return ((1.0 + count) / (10.0 + count)).clamp(max=decay)
    return min(decay, (1.0 + updates) / (10.0 + updates))


@torch.no_grad()
def ema_update(target: nn.Module, source: nn.Module, decay: float | torch.Tensor) -> None:
    """One step of the moving average of weights (Karras et al. 2018; Yazici et al. 2019).

    .. math:: \\theta_{ema} \\leftarrow \\beta\\, \\theta_{ema} + (1 - \\beta)\\, \\theta

    for every parameter; buffers (batch-norm running statistics) are copied from ``source``.
    ``target`` and ``source`` must have the same architecture.
    """
    for t, s in zip(target.parameters(), source.parameters(), strict=True):
        t.lerp_(s.detach(), 1.0 - decay)
    for t, s in zip(target.buffers(), source.buffers(), strict=True):
        t.copy_(s)
