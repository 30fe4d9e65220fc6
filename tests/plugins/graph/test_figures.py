"""The graph family's figures and report sections."""

from __future__ import annotations

import contextlib
import math
import tomllib
from pathlib import Path

import pytest
import torch
from PIL import Image

from labcore.runfolder import Run
from labcore.schema import build
from labcore.testing import run_recipe
from labcore_builtins.graph import plugin
from labcore_builtins.graph.datasets import Karate
from labcore_builtins.graph.figures import (
    embedding_figure,
    filter_gains,
    filter_response_figure,
    graph_spectrum,
    project,
)
from labcore_builtins.graph.graph_datasets import FakeGraphs
from labcore_builtins.graph.graph_models import GraphClassifier
from labcore_builtins.graph.models import GCN, ChebNet, SpectralCNN


class Steps:
    device = torch.device("cpu")
    max_steps = 0
    global_step = 0

    def __init__(self, model: torch.nn.Module) -> None:
        self.optimizer = torch.optim.Adam(model.parameters(), lr=0.02)

    def autocast(self):
        return contextlib.nullcontext()

    def step(self, name: str, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()


def trained(cls: type, bundle, steps: int = 30, **section):
    torch.manual_seed(0)
    model = cls(build(cls.Config, section, "model"), bundle.info)
    ctx = Steps(model)
    for step in range(steps):
        ctx.global_step = step
        batch = bundle.split("train").data if bundle.info["task"] == "node" else None
        model.training_step(batch, ctx)
    return model.eval()


@pytest.fixture(scope="module")
def karate():
    return Karate(build(Karate.Config, {}, "data")).load()


def png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def test_embedding_figure_of_node_embeddings(karate, tmp_path):
    model = trained(GCN, karate)
    summary = embedding_figure(model, karate, tmp_path / "e.png")
    assert png_size(tmp_path / "e.png") == (550, 450)
    assert (summary.num_points, summary.width, summary.method) == (34, 16, "pca")
    assert -1.0 <= summary.silhouette <= 1.0 and 0.0 < summary.explained_variance <= 1.0


def test_embedding_figure_of_graph_embeddings(tmp_path):
    bundle = FakeGraphs(build(FakeGraphs.Config, {"num_graphs": 60}, "data")).load()
    model = GraphClassifier(build(GraphClassifier.Config, {"hidden": 8}, "model"), bundle.info)
    summary = embedding_figure(model.eval(), bundle, tmp_path / "g.png", method="tsne")
    assert (summary.num_points, summary.width) == (9, 8) and summary.explained_variance is None


def test_project_pads_one_dimensional_embeddings():
    points = torch.arange(5.0).view(5, 1).numpy()
    coords, explained = project(points)
    assert coords.shape == (5, 2) and explained is None


@pytest.mark.parametrize(
    ("cls", "section"),
    [(ChebNet, {"K": 3}), (SpectralCNN, {"filter": "spline"}), (SpectralCNN, {"filter": "free"})],
)
def test_filter_response_figure_of_spectral_models(cls, section, karate, tmp_path):
    model = trained(cls, karate, **section)
    summary = filter_response_figure(model, karate, tmp_path / "f.png")
    assert png_size(tmp_path / "f.png") == (650, 480)
    assert len(summary.low) == len(summary.high) == 2
    assert all(math.isfinite(v) and v >= 0 for v in summary.low + summary.high)


def test_filter_gain_is_the_spectral_norm_of_the_response():
    model = SpectralCNN(build(SpectralCNN.Config, {"filter": "chebyshev", "K": 2}, "model"),
                        {"task": "node", "num_features": 3, "num_classes": 2, "num_nodes": 10})
    layer = model.net.convs[0]
    lam = torch.tensor([0.0, 1.0, 2.0])
    theta0, theta1 = layer.weight.detach().double()
    expected = [torch.linalg.svdvals(theta0 + c * theta1)[0] for c in (-1.0, 0.0, 1.0)]
    torch.testing.assert_close(filter_gains(layer, lam), torch.stack(expected))


def test_graph_spectrum_is_that_of_the_karate_club(karate):
    spectrum = graph_spectrum(karate)
    assert spectrum.shape == (34,) and spectrum[0].abs() < 1e-6 and spectrum[-1] <= 2.0


def test_no_filter_response_for_spatial_models(karate, tmp_path):
    with pytest.raises(ValueError, match="no spectral layer"):
        filter_response_figure(trained(GCN, karate, steps=1), karate, tmp_path / "f.png")


def test_report_sections_of_a_spectral_run(tmp_path):
    folder = run_recipe("spectral-karate", tmp_path, steps=5)
    with open(folder / "recipe.toml", "rb") as f:
        run = Run(dir=folder, recipe=tomllib.load(f))
    sections = plugin.labcore_report_sections(run)
    assert [s.title for s in sections] == ["Embeddings", "Spectral filter response"]
    for section in sections:
        for _, path in section.images:
            assert path.is_file() and path.parent == folder / "report"
    assert "| 1 |" in sections[1].markdown and "| 2 |" in sections[1].markdown


def test_report_hook_ignores_other_families(tmp_path):
    run = Run(dir=tmp_path, recipe={"model": {"name": "lenet5"}})
    assert plugin.labcore_report_sections(run) == []
