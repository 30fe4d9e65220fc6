"""Temporal convolutional network: dilated causal convolutions in residual blocks.

Bai, Kolter and Koltun 2018, "An empirical evaluation of generic convolutional and recurrent
networks for sequence modeling", section 3.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from labcore import hp
from labcore_builtins.sequence.tasks import Backbone, SequenceConfig, SequenceModel, State


class CausalConv1d(nn.Conv1d):
    """A dilated convolution padded on the left only: output step ``t`` reads inputs ``<= t``.

    .. math:: F(x)_t = \\sum_{i=0}^{k-1} f(i) \\, x_{t - d \\cdot i}

    (Bai et al. 2018, section 3.2) on ``(N, C_in, T)`` to ``(N, C_out, T)``, with ``d`` the
    dilation and ``k`` the kernel size; steps before the start read zeros.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int):
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation)
        self.left_padding = (kernel_size - 1) * dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (self.left_padding, 0)))


class TemporalBlock(nn.Module):
    """The TCN residual block (Bai et al. 2018, figure 1b): ``(N, C_in, T)`` to ``(N, C_out, T)``.

    .. math:: o = \\operatorname{ReLU}(x' + \\mathcal{F}(x)), \\quad
        \\mathcal{F} = (\\text{conv} \\to \\text{ReLU} \\to \\text{dropout})^2

    with weight-normalised dilated causal convolutions (Salimans and Kingma 2016) in
    :math:`\\mathcal{F}`, and :math:`x' = x`, or a 1x1 convolution of ``x`` when the channel counts
    differ.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, dilation: int, dropout: float
    ) -> None:
        super().__init__()
        self.net = nn.Sequential(
            weight_norm(CausalConv1d(in_channels, out_channels, kernel_size, dilation)),
            nn.ReLU(),
            nn.Dropout(dropout),
            weight_norm(CausalConv1d(out_channels, out_channels, kernel_size, dilation)),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        same = in_channels == out_channels
        self.skip = nn.Identity() if same else nn.Conv1d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.net(x) + self.skip(x))


def receptive_field(kernel_size: int, levels: int) -> int:
    """Steps seen by the last level: :math:`1 + 2 (k - 1) (2^L - 1)` for dilations
    :math:`1, 2, \\ldots, 2^{L-1}` and two convolutions per block."""
    return 1 + 2 * (kernel_size - 1) * (2**levels - 1)


class TCNBackbone(Backbone):
    """``levels`` temporal blocks of dilation :math:`2^i`: ``(N, T, F)`` to ``(N, T, channels)``.

    It has no state; its ``context`` is the receptive field.
    """

    def __init__(
        self, in_features: int, channels: int, levels: int, kernel_size: int, dropout: float
    ) -> None:
        super().__init__()
        self.blocks = nn.Sequential(
            *(
                TemporalBlock(
                    in_features if i == 0 else channels, channels, kernel_size, 2**i, dropout
                )
                for i in range(levels)
            )
        )
        self.out_features = channels
        self.context = receptive_field(kernel_size, levels)

    def forward(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        return self.blocks(x.transpose(1, 2)).transpose(1, 2), None


@dataclasses.dataclass
class TCNConfig(SequenceConfig):
    """Hyperparameters of the TCN."""

    channels: int = hp(64, "channels of every temporal block")
    levels: int = hp(6, "temporal blocks; block i has dilation 2**i")
    kernel_size: int = hp(7, "convolution kernel size")
    dropout: float = hp(0.0, "dropout after each convolution")

    def __post_init__(self) -> None:
        if self.channels < 1 or self.levels < 1 or self.kernel_size < 2:
            raise ValueError("channels and levels must be >= 1 and kernel_size >= 2")


class TCN(SequenceModel):
    """Temporal convolutional network (Bai et al. 2018): dilated causal convolutions, residuals.

    A stack of :class:`TemporalBlock` under the task's head. For sequence-level tasks
    (``classify``, ``regress``) the last step's features must see the whole sequence, so the
    receptive field (:func:`receptive_field`) must cover ``info["seq_len"]``.
    """

    name = "tcn"
    Config = TCNConfig

    def build_backbone(self, in_features: int) -> TCNBackbone:
        c = self.config
        backbone = TCNBackbone(in_features, c.channels, c.levels, c.kernel_size, c.dropout)
        length = self.info.get("seq_len", 0)
        if self.info["task"] != "language-model" and length > backbone.context:
            raise ValueError(
                f"tcn receptive field {backbone.context} is shorter than the sequences "
                f"({length} steps), so the last step cannot see the first; raise model.levels "
                f"or model.kernel_size"
            )
        return backbone
