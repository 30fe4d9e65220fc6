"""A small causal Transformer encoder, for comparison with the recurrent and convolutional models.

Vaswani et al. 2017, "Attention is all you need": sinusoidal positions (section 3.5) and
self-attention layers (section 3.2) under a causal mask, so step ``t`` attends to steps ``<= t``.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn

from labcore import hp
from labcore_builtins.sequence.tasks import Backbone, SequenceConfig, SequenceModel, State


def sinusoidal_positions(length: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """The sinusoidal position encoding ``(length, dim)`` of Vaswani et al. 2017, section 3.5.

    .. math::
        PE_{(p, 2i)} = \\sin(p / 10000^{2i/d}), \\quad PE_{(p, 2i+1)} = \\cos(p / 10000^{2i/d})
    """
    position = torch.arange(length, dtype=torch.float32, device=device)[:, None]
    frequency = torch.exp(
        torch.arange(0, dim, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / dim)
    )
    encoding = torch.zeros(length, dim, device=device)
    encoding[:, 0::2] = torch.sin(position * frequency)
    encoding[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return encoding


class TransformerBackbone(Backbone):
    """Causal pre-norm Transformer encoder: ``(N, T, F)`` to ``(N, T, d_model)``.

    .. math:: h^0_t = W x_t + PE_t, \\qquad
        h^{l+1} = h' + \\operatorname{FFN}(\\operatorname{LN}(h')), \\;
        h' = h^l + \\operatorname{MHA}_{\\text{causal}}(\\operatorname{LN}(h^l))

    Layer normalisation before each sublayer (pre-norm, Xiong et al. 2020) and once after the
    last layer. It has no state: generation re-reads its window of past tokens.
    """

    def __init__(
        self,
        in_features: int,
        d_model: int,
        num_heads: int,
        num_layers: int,
        dim_feedforward: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.project = nn.Linear(in_features, d_model)
        layer = nn.TransformerEncoderLayer(
            d_model, num_heads, dim_feedforward, dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(
            layer, num_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False
        )
        self.out_features = d_model

    def forward(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        length, dim = x.shape[1], self.out_features
        h = self.project(x) + sinusoidal_positions(length, dim, x.device)
        mask = nn.Transformer.generate_square_subsequent_mask(length, device=x.device)
        return self.encoder(h, mask=mask, is_causal=True), None


@dataclasses.dataclass
class TransformerConfig(SequenceConfig):
    """Hyperparameters of the Transformer."""

    d_model: int = hp(64, "width of the residual stream")
    num_heads: int = hp(4, "attention heads (must divide d_model)")
    num_layers: int = hp(2, "encoder layers")
    dim_feedforward: int = hp(256, "hidden units of each feed-forward sublayer")
    dropout: float = hp(0.0, "dropout in attention and feed-forward sublayers")

    def __post_init__(self) -> None:
        if self.d_model % self.num_heads or self.d_model % 2:
            raise ValueError(
                f"d_model ({self.d_model}) must be even and divisible by num_heads "
                f"({self.num_heads})"
            )


class Transformer(SequenceModel):
    """Causal Transformer encoder (Vaswani et al. 2017) with sinusoidal positions.

    Sequence-level tasks read the last step, which attends to the whole sequence.
    """

    name = "transformer"
    Config = TransformerConfig

    def build_backbone(self, in_features: int) -> TransformerBackbone:
        c = self.config
        return TransformerBackbone(
            in_features, c.d_model, c.num_heads, c.num_layers, c.dim_feedforward, c.dropout
        )
