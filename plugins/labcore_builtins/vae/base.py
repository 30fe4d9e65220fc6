"""What the VAE and the VAE-GAN share: a Gaussian encoder, a decoder, the data's value range.

Both models encode images to :math:`q(z \\mid x) = \\mathcal N(\\mu(x), \\operatorname{diag}
\\sigma^2(x))` and decode codes to pixel logits; :math:`\\sigma(\\text{logits})` is the mean image
in ``[0, 1]``, mapped linearly onto the dataset's ``info["value_range"]`` for samples,
reconstructions and the VAE-GAN's discriminator. The figures of the report
(:mod:`labcore_builtins.vae.figures`) need only :meth:`LatentModel.encode`,
:meth:`LatentModel.decode` and :meth:`LatentModel.sample`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

import labcore
from labcore_builtins.gan.base import data_shape, eval_mode, randn
from labcore_builtins.gan.blocks import Norm
from labcore_builtins.vae.networks import Arch, GaussianEncoder, build_decoder, image_body


@dataclasses.dataclass
class LatentConfig:
    """Hyperparameters of the encoder and the decoder, common to the VAE family."""

    z_dim: int = labcore.hp(16, "size of the latent code z; the prior is N(0, I)")
    arch: Arch = labcore.hp("mlp", "networks: mlp (fully connected) | conv (DCGAN-style)")
    hidden: int = labcore.hp(256, "mlp: units per hidden layer of the encoder and the decoder")
    layers: int = labcore.hp(2, "mlp: hidden layers of the encoder and the decoder")
    width: int = labcore.hp(
        32, "conv: channels at full resolution, doubled per coarser stage (at most 8x)"
    )
    norm: Norm = labcore.hp("batch", "conv: encoder normalisation: batch | layer | none")
    fixed_samples: int = labcore.hp(
        64, "size of the fixed prior draw behind the periodic sample grids"
    )

    def __post_init__(self) -> None:
        for key in ("z_dim", "hidden", "layers", "width", "fixed_samples"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be positive, got {getattr(self, key)}")


def full_precision(t: torch.Tensor) -> torch.Tensor:
    """``t`` in float32 when autocast made it half or bfloat16; float32 and float64 are kept."""
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


def value_range_of(info: dict[str, Any], model: str) -> tuple[float, float]:
    """The dataset's pixel range ``(low, high)``, or a ValueError saying what is missing."""
    if "value_range" not in info:
        raise ValueError(
            f"model {model!r} needs the dataset's info['value_range'] (the pixel range, e.g. "
            "(-1.0, 1.0)) to map pixels onto [0, 1]; use an image dataset that declares it"
        )
    low, high = (float(v) for v in info["value_range"])
    return low, high


class LatentModel(labcore.Model):
    """Base of the VAE family: ``encoder``, ``decoder``, value-range mapping and sampling.

    Submodules: ``encoder`` (:class:`~labcore_builtins.vae.networks.GaussianEncoder`) and
    ``decoder`` (:func:`~labcore_builtins.vae.networks.build_decoder`). Buffer: ``fixed_noise``
    ``(fixed_samples, z_dim)``, the prior draw of the periodic sample grids.
    """

    Config = LatentConfig

    def __init__(self, config: LatentConfig, info: dict[str, Any]) -> None:
        super().__init__(config, info)
        shape = data_shape(info, self.name)
        if len(shape) != 3:
            raise ValueError(
                f"model {self.name!r} models images of shape (C, H, W); the data has shape "
                f"{shape}; use an image dataset such as digits or mnist"
            )
        self.shape = shape
        self.low, self.high = value_range_of(info, self.name)
        c = config
        body = image_body(c.arch, self.shape, c.width, c.hidden, c.layers, c.norm)
        self.encoder = GaussianEncoder(body, c.z_dim)
        self.decoder = build_decoder(c.arch, c.z_dim, self.shape, c.width, c.hidden, c.layers)
        self.register_buffer("fixed_noise", torch.randn(c.fixed_samples, c.z_dim))

    # -- pixels -------------------------------------------------------------------------------

    def to_unit(self, x: torch.Tensor) -> torch.Tensor:
        """Images in the data's value range to ``[0, 1]`` (the Bernoulli decoder's targets)."""
        return (x - self.low) / (self.high - self.low)

    def from_unit(self, u: torch.Tensor) -> torch.Tensor:
        """Images in ``[0, 1]`` to the data's value range."""
        return u * (self.high - self.low) + self.low

    def images(self, logits: torch.Tensor) -> torch.Tensor:
        """Decoder logits ``(N, C, H, W)`` to mean images in the data's value range."""
        return self.from_unit(torch.sigmoid(logits))

    # -- the two directions -------------------------------------------------------------------

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:math:`(\\mu, \\log\\sigma^2)` of :math:`q(z \\mid x)` for images ``x (N, C, H, W)``
        in the data's value range; each ``(N, z_dim)``."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Mean images ``(N, C, H, W)`` in the data's value range for codes ``z (N, z_dim)``."""
        return self.images(self.decoder(z))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The decoded posterior mean of each image, in eval mode: ``(N, C, H, W)``."""
        with eval_mode(self):
            return self.decode(self.encode(x)[0])

    # -- sampling -----------------------------------------------------------------------------

    def noise(self, *leading: int, like: torch.Tensor) -> torch.Tensor:
        """Standard normal draws ``(*leading, z_dim)`` from the global random state, with the
        device and dtype of the data batch ``like`` (float32 also under autocast)."""
        return torch.randn(*leading, self.config.z_dim, device=like.device, dtype=like.dtype)

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """:meth:`decode` in eval mode (batch-norm running statistics)."""
        with eval_mode(self.decoder):
            return self.decode(z)

    def sample(
        self, n: int, *, generator: torch.Generator, condition: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``n`` prior samples ``(n, C, H, W)``: the decoder's mean image of
        :math:`z \\sim \\mathcal N(0, I)` drawn from ``generator``, in the data's value range."""
        if condition is not None:
            raise ValueError(f"model {self.name!r} is unconditional; sample it without a condition")
        like = self.fixed_noise
        return self.generate(randn(n, self.config.z_dim, generator, like.device).to(like.dtype))

    def sample_grid(self, generator: torch.Generator, bundle: Any) -> tuple[torch.Tensor, int]:
        """Decoded fixed prior draws, 8 per row, comparable across steps."""
        return self.generate(self.fixed_noise), 8
