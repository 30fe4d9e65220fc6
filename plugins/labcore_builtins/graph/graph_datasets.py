"""Graph-classification datasets: many small graphs, one label each, batched by PyG.

A split is a :class:`labcore.ItemSplit` of ``Data`` graphs whose ``collate`` is PyG's
``Batch.from_data_list``: a batch is one disconnected graph with a ``batch`` vector ``(N,)`` naming
the graph of every node, ready for global pooling.
"""

from __future__ import annotations

import dataclasses
import random

import torch

import labcore


@dataclasses.dataclass
class FakeGraphsConfig:
    num_graphs: int = labcore.hp(600, "graphs in all splits together")
    avg_num_nodes: int = labcore.hp(20, "mean nodes per graph (each has 3/4 to 5/4 of it)")
    avg_degree: float = labcore.hp(4.0, "mean node degree")
    num_features: int = labcore.hp(8, "node feature dimension")
    num_classes: int = labcore.hp(3, "graph classes")
    val_fraction: float = labcore.hp(0.15, "fraction of graphs in the validation split")
    test_fraction: float = labcore.hp(0.15, "fraction of graphs in the test split")
    seed: int = labcore.hp(0, "seed of the graphs and of the split")

    def __post_init__(self) -> None:
        if self.num_graphs < 3 or self.num_classes < 2 or self.avg_num_nodes < 2:
            raise ValueError("num_graphs must be >= 3, num_classes >= 2 and avg_num_nodes >= 2")
        fractions = (self.val_fraction, self.test_fraction)
        if min(fractions) < 0 or sum(fractions) >= 1:
            raise ValueError(
                f"val_fraction and test_fraction must be >= 0 and leave graphs for training; "
                f"got {self.val_fraction} and {self.test_fraction}"
            )


class FakeGraphs(labcore.Dataset):
    r"""Random labelled graphs for graph classification, from PyG's ``FakeDataset``.

    Each graph has a random number of nodes around ``avg_num_nodes``, random edges of mean degree
    ``avg_degree`` and node features :math:`\mathbf{x}_v = \boldsymbol{\varepsilon}_v + y`,
    :math:`\boldsymbol{\varepsilon}_v \sim \mathcal{N}(0, \mathbf{I})`, where :math:`y` is the
    graph's class: the class is recoverable by pooling the nodes' features, not from the structure.
    Everything is generated locally from ``seed``.
    """

    name = "fake-graphs"
    Config = FakeGraphsConfig

    def load(self) -> labcore.DataBundle:
        # torch_geometric is imported where used: importing it costs ~1 s of CLI start-up.
        from torch_geometric.data import Batch
        from torch_geometric.datasets import FakeDataset

        c = self.config
        python_state = random.getstate()
        try:
            with torch.random.fork_rng(devices=[]):
                random.seed(c.seed)
                torch.manual_seed(c.seed)
                dataset = FakeDataset(
                    num_graphs=c.num_graphs,
                    avg_num_nodes=c.avg_num_nodes,
                    avg_degree=c.avg_degree,
                    num_channels=c.num_features,
                    num_classes=c.num_classes,
                    task="graph",
                )
                graphs = [dataset[i] for i in range(len(dataset))]
                order = torch.randperm(len(graphs)).tolist()
        finally:
            random.setstate(python_state)
        num_test = round(c.test_fraction * len(graphs))
        num_val = round(c.val_fraction * len(graphs))
        parts = {
            "train": order[num_test + num_val :],
            "val": order[num_test : num_test + num_val],
            "test": order[:num_test],
        }
        splits = {
            name: labcore.ItemSplit([graphs[i] for i in index], collate=Batch.from_data_list)
            for name, index in parts.items()
            if index or name == "train"
        }
        info = {
            "task": "graph",
            "num_graphs": len(graphs),
            "num_features": c.num_features,
            "num_classes": c.num_classes,
        }
        return labcore.DataBundle(splits=splits, info=info)
