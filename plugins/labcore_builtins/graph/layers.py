"""The stack of graph convolutions every graph model of the family is built on."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn


def feature_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Dropout of node features, dense or sparse COO.

    On a sparse matrix only the stored entries are dropped and rescaled by ``1 / (1 - p)``
    (Kipf and Welling's ``sparse_dropout``): dropping a zero leaves a zero, so the result has the
    distribution of dense dropout while drawing one number per non-zero instead of per entry.
    """
    if x.layout != torch.sparse_coo:
        return F.dropout(x, p, training)
    if not training or p == 0.0:
        return x
    values = F.dropout(x.values(), p, training)
    return torch.sparse_coo_tensor(
        x.indices(), values, x.shape, is_coalesced=True, check_invariants=False
    )


class GNNStack(nn.Module):
    r"""Graph convolutions with dropout before each one and an activation between them:

    .. math::
        \mathbf{H}^{(0)} = \mathbf{X}, \qquad
        \mathbf{H}^{(l+1)} = \sigma\big(\mathrm{conv}_l(\mathrm{dropout}(\mathbf{H}^{(l)}),
        \mathcal{E})\big),

    with no activation after the last layer (its output are logits). Two GCN layers give the
    model of Kipf and Welling (2017), eq. 9: :math:`\mathbf{Z} = \mathrm{softmax}(\hat{\mathbf{A}}
    \,\mathrm{ReLU}(\hat{\mathbf{A}} \mathbf{X} \mathbf{W}^{(0)}) \mathbf{W}^{(1)})`, the softmax
    being part of the cross-entropy loss.

    Args:
        convs: layers called as ``conv(x, edge_index)``.
        dropout: dropout probability before every layer, the input included.
        activation: :math:`\sigma`.
        dense_input: whether the first layer needs dense features; a sparse COO input is then
            densified after the dropout. Layers that first multiply the features by a weight
            matrix (GCN, GAT, ChebNet's ClenshawChebConv) take sparse input; those that gather it
            first (GraphSAGE, the spectral CNN's transform) do not.

    Shapes:
        - input: node features ``(N, F_in)`` (dense or sparse COO), edge indices ``(2, E)``
        - output: ``(N, F_out)`` of the last layer, or with ``hidden=True`` the ``(N, F_hidden)``
          representation the last layer receives (the node embedding)
    """

    def __init__(
        self,
        convs: Sequence[nn.Module],
        dropout: float,
        activation: Callable[[torch.Tensor], torch.Tensor] = F.relu,
        dense_input: bool = True,
    ) -> None:
        super().__init__()
        self.convs = nn.ModuleList(convs)
        self.dropout = dropout
        self.activation = activation
        self.dense_input = dense_input

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, *, hidden: bool = False
    ) -> torch.Tensor:
        last = len(self.convs) - 1
        for i, conv in enumerate(self.convs):
            if hidden and i == last:
                return x.to_dense() if x.layout == torch.sparse_coo else x
            x = feature_dropout(x, self.dropout, self.training)
            if self.dense_input and x.layout == torch.sparse_coo:
                x = x.to_dense()
            x = conv(x, edge_index)
            if i < last:
                x = self.activation(x)
        return x
