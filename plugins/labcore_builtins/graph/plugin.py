"""Registers the graph family with labcore: models, datasets, recipes and report sections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import labcore
from labcore_builtins.graph.datasets import CSBM, Karate, Planetoid
from labcore_builtins.graph.graph_datasets import FakeGraphs
from labcore_builtins.graph.graph_models import GraphClassifier
from labcore_builtins.graph.models import GAT, GCN, ChebNet, GraphSAGE, SpectralCNN
from labcore_builtins.recipes import bundled

MODELS = [GCN, ChebNet, SpectralCNN, GraphSAGE, GAT, GraphClassifier]
RECIPES = (
    "chebnet-cora",
    "gat-cora",
    "gcn-citeseer",
    "gcn-cora",
    "gcn-csbm",
    "gcn-karate",
    "gin-fake-graphs",
    "sage-cora",
    "spectral-csbm",
    "spectral-karate",
)


@labcore.hookimpl
def labcore_models() -> list[type]:
    return list(MODELS)


@labcore.hookimpl
def labcore_datasets() -> list[type]:
    return [Karate, CSBM, Planetoid, FakeGraphs]


@labcore.hookimpl
def labcore_recipes() -> list[Path]:
    return bundled(*RECIPES)


@labcore.hookimpl
def labcore_report_sections(run: Any) -> list[Any]:
    """An embedding projection for every graph-family run; a filter response for spectral ones."""
    if run.recipe.get("model", {}).get("name") not in {m.name for m in MODELS}:
        return []
    from labcore_builtins.graph.report import report_sections

    return report_sections(run)
