"""Node-classification datasets: one graph, with boolean node masks for train, val and test.

Every split of a node dataset is a :class:`labcore.FullBatch` holding the whole graph, since a GCN
layer needs every neighbour of a node; the splits differ only in ``graph.mask``, the boolean
``(N,)`` mask of the nodes whose labels that split scores. All three graphs also carry
``train_mask``, ``val_mask`` and ``test_mask`` (the train graph uses ``val_mask`` for model
selection). They are shallow copies: node features and edges are shared, not duplicated.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import TYPE_CHECKING, Any, Literal

import torch

import labcore
from labcore_builtins.graph.planetoid import read_planetoid

if TYPE_CHECKING:
    from torch_geometric.data import Data

SPLITS = ("train", "val", "test")


def node_bundle(graph: Data, name: str) -> labcore.DataBundle:
    """A :class:`labcore.DataBundle` of ``graph`` (with its three masks): one FullBatch per split.

    ``info`` holds ``task="node"``, ``graph`` (its name), ``num_nodes``, ``num_features``,
    ``num_classes`` and the number of nodes in each split (``num_train``, ...).
    """
    splits = {}
    for split in SPLITS:
        view = copy.copy(graph)
        view.mask = graph[f"{split}_mask"]
        splits[split] = labcore.FullBatch(view)
    info: dict[str, Any] = {
        "task": "node",
        "graph": name,
        "num_nodes": graph.num_nodes,
        "num_features": graph.x.shape[1],
        "num_classes": int(graph.y.max()) + 1,
    }
    info.update({f"num_{split}": int(graph[f"{split}_mask"].sum()) for split in SPLITS})
    return labcore.DataBundle(splits=splits, info=info)


@dataclasses.dataclass
class KarateConfig:
    split_seed: int = labcore.hp(0, "seed of the draw of the validation nodes")
    num_val: int = labcore.hp(10, "validation nodes, drawn from the unlabelled ones; the rest test")

    def __post_init__(self) -> None:
        if not 0 <= self.num_val <= 29:
            raise ValueError(
                f"num_val must be in [0, 29]: of the 34 nodes 4 are labelled and at least one is "
                f"left for testing; got {self.num_val}"
            )


class Karate(labcore.Dataset):
    """Zachary's karate club: 34 members, 4 communities, one labelled member per community.

    The graph, the identity features ``(34, 34)`` and the training nodes (the first member of each
    community) are PyG's :class:`~torch_geometric.datasets.KarateClub`, which is built in; the
    other 30 members are split into ``num_val`` validation and ``30 - num_val`` test nodes.
    (Zachary, "An Information Flow Model for Conflict and Fission in Small Groups", 1977.)
    """

    name = "karate"
    Config = KarateConfig

    def load(self) -> labcore.DataBundle:
        # torch_geometric is imported where used: importing it costs ~1 s of CLI start-up.
        from torch_geometric.datasets import KarateClub

        graph = KarateClub()[0]
        unlabelled = (~graph.train_mask).nonzero().view(-1)
        generator = torch.Generator().manual_seed(self.config.split_seed)
        order = unlabelled[torch.randperm(unlabelled.numel(), generator=generator)]
        graph.val_mask = torch.zeros_like(graph.train_mask)
        graph.val_mask[order[: self.config.num_val]] = True
        graph.test_mask = torch.zeros_like(graph.train_mask)
        graph.test_mask[order[self.config.num_val :]] = True
        return node_bundle(graph, "karate")


@dataclasses.dataclass
class CSBMConfig:
    num_nodes: int = labcore.hp(1000, "nodes, in blocks of equal size (one per class)")
    num_classes: int = labcore.hp(2, "classes (communities)")
    p_in: float = labcore.hp(0.015, "probability of an edge between two nodes of one class")
    p_out: float = labcore.hp(0.005, "probability of an edge between nodes of different classes")
    num_features: int = labcore.hp(16, "feature dimension d")
    snr: float = labcore.hp(1.0, "feature signal-to-noise ratio: RMS norm of class means / noise")
    train_per_class: int = labcore.hp(20, "labelled training nodes per class")
    num_val: int = labcore.hp(200, "validation nodes")
    num_test: int = labcore.hp(500, "test nodes")
    seed: int = labcore.hp(0, "seed of the graph, the features and the split")

    def __post_init__(self) -> None:
        for key in ("p_in", "p_out"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ValueError(f"{key} is a probability, in [0, 1]; got {getattr(self, key)}")
        if self.num_classes < 2 or self.num_features < 1 or self.snr < 0:
            raise ValueError("num_classes must be >= 2, num_features >= 1 and snr >= 0")
        needed = self.train_per_class * self.num_classes + self.num_val + self.num_test
        if needed > self.num_nodes:
            raise ValueError(
                f"the split needs {needed} nodes (train_per_class x num_classes + num_val + "
                f"num_test) but num_nodes is {self.num_nodes}; raise num_nodes or shrink the split"
            )


class CSBM(labcore.Dataset):
    r"""Contextual stochastic block model: a random graph whose edges and features carry the class.

    After Deshpande et al., "Contextual Stochastic Block Models" (NeurIPS 2018), here with
    ``num_classes`` blocks.

    Node :math:`i` of class :math:`y_i` links to node :math:`j` with probability ``p_in`` when
    :math:`y_i = y_j`, else ``p_out`` (PyG's ``stochastic_blockmodel_graph``), and has features

    .. math::
        \mathbf{x}_i = \mathrm{snr} \cdot \boldsymbol{\mu}_{y_i} + \boldsymbol{\varepsilon}_i,
        \qquad \boldsymbol{\mu}_c, \boldsymbol{\varepsilon}_i \sim \mathcal{N}(0, \mathbf{I}_d / d),

    so that class means and noise both have unit RMS norm before scaling. Generating the graph
    takes :math:`O(N^2)` memory (every pair of nodes is drawn), fine up to a few thousand nodes.
    """

    name = "csbm"
    Config = CSBMConfig

    def load(self) -> labcore.DataBundle:
        import torch_geometric.transforms as T
        from torch_geometric.data import Data
        from torch_geometric.utils import stochastic_blockmodel_graph

        c = self.config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(c.seed)
            sizes = [
                c.num_nodes // c.num_classes + (k < c.num_nodes % c.num_classes)
                for k in range(c.num_classes)
            ]
            probs = torch.full((c.num_classes, c.num_classes), c.p_out)
            probs.fill_diagonal_(c.p_in)
            edge_index = stochastic_blockmodel_graph(sizes, probs)
            y = torch.repeat_interleave(torch.arange(c.num_classes), torch.tensor(sizes))
            means = torch.randn(c.num_classes, c.num_features) / c.num_features**0.5
            noise = torch.randn(c.num_nodes, c.num_features) / c.num_features**0.5
            graph = Data(x=c.snr * means[y] + noise, edge_index=edge_index, y=y)
            split = T.RandomNodeSplit(
                "random",
                num_train_per_class=c.train_per_class,
                num_val=c.num_val,
                num_test=c.num_test,
            )
            graph = split(graph)
        return node_bundle(graph, "csbm")


@dataclasses.dataclass
class PlanetoidConfig:
    graph: Literal["cora", "citeseer", "pubmed"] = labcore.hp("cora", "which citation graph")
    root: str = labcore.hp(
        "data/planetoid",
        "folder with the raw ind.<graph>.* files, or with <graph>/ holding them",
        path=True,
    )
    normalize_features: bool = labcore.hp(True, "scale each node's features to sum 1 (as GCN)")
    sparse_features: bool = labcore.hp(
        True, "keep features as a sparse COO tensor (faster input dropout and first layer)"
    )


class Planetoid(labcore.Dataset):
    """Planetoid citation graphs (Cora, CiteSeer, PubMed), standard split, read from local files.

    The split: 20 labelled nodes per class, 500 validation and 1000 test nodes (Yang et al.,
    "Revisiting Semi-Supervised Learning with Graph Embeddings", ICML 2016; Sen et al. 2008).

    Read from local raw files (``root``, see :mod:`labcore_builtins.graph.planetoid`); nothing
    is downloaded. Features are row-normalised as in Kipf and Welling (2017) and kept sparse, as in
    their code: the models' input dropout then draws one number per non-zero feature instead of
    one per matrix entry, and the first layer multiplies a sparse matrix.
    """

    name = "planetoid"
    Config = PlanetoidConfig

    def load(self) -> labcore.DataBundle:
        import torch_geometric.transforms as T

        graph = read_planetoid(self.config.root, self.config.graph)
        if self.config.normalize_features:
            graph = T.NormalizeFeatures()(graph)
        if self.config.sparse_features:
            graph.x = graph.x.to_sparse()
        return node_bundle(graph, self.config.graph)
