"""The graph family's figures: embeddings projected to 2-D, and spectral filter responses.

Each figure function takes a trained model and its :class:`labcore.DataBundle` and writes a PNG
(matplotlib's Agg canvas, no pyplot), so it can be used and tested without a run folder.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal

import matplotlib
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_score
from torch import nn
from torch_geometric.nn import ChebConv

import labcore
from labcore_builtins.graph.spectral import LAMBDA_MAX, EigenbasisConv, filter_response
from labcore_builtins.graph.spectral import normalized_laplacian as laplacian

Projection = Literal["pca", "tsne"]

#: Graphs up to this many nodes get their spectrum drawn under the filter responses.
SPECTRUM_MAX_NODES = 5000


@dataclasses.dataclass
class EmbeddingSummary:
    """What :func:`embedding_figure` drew: the projection, the number of points and their width,
    and the silhouette score of the classes in the embedding space (from -1 to 1; higher: classes
    better separated)."""

    method: str
    num_points: int
    width: int
    silhouette: float
    explained_variance: float | None


def project(
    embeddings: np.ndarray, method: Projection = "pca", seed: int = 0
) -> tuple[np.ndarray, float | None]:
    """``(M, 2)`` coordinates of ``(M, D)`` embeddings by PCA, or by t-SNE (van der Maaten and
    Hinton 2008) initialised by PCA; and for PCA the fraction of the variance they explain."""
    if embeddings.shape[1] < 2:
        return np.pad(embeddings, ((0, 0), (0, 2 - embeddings.shape[1]))), None
    if method == "tsne":
        perplexity = min(30.0, (embeddings.shape[0] - 1) / 3)
        tsne = TSNE(2, perplexity=perplexity, init="pca", random_state=seed)
        return tsne.fit_transform(embeddings), None
    pca = PCA(2, random_state=seed)
    coords = pca.fit_transform(embeddings)
    return coords, float(pca.explained_variance_ratio_.sum())


def embedding_figure(
    model: Any, bundle: labcore.DataBundle, path: Path, method: Projection = "pca"
) -> EmbeddingSummary:
    """Scatter plot of ``model.embeddings(bundle)`` projected to 2-D, coloured by class.

    For node classifiers the points are all nodes of the graph (the input of the last layer); for
    graph classifiers, the pooled embeddings of the test graphs.
    """
    embeddings, labels = model.embeddings(bundle)
    points = embeddings.numpy().astype(np.float64)
    classes = labels.numpy()
    coords, explained = project(points, method)
    separable = 2 <= len(np.unique(classes)) < len(classes)
    silhouette = float(
        silhouette_score(points, classes, sample_size=min(len(classes), 3000), random_state=0)
    ) if separable else float("nan")

    fig = Figure(figsize=(5.5, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    colors = matplotlib.colormaps["tab10"]
    for k in np.unique(classes):
        at = classes == k
        ax.scatter(
            coords[at, 0], coords[at, 1], s=8, alpha=0.7, label=str(k), color=colors(int(k) % 10)
        )
    ax.legend(title="class", fontsize=7, markerscale=2, loc="best")
    ax.set_title(f"{model.name}: {method.upper()} of {points.shape[1]}-d embeddings", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return EmbeddingSummary(method, len(classes), points.shape[1], silhouette, explained)


def spectral_layers(net: nn.Module) -> list[nn.Module]:
    """The layers of ``net`` that have a frequency response (ChebConv, EigenbasisConv)."""
    return [m for m in net.modules() if isinstance(m, (ChebConv, EigenbasisConv))]


def graph_spectrum(bundle: labcore.DataBundle) -> torch.Tensor | None:
    """The eigenvalues of the normalised Laplacian of a node dataset's graph, or None when the
    dataset has many graphs or more than :data:`SPECTRUM_MAX_NODES` nodes."""
    if bundle.info.get("task") != "node" or bundle.info["num_nodes"] > SPECTRUM_MAX_NODES:
        return None
    graph = bundle.split("train").data
    return torch.linalg.eigvalsh(laplacian(graph.edge_index.cpu(), graph.num_nodes))


def filter_gains(layer: nn.Module, lam: torch.Tensor) -> torch.Tensor:
    r"""``(len(lam),)`` gains :math:`\Vert \mathbf{G}(\lambda) \Vert_2` of a layer: the largest
    amplification, over all input signals at frequency :math:`\lambda`, of its ``(F_in, F_out)``
    response matrix."""
    with torch.no_grad():
        response = filter_response(layer, lam).double()
    return torch.linalg.matrix_norm(response, ord=2)


@dataclasses.dataclass
class ResponseSummary:
    """Mean gain of each spectral layer over the low (``lambda < 0.5``) and high (``lambda >
    1.5``) frequencies, as drawn by :func:`filter_response_figure`."""

    low: list[float]
    high: list[float]


def filter_response_figure(model: Any, bundle: labcore.DataBundle, path: Path) -> ResponseSummary:
    """Gain of every spectral layer against graph frequency, above a histogram of the graph's
    frequencies (eigenvalues of its normalised Laplacian).

    Polynomial and spline filters are drawn as curves over ``[0, 2]``; a ``"free"`` filter, which
    has a value at the graph's eigenvalues only, as points.

    Raises:
        ValueError: when the model has no spectral layer (it is not ChebNet or a spectral CNN).
    """
    layers = spectral_layers(model.net)
    if not layers:
        raise ValueError(f"model {model.name!r} has no spectral layer to draw a response of")
    spectrum = graph_spectrum(bundle)
    grid = torch.linspace(0.0, LAMBDA_MAX, 201, dtype=torch.float64)

    fig = Figure(figsize=(6.5, 4.8 if spectrum is not None else 3.6), dpi=100)
    FigureCanvasAgg(fig)
    rows = 2 if spectrum is not None else 1
    ax = fig.add_subplot(rows, 1, 1)
    low, high = [], []
    for index, layer in enumerate(layers):
        free = isinstance(layer, EigenbasisConv) and layer.filter == "free"
        if free and spectrum is None:
            raise ValueError(
                "a 'free' filter has values at the eigenvalues of its graph only; pass the "
                "bundle of the graph the model was trained on"
            )
        x = spectrum if free else grid
        gains = filter_gains(layer, x)
        label = f"layer {index + 1} ({layer.in_channels}->{layer.out_channels})"
        if free:
            ax.plot(x.numpy(), gains.numpy(), ".", ms=4, label=label)
        else:
            ax.plot(x.numpy(), gains.numpy(), lw=1.5, label=label)
        low.append(float(gains[x < 0.5].mean()) if (x < 0.5).any() else float("nan"))
        high.append(float(gains[x > 1.5].mean()) if (x > 1.5).any() else float("nan"))
    ax.set_ylabel("gain ||G(lambda)||_2")
    ax.set_xlim(0.0, LAMBDA_MAX)
    ax.set_title(f"{model.name}: learned filter response", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    if spectrum is not None:
        hist = fig.add_subplot(rows, 1, 2, sharex=ax)
        hist.hist(spectrum.numpy(), bins=60, range=(0.0, LAMBDA_MAX), color="grey")
        hist.set_ylabel("eigenvalues")
        hist.set_xlabel("graph frequency lambda (eigenvalue of L = I - D^-1/2 A D^-1/2)")
    else:
        ax.set_xlabel("graph frequency lambda")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return ResponseSummary(low, high)
