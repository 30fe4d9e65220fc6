"""The graph plugin: graph neural networks on PyTorch Geometric.

Node classification (full batch, one step per epoch, model selection on validation): ``gcn``
(Kipf and Welling 2017), ``chebnet`` (Defferrard et al. 2016), ``spectral-cnn`` (Bruna et al.
2014: filters learned in the graph Fourier basis), ``graphsage`` (Hamilton et al. 2017) and ``gat``
(Veličković et al. 2018), on the datasets ``karate``, ``csbm`` and ``planetoid`` (Cora, CiteSeer,
PubMed from local files). Graph classification: ``graph-classifier`` (GIN, Xu et al. 2019, or the
layers above, with global pooling) on ``fake-graphs``. Reports show the embeddings in 2-D and, for
spectral models, the learned filter response against graph frequency.
"""

from typing import Any

from labcore_builtins.graph.datasets import CSBM, Karate, Planetoid
from labcore_builtins.graph.graph_datasets import FakeGraphs
from labcore_builtins.graph.graph_models import GraphClassifier
from labcore_builtins.graph.models import GAT, GCN, ChebNet, GraphSAGE, NodeClassifier, SpectralCNN

# Loaded on first access: the spectral module imports torch_geometric (~1 s of CLI start-up).
SPECTRAL_NAMES = ("EigenbasisConv", "FourierBasisCache", "filter_response")

__all__ = [
    "CSBM",
    "GAT",
    "GCN",
    "ChebNet",
    "EigenbasisConv",
    "FakeGraphs",
    "FourierBasisCache",
    "GraphClassifier",
    "GraphSAGE",
    "Karate",
    "NodeClassifier",
    "Planetoid",
    "SpectralCNN",
    "filter_response",
]


def __getattr__(name: str) -> Any:
    if name in SPECTRAL_NAMES:
        from labcore_builtins.graph import spectral

        return getattr(spectral, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
