"""The graph family's report sections: the embedding projection and, for spectral models, the
learned filter response. :func:`report_sections` gathers them for a run folder; the section
builders take a model and its data, so they work without one."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import labcore
from labcore.report import Section
from labcore_builtins.graph.figures import (
    embedding_figure,
    filter_response_figure,
    spectral_layers,
)
from labcore_builtins.graph.models import NodeClassifier

REPORT_DIR = "report"


def embedding_section(model: Any, bundle: labcore.DataBundle, out: Path) -> Section:
    """The 2-D PCA of the model's embeddings, coloured by class, with the classes' silhouette."""
    summary = embedding_figure(model, bundle, out)
    what = "nodes (input of the last layer)" if bundle.info["task"] == "node" else "test graphs"
    text = (
        f"PCA of the {summary.width}-dimensional embeddings of {summary.num_points} {what}, "
        f"coloured by true class."
    )
    if summary.explained_variance is not None:
        text += f" The two components explain {summary.explained_variance:.1%} of the variance."
    if not math.isnan(summary.silhouette):
        text += (
            f" Silhouette of the classes in the embedding space: {summary.silhouette:.3f} "
            "(-1 to 1; higher means better separated)."
        )
    return Section("Embeddings", text, [("embedding projection", out)])


def filter_section(model: Any, bundle: labcore.DataBundle, out: Path) -> Section:
    """The gain of each spectral layer against graph frequency, with mean low and high gains."""
    summary = filter_response_figure(model, bundle, out)
    rows = ["| layer | mean gain, lambda < 0.5 | mean gain, lambda > 1.5 |", "| --- | --- | --- |"]
    rows += [
        f"| {i + 1} | {low:.4g} | {high:.4g} |"
        for i, (low, high) in enumerate(zip(summary.low, summary.high))
    ]
    text = (
        "Gain (largest singular value of the learned response matrix G(lambda)) of each spectral "
        "layer against the graph frequency lambda, an eigenvalue of the normalised Laplacian; "
        "below, how the graph's own frequencies are distributed. A low-pass filter has its gain "
        "at small lambda (smooth signals).\n\n" + "\n".join(rows)
    )
    return Section("Spectral filter response", text, [("filter response", out)])


def report_sections(run: Any) -> list[Section]:
    """The sections that apply to a graph-family run folder."""
    from labcore.runfolder import load_data, load_model

    model, recipe, _ = load_model(run.dir, "cpu")
    bundle = load_data(recipe)
    folder = Path(run.dir) / REPORT_DIR
    sections = [embedding_section(model, bundle, folder / "embedding.png")]
    if isinstance(model, NodeClassifier) and spectral_layers(model.net):
        sections.append(filter_section(model, bundle, folder / "filter-response.png"))
    return sections
