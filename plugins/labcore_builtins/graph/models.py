"""Node classifiers: spatial GCN, ChebNet, the eigenbasis spectral CNN, GraphSAGE and GAT.

All are trained full batch, one step being one epoch over the whole graph, with the cross-entropy
of the nodes in ``graph.mask`` (see :mod:`labcore_builtins.graph.datasets`). They share one
training procedure, :class:`NodeClassifier`, and differ only in their layers.

Model selection on validation is the trainer's: the recipes evaluate after every step
(``train.eval_every = 1``) and monitor the validation accuracy (``train.monitor =
"val/accuracy"``), so the final evaluation, the embeddings and the filter responses of the report
use the weights of the best validation accuracy (``checkpoints/best.pt``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

import labcore
from labcore.model import EvalContext, OptimizerFactory, StepContext
from labcore_builtins.graph.layers import GNNStack

# torch_geometric, and the spectral module whose ClenshawChebConv subclasses PyG's ChebConv, are
# imported where used: importing them costs ~1 s of CLI start-up.


def check_task(info: dict[str, Any], task: str, model: str) -> None:
    """Raise a ValueError unless the dataset's ``info["task"]`` is ``task``."""
    if info.get("task") != task:
        kinds = {
            "node": "node-classification (karate, csbm, planetoid)",
            "graph": "graph-classification (fake-graphs)",
        }
        raise ValueError(
            f"model {model!r} needs a {kinds[task]} dataset; this dataset's task is "
            f"{info.get('task')!r}"
        )


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Fraction of rows of ``(M, C)`` logits whose arg-max is the ``(M,)`` label (0-dim tensor)."""
    return (logits.argmax(dim=-1) == labels).float().mean()


@dataclasses.dataclass
class NodeConfig:
    hidden: int = labcore.hp(16, "width of each hidden layer")
    num_layers: int = labcore.hp(2, "graph convolution layers, the output layer included")
    dropout: float = labcore.hp(0.5, "dropout before every layer, the input included")
    first_layer_weight_decay: float = labcore.hp(
        5e-4, "L2 penalty on the first layer (Kipf & Welling); [optimizer] weight_decay: the rest"
    )

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.num_layers < 1:
            raise ValueError(
                f"hidden and num_layers must be >= 1, got {self.hidden} and {self.num_layers}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


class NodeClassifier(labcore.Model):
    """Base of the node classifiers: full-batch training on the nodes of ``graph.mask``.

    Subclasses implement :meth:`make_convs` and may set ``activation`` and ``dense_input`` (see
    :class:`~labcore_builtins.graph.layers.GNNStack`).
    """

    Config = NodeConfig
    activation: ClassVar[Any] = staticmethod(F.relu)
    dense_input: ClassVar[bool] = True

    def __init__(self, config: NodeConfig, info: dict[str, Any]) -> None:
        super().__init__(config, info)
        check_task(info, "node", self.name)
        widths = [info["num_features"]] + [self.hidden_width()] * (config.num_layers - 1)
        convs = self.make_convs(widths, info["num_classes"])
        self.net = GNNStack(convs, config.dropout, self.activation, self.dense_input)

    def hidden_width(self) -> int:
        """The input width of every layer after the first."""
        return self.config.hidden

    def make_convs(self, widths: list[int], num_classes: int) -> list[nn.Module]:
        """The layers: layer ``l`` maps ``widths[l]`` features to ``widths[l + 1]`` (or to
        ``num_classes`` for the last layer)."""
        raise NotImplementedError

    def configure_optimizers(self, make: OptimizerFactory) -> dict[str, torch.optim.Optimizer]:
        first, *rest = self.net.convs
        groups = [
            {
                "params": list(first.parameters()),
                "weight_decay": self.config.first_layer_weight_decay,
            }
        ]
        if rest:
            groups.append({"params": [p for conv in rest for p in conv.parameters()]})
        return {"main": make("main", groups)}

    def training_step(self, graph: Any, ctx: StepContext) -> dict[str, Any]:
        logits = self.net(graph.x, graph.edge_index)
        loss = F.cross_entropy(logits[graph.mask], graph.y[graph.mask])
        ctx.step("main", loss)
        train_accuracy = accuracy(logits[graph.mask].detach(), graph.y[graph.mask])
        return {"loss": loss.detach(), "accuracy": train_accuracy}

    @torch.no_grad()
    def evaluate(self, split: labcore.FullBatch, ctx: EvalContext) -> dict[str, float]:
        """Accuracy and cross-entropy on the nodes of ``graph.mask``."""
        graph = next(iter(ctx.batches(split)))
        logits = self.net(graph.x, graph.edge_index)[graph.mask].float()
        labels = graph.y[graph.mask]
        return {
            "accuracy": float(accuracy(logits, labels)),
            "loss": float(F.cross_entropy(logits, labels)),
        }

    @torch.no_grad()
    def embeddings(self, bundle: labcore.DataBundle) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, F_hidden)`` node embeddings (the input of the last layer, dropout off) and the
        ``(N,)`` labels of every node of the bundle's graph."""
        was_training = self.net.training
        self.net.eval()
        device = next(self.net.parameters()).device
        graph = bundle.split("test").data
        try:
            hidden = self.net(graph.x.to(device), graph.edge_index.to(device), hidden=True)
        finally:
            self.net.train(was_training)
        return hidden.float().cpu(), graph.y.cpu()


