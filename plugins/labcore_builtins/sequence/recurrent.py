"""Recurrent networks: the vanilla (Elman) RNN, the LSTM and the GRU, stacked or bidirectional.

All three are ``torch.nn`` layers (``nn.RNN``, ``nn.LSTM``, ``nn.GRU``) behind the
:class:`~.tasks.Backbone` contract; the task head comes from :class:`~.tasks.SequenceModel`.
Stacking feeds layer ``l``'s hidden sequence to layer ``l + 1`` (``num_layers``); a bidirectional
layer runs a second recurrence from the last step to the first and concatenates the two hidden
sequences, so its features have ``2 * hidden_size`` entries and see the future (not allowed for
language models).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from labcore import hp
from labcore_builtins.sequence.tasks import Backbone, SequenceConfig, SequenceModel, State

Cell = Literal["rnn", "lstm", "gru"]
LAYERS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RecurrentBackbone(Backbone):
    """A stack of recurrent layers: inputs ``(N, T, in_features)`` to features ``(N, T, H')``.

    ``H' = hidden_size``, or ``2 * hidden_size`` when bidirectional. The state is the final hidden
    state ``(layers * directions, N, hidden_size)`` (for the LSTM, the pair of hidden and cell
    states).
    """

    recurrent = True

    def __init__(
        self,
        cell: Cell,
        in_features: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        options: dict[str, Any] = {"nonlinearity": "tanh"} if cell == "rnn" else {}
        self.rnn = LAYERS[cell](
            in_features,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
            **options,
        )
        self.hidden_size = hidden_size
        self.bidirectional = bidirectional
        self.causal = not bidirectional
        self.out_features = hidden_size * (2 if bidirectional else 1)

    def forward(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        return self.rnn(x, state)

    def summary(self, features: torch.Tensor) -> torch.Tensor:
        """The forward direction's last step, joined with the backward direction's first step.

        Each has read the whole sequence in its own direction.
        """
        if not self.bidirectional:
            return features[:, -1]
        h = self.hidden_size
        return torch.cat([features[:, -1, :h], features[:, 0, h:]], dim=-1)


@dataclasses.dataclass
class RecurrentConfig(SequenceConfig):
    """Hyperparameters of the recurrent models."""

    hidden_size: int = hp(128, "units per recurrent layer and direction")
    num_layers: int = hp(1, "stacked recurrent layers")
    bidirectional: bool = hp(False, "add a backward recurrence (not for language models)")
    dropout: float = hp(0.0, "dropout between stacked layers")
    tbptt_steps: int = hp(0, "language models: truncated BPTT window in steps (0: whole chunk)")

    def __post_init__(self) -> None:
        if self.hidden_size < 1 or self.num_layers < 1:
            raise ValueError("hidden_size and num_layers must be >= 1")
        if self.tbptt_steps < 0:
            raise ValueError(f"tbptt_steps must be >= 0 (0: no truncation), got {self.tbptt_steps}")


class RecurrentModel(SequenceModel):
    """Base of the three recurrent components; ``cell`` picks the layer."""

    cell: ClassVar[Cell]
    Config = RecurrentConfig

    def build_backbone(self, in_features: int) -> RecurrentBackbone:
        c = self.config
        return RecurrentBackbone(
            self.cell, in_features, c.hidden_size, c.num_layers, c.bidirectional, c.dropout
        )

    @property
    def tbptt_steps(self) -> int:
        return self.config.tbptt_steps


class RNN(RecurrentModel):
    """Vanilla recurrent network with tanh units (Elman 1990, "Finding structure in time").

    .. math:: h_t = \\tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})

    Its gradient through time is a product of Jacobians
    :math:`\\operatorname{diag}(1 - h_t^2) W_{hh}` that shrinks (or grows) geometrically with the
    distance (Bengio et al. 1994), which the adding problem exposes.
    """

    name = "rnn"
    cell = "rnn"


@dataclasses.dataclass
class LSTMConfig(RecurrentConfig):
    """Hyperparameters of the LSTM."""

    forget_bias: float = hp(1.0, "initial forget-gate bias (Jozefowicz et al. 2015 use 1)")


class LSTM(RecurrentModel):
    """Long short-term memory (Hochreiter and Schmidhuber 1997; forget gate: Gers et al. 2000).

    .. math::
        i_t &= \\sigma(W_{ii} x_t + W_{hi} h_{t-1} + b_i), \\quad
        f_t = \\sigma(W_{if} x_t + W_{hf} h_{t-1} + b_f), \\quad
        o_t = \\sigma(W_{io} x_t + W_{ho} h_{t-1} + b_o) \\\\
        g_t &= \\tanh(W_{ig} x_t + W_{hg} h_{t-1} + b_g), \\quad
        c_t = f_t \\odot c_{t-1} + i_t \\odot g_t, \\quad h_t = o_t \\odot \\tanh(c_t)

    The additive cell update carries gradients across long gaps. The forget-gate bias
    :math:`b_f` starts at ``forget_bias`` (Jozefowicz et al. 2015, "An empirical exploration of
    recurrent network architectures", section 2.2), so the cell remembers by default.
    """

    name = "lstm"
    cell = "lstm"
    Config = LSTMConfig

    def __init__(self, config: LSTMConfig, info: dict[str, Any]) -> None:
        super().__init__(config, info)
        h = config.hidden_size
        with torch.no_grad():
            for name, bias in self.backbone.rnn.named_parameters():
                if name.startswith("bias_ih"):  # gates ordered i, f, g, o; b_hh keeps its init
                    bias[h : 2 * h].fill_(config.forget_bias)
                elif name.startswith("bias_hh"):
                    bias[h : 2 * h].zero_()


class GRU(RecurrentModel):
    """Gated recurrent unit (Cho et al. 2014, eqs. 5-8).

    From "Learning phrase representations using RNN encoder-decoder for statistical machine
    translation"; PyTorch's form, with the reset gate applied after the recurrent product:

    .. math::
        r_t &= \\sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}), \\quad
        z_t = \\sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\\\
        n_t &= \\tanh(W_{in} x_t + b_{in} + r_t \\odot (W_{hn} h_{t-1} + b_{hn})), \\quad
        h_t = (1 - z_t) \\odot n_t + z_t \\odot h_{t-1}
    """

    name = "gru"
    cell = "gru"
