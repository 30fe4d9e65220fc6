"""Encoders and decoders of the VAE family, built from the GAN family's blocks.

The encoder is a discriminator body (:mod:`labcore_builtins.gan.blocks`: the DCGAN convolutional
body or the MLP body) with a linear head to the posterior's mean and log-variance; the decoder is
a DCGAN or MLP generator whose output is left unbounded (logits of the pixel means). The same
decoder serves the VAE and, as the generator, the VAE-GAN, so the two are comparable.

Shapes: images ``(N, C, H, W)``, latent codes ``(N, z_dim)``.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from labcore_builtins.gan.blocks import (
    DCGANDiscriminatorBody,
    DCGANGenerator,
    MLPDiscriminatorBody,
    MLPGenerator,
    Norm,
)

Arch = Literal["mlp", "conv"]


class FlatInput(nn.Module):
    """A vector network applied to images: ``(N, C, H, W)`` is flattened to ``(N, C*H*W)`` first.

    ``out_features`` is the body's, so the wrapped body can stand wherever a discriminator body
    can (e.g. in :class:`labcore_builtins.gan.blocks.Discriminator`).
    """

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body
        self.out_features = body.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.flatten(1))


def image_body(
    arch: Arch, shape: tuple[int, int, int], width: int, hidden: int, layers: int, norm: Norm
) -> nn.Module:
    """A network from images ``(N, *shape)`` to features ``(N, out_features)``.

    ``conv``: the DCGAN discriminator body (strided convolutions, ``width`` channels at full
    resolution, doubled per stage, ``norm`` after each stage); ``mlp``: ``layers`` fully connected
    layers of ``hidden`` units with LeakyReLU on the flattened image.
    """
    if arch == "conv":
        return DCGANDiscriminatorBody(shape, width, norm)
    return FlatInput(MLPDiscriminatorBody(math.prod(shape), hidden, layers))


class GaussianEncoder(nn.Module):
    """The recognition model :math:`q_\\phi(z \\mid x) = \\mathcal N(\\mu(x),
    \\operatorname{diag} \\sigma^2(x))` (Kingma and Welling 2014, section 3).

    A feature body (:func:`image_body`) and a linear head to :math:`(\\mu, \\log \\sigma^2)`.
    Shapes: ``(N, C, H, W) -> ((N, z_dim), (N, z_dim))``.
    """

    def __init__(self, body: nn.Module, z_dim: int) -> None:
        super().__init__()
        self.body = body
        self.head = nn.Linear(body.out_features, 2 * z_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.head(self.body(x)).chunk(2, dim=1)
        return mu, logvar


def build_decoder(
    arch: Arch, z_dim: int, shape: tuple[int, int, int], width: int, hidden: int, layers: int
) -> nn.Module:
    """The decoder :math:`z \\mapsto` pixel logits, ``(N, z_dim) -> (N, *shape)``, unbounded.

    ``conv``: the DCGAN generator (:class:`~labcore_builtins.gan.blocks.DCGANGenerator`: a linear
    projection, transposed convolutions with batch norm and ReLU) without its final tanh;
    ``mlp``: the MLP generator (``layers`` hidden layers of ``hidden`` units with ReLU, a linear
    output) reshaped to the image. A sigmoid of the output is the mean image in ``[0, 1]``.
    """
    if arch == "conv":
        net = DCGANGenerator(z_dim, shape, width)
        if not isinstance(net.body[-1], nn.Tanh):
            raise RuntimeError("DCGANGenerator no longer ends with a tanh; update build_decoder")
        net.body[-1] = nn.Identity()
        return net
    return nn.Sequential(
        MLPGenerator(z_dim, math.prod(shape), hidden, layers), nn.Unflatten(1, shape)
    )