class GCN(NodeClassifier):
    r"""Graph convolutional network, GCN (Kipf and Welling 2017), for node classification.

    Each layer is eq. 2 of "Semi-Supervised Classification with Graph Convolutional Networks"
    (ICLR 2017):

    .. math::
        \mathbf{H}' = \sigma\big(\tilde{\mathbf{D}}^{-1/2} (\mathbf{A} + \mathbf{I})
        \tilde{\mathbf{D}}^{-1/2} \mathbf{H} \mathbf{W}\big),

    with PyG's ``GCNConv``; the normalised adjacency is computed once (``cached=True``), since
    the task is transductive (one graph). The paper's Cora setting: 2 layers, 16 hidden units,
    dropout 0.5, L2 5e-4 on the first layer, Adam at 0.01 for 200 epochs.

    Shapes: node features ``(N, F)`` (dense or sparse COO), edges ``(2, E)``; logits ``(N, C)``.
    """

    name = "gcn"
    dense_input = False

    def make_convs(self, widths: list[int], num_classes: int) -> list[nn.Module]:
        from torch_geometric.nn import GCNConv

        outs = widths[1:] + [num_classes]
        return [GCNConv(i, o, cached=True) for i, o in zip(widths, outs)]


@dataclasses.dataclass
class ChebNetConfig(NodeConfig):
    K: int = labcore.hp(3, "Chebyshev filter size: terms T_0..T_{K-1} (polynomial degree K-1)")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.K < 1:
            raise ValueError(f"K must be >= 1, got {self.K}")


class ChebNet(NodeClassifier):
    r"""ChebNet: Chebyshev polynomial filters of the graph Laplacian (Defferrard et al. 2016).

    Each layer is eq. 4-5 of Defferrard et al., "Convolutional Neural Networks on Graphs with Fast
    Localized Spectral Filtering" (NeurIPS 2016):

    .. math::
        \mathbf{H}' = \sigma\Big(\sum_{k=0}^{K-1} T_k(\tilde{\mathbf{L}})\, \mathbf{H}
        \boldsymbol{\Theta}_k\Big), \qquad \tilde{\mathbf{L}} = \frac{2 \mathbf{L}}
        {\lambda_{max}} - \mathbf{I} = \mathbf{L} - \mathbf{I},

    with :math:`T_k` the Chebyshev polynomials and :math:`\mathbf{L}` the normalised Laplacian.
    The layers are PyG's ``ChebConv`` evaluated in the cheaper order of
    :class:`~labcore_builtins.graph.spectral.ClenshawChebConv` (linear maps first), which also
    takes sparse input features. ``K`` counts the terms, as in Defferrard et al. and PyG.

    Shapes: node features ``(N, F)``, edges ``(2, E)``; logits ``(N, C)``.
    """

    name = "chebnet"
    Config = ChebNetConfig
    dense_input = False

    def make_convs(self, widths: list[int], num_classes: int) -> list[nn.Module]:
        from labcore_builtins.graph.spectral import ClenshawChebConv

        outs = widths[1:] + [num_classes]
        return [ClenshawChebConv(i, o, self.config.K) for i, o in zip(widths, outs)]


@dataclasses.dataclass
class SpectralCNNConfig(NodeConfig):
    filter: Literal["chebyshev", "spline", "free"] = labcore.hp(
        "spline", "response: spline (smooth) | chebyshev (polynomial) | free (one per eigenvalue)"
    )
    K: int = labcore.hp(8, "basis functions of the response (spline, chebyshev)")
    max_nodes: int = labcore.hp(2000, "largest graph to diagonalise (O(N^3)); else use chebnet")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.K < 1 or (self.filter == "spline" and self.K < 2):
            raise ValueError(f"K must be >= 1 (>= 2 for a spline filter), got {self.K}")


