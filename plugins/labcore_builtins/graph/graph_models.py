"""Graph classification: graph convolutions, a global pooling readout and an MLP head."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

import labcore
from labcore.model import EvalContext, StepContext
from labcore_builtins.graph.layers import GNNStack
from labcore_builtins.graph.models import accuracy, check_task


@dataclasses.dataclass
class GraphClassifierConfig:
    conv: Literal["gin", "gcn", "sage", "gat"] = labcore.hp("gin", "graph convolution layer")
    hidden: int = labcore.hp(64, "width of the node and graph embeddings")
    num_layers: int = labcore.hp(3, "graph convolution layers")
    pool: Literal["sum", "mean", "max"] = labcore.hp("sum", "global pooling of node embeddings")
    dropout: float = labcore.hp(0.0, "dropout before every convolution and before the head")

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.num_layers < 1:
            raise ValueError("hidden and num_layers must be >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


def make_conv(kind: str, in_channels: int, out_channels: int) -> nn.Module:
    r"""One PyG layer: GIN (Xu et al. 2019, eq. 4.1, with a two-layer MLP and a learned
    :math:`\epsilon`), GCN, GraphSAGE (mean) or GAT (one head)."""
    # torch_geometric is imported where used: importing it costs ~1 s of CLI start-up.
    from torch_geometric.nn import GATConv, GCNConv, GINConv, SAGEConv
    from torch_geometric.nn.models import MLP

    if kind == "gin":
        return GINConv(MLP([in_channels, out_channels, out_channels]), train_eps=True)
    if kind == "gcn":
        return GCNConv(in_channels, out_channels)
    if kind == "sage":
        return SAGEConv(in_channels, out_channels)
    return GATConv(in_channels, out_channels)


class GraphClassifier(labcore.Model):
    r"""Graph classifier: graph convolutions, global pooling and an MLP head (GIN, Xu et al. 2019).

    Node embeddings from ``num_layers`` graph convolutions, a global pooling readout and a
    two-layer head (Xu et al., "How Powerful are Graph Neural Networks?", ICLR 2019, eq. 4.2, with
    the last layer's readout):

    .. math::
        \mathbf{h}_G = \operatorname{pool}_{v \in G} \sigma(\mathbf{h}_v^{(L)}), \qquad
        \hat{\mathbf{y}}_G = \mathbf{W}_2\, \mathrm{ReLU}(\mathbf{W}_1 \mathbf{h}_G + \mathbf{b}_1)
        + \mathbf{b}_2.

    GIN with sum pooling is the expressive choice (as powerful as the Weisfeiler-Lehman test);
    GCN, GraphSAGE and GAT layers and mean or max pooling are there for comparison. Evaluation uses
    the final weights (watch the validation accuracy with ``train.eval_every``).

    Shapes: a ``Batch`` with node features ``(N, F)``, edges ``(2, E)`` and ``batch`` ``(N,)`` of
    ``B`` graphs; logits ``(B, C)``.
    """

    name = "graph-classifier"
    Config = GraphClassifierConfig

    def __init__(self, config: GraphClassifierConfig, info: dict[str, Any]) -> None:
        from torch_geometric.nn import global_add_pool, global_max_pool, global_mean_pool
        from torch_geometric.nn.models import MLP

        super().__init__(config, info)
        check_task(info, "graph", self.name)
        widths = [info["num_features"]] + [config.hidden] * config.num_layers
        convs = [make_conv(config.conv, i, o) for i, o in zip(widths, widths[1:])]
        self.net = GNNStack(convs, config.dropout)
        pools = {"sum": global_add_pool, "mean": global_mean_pool, "max": global_max_pool}
        self.pool = pools[config.pool]
        self.head = MLP(
            [config.hidden, config.hidden, info["num_classes"]], dropout=config.dropout, norm=None
        )

    def embed(self, batch: Any) -> torch.Tensor:
        r"""``(B, hidden)`` graph embeddings :math:`\mathbf{h}_G`."""
        nodes = F.relu(self.net(batch.x, batch.edge_index))
        return self.pool(nodes, batch.batch, size=batch.num_graphs)

    def forward(self, batch: Any) -> torch.Tensor:
        return self.head(self.embed(batch))

    def training_step(self, batch: Any, ctx: StepContext) -> dict[str, Any]:
        logits = self(batch)
        loss = F.cross_entropy(logits, batch.y)
        ctx.step("main", loss)
        return {"loss": loss.detach(), "accuracy": accuracy(logits.detach(), batch.y)}

    @torch.no_grad()
    def evaluate(self, split: labcore.ItemSplit, ctx: EvalContext) -> dict[str, float]:
        """Accuracy and mean cross-entropy over the split's graphs."""
        correct = loss = 0.0
        count = 0
        for batch in ctx.batches(split):
            logits = self(batch).float()
            correct += float((logits.argmax(-1) == batch.y).sum())
            loss += float(F.cross_entropy(logits, batch.y, reduction="sum"))
            count += batch.num_graphs
        return {"accuracy": correct / count, "loss": loss / count}

    @torch.no_grad()
    def embeddings(self, bundle: labcore.DataBundle) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, hidden)`` embeddings and ``(B,)`` labels of the test graphs (val, else train,
        when the bundle has no test split)."""
        from torch_geometric.loader import DataLoader

        name = next(s for s in ("test", "val", "train") if s in bundle.splits)
        device = next(self.parameters()).device
        was_training = self.training
        self.eval()
        chunks, labels = [], []
        for batch in DataLoader(bundle.split(name).dataset, batch_size=256):
            batch = batch.to(device)
            chunks.append(self.embed(batch).float().cpu())
            labels.append(batch.y.cpu())
        self.train(was_training)
        return torch.cat(chunks), torch.cat(labels)