class SpectralCNN(NodeClassifier):
    r"""Spectral CNN: filters learned in the graph Fourier basis (Bruna et al. 2014).

    Convolution as multiplication in the eigenbasis of the Laplacian, after Bruna et al.,
    "Spectral Networks and Locally Connected Networks on Graphs" (ICLR 2014):

    .. math::
        \mathbf{H}' = \sigma\Big(\mathbf{U} \big[\hat{\mathbf{H}}_{n} \mathbf{G}(\lambda_n)
        \big]_{n=1}^{N} + \mathbf{b}\Big), \qquad \hat{\mathbf{H}} = \mathbf{U}^\top \mathbf{H},

    where :math:`\mathbf{L} = \mathbf{U} \boldsymbol{\Lambda} \mathbf{U}^\top` and row :math:`n`
    of the transformed signal is multiplied by the learned ``(F_in, F_out)`` response
    :math:`\mathbf{G}(\lambda_n)` at its frequency (see
    :class:`~labcore_builtins.graph.spectral.EigenbasisConv`). The eigendecomposition is computed
    once per graph and shared by the layers; graphs above ``max_nodes`` are refused.

    Shapes: node features ``(N, F)``, edges ``(2, E)``; logits ``(N, C)``.
    """

    name = "spectral-cnn"
    Config = SpectralCNNConfig

    def make_convs(self, widths: list[int], num_classes: int) -> list[nn.Module]:
        from labcore_builtins.graph.spectral import (
            EigenbasisConv,
            FourierBasisCache,
            check_graph_size,
        )

        c = self.config
        num_nodes = self.info["num_nodes"]
        check_graph_size(num_nodes, c.max_nodes)
        bases = FourierBasisCache(max_nodes=c.max_nodes)
        outs = widths[1:] + [num_classes]
        return [
            EigenbasisConv(i, o, c.K, c.filter, bases=bases, num_nodes=num_nodes)
            for i, o in zip(widths, outs)
        ]


@dataclasses.dataclass
class GraphSAGEConfig(NodeConfig):
    hidden: int = labcore.hp(64, "width of each hidden layer")
    aggr: Literal["mean", "max", "sum"] = labcore.hp("mean", "neighbourhood aggregator")


class GraphSAGE(NodeClassifier):
    r"""GraphSAGE (Hamilton et al. 2017) for node classification, trained full batch.

    Algorithm 1 of "Inductive Representation Learning on Large Graphs" (NeurIPS 2017) with all
    neighbours, via PyG's ``SAGEConv``:

    .. math::
        \mathbf{h}_i' = \sigma\big(\mathbf{W}_1 \mathbf{h}_i + \mathbf{W}_2
        \operatorname{aggr}_{j \in \mathcal{N}(i)} \mathbf{h}_j\big).

    Shapes: node features ``(N, F)``, edges ``(2, E)``; logits ``(N, C)``.
    """

    name = "graphsage"
    Config = GraphSAGEConfig

    def make_convs(self, widths: list[int], num_classes: int) -> list[nn.Module]:
        from torch_geometric.nn import SAGEConv

        outs = widths[1:] + [num_classes]
        return [SAGEConv(i, o, aggr=self.config.aggr) for i, o in zip(widths, outs)]


@dataclasses.dataclass
class GATConfig(NodeConfig):
    hidden: int = labcore.hp(8, "features per attention head in each hidden layer")
    dropout: float = labcore.hp(0.6, "dropout before every layer, the input included")
    heads: int = labcore.hp(8, "attention heads of each hidden layer (concatenated)")
    output_heads: int = labcore.hp(1, "attention heads of the output layer (averaged)")
    attention_dropout: float = labcore.hp(0.6, "dropout of the attention coefficients")


class GAT(NodeClassifier):
    r"""Graph attention network, GAT (Veličković et al. 2018), for node classification.

    Eq. 3-5 of "Graph Attention Networks" (ICLR 2018), via PyG's ``GATConv``:

    .. math::
        \mathbf{h}_i' = \Big\Vert_{m=1}^{M} \sigma\Big(\sum_{j \in \mathcal{N}(i) \cup \{i\}}
        \alpha^m_{ij} \mathbf{W}^m \mathbf{h}_j\Big), \qquad \alpha_{ij} =
        \operatorname{softmax}_j\big(\mathrm{LeakyReLU}(\mathbf{a}^\top [\mathbf{W}\mathbf{h}_i
        \Vert \mathbf{W}\mathbf{h}_j])\big),

    with ``heads`` concatenated heads in hidden layers, ``output_heads`` averaged heads in the
    output layer and ELU as :math:`\sigma`. The paper's Cora setting: 8 heads of 8 features,
    dropout 0.6 on inputs and attention, L2 5e-4 on all weights, Adam at 0.005.

    Shapes: node features ``(N, F)`` (dense or sparse COO), edges ``(2, E)``; logits ``(N, C)``.
    """

    name = "gat"
    Config = GATConfig
    activation = staticmethod(F.elu)
    dense_input = False

    def hidden_width(self) -> int:
        return self.config.hidden * self.config.heads

    def make_convs(self, widths: list[int], num_classes: int) -> list[nn.Module]:
        from torch_geometric.nn import GATConv

        c = self.config
        hidden = [
            GATConv(i, c.hidden, heads=c.heads, dropout=c.attention_dropout) for i in widths[:-1]
        ]
        output = GATConv(
            widths[-1],
            num_classes,
            heads=c.output_heads,
            concat=False,
            dropout=c.attention_dropout,
        )
        return [*hidden, output]


NODE_MODELS = [GCN, ChebNet, SpectralCNN, GraphSAGE, GAT]
