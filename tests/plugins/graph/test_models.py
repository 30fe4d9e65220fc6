"""The graph models: the model contract, the maths of their layers, and selection on validation."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.datasets import KarateClub

from labcore.recipes.optim import OptimizerFactory
from labcore.schema import build
from labcore.testing import check_model
from labcore_builtins.graph.datasets import Karate
from labcore_builtins.graph.graph_datasets import FakeGraphs
from labcore_builtins.graph.graph_models import GraphClassifier
from labcore_builtins.graph.layers import GNNStack, feature_dropout
from labcore_builtins.graph.models import GAT, GCN, ChebNet, GraphSAGE, SpectralCNN
from labcore_builtins.graph.spectral import GraphTooLargeError


def make(cls: type, info: dict, **section) -> torch.nn.Module:
    return cls(build(cls.Config, section, "model"), info)


@pytest.mark.parametrize(
    ("model", "overrides"),
    [
        (GCN, {}),
        (ChebNet, {"K": 2}),
        (SpectralCNN, {"filter": "spline", "K": 4}),
        (SpectralCNN, {"filter": "free", "num_layers": 1}),
        (GraphSAGE, {"hidden": 8}),
        (GAT, {"hidden": 4, "heads": 2}),
    ],
)
def test_node_models_honour_the_model_contract(model, overrides, tmp_path):
    """Trains, logs, evaluates, and resumes bitwise."""
    result = check_model(model, Karate, model_overrides=overrides, steps=6, workdir=tmp_path)
    assert {"val/accuracy", "val/loss", "test/accuracy", "test/loss"} <= set(result.metrics)
    assert {"loss", "accuracy"} <= set(result.logs[0])


def test_graph_classifier_honours_the_model_contract(tmp_path):
    result = check_model(
        GraphClassifier, FakeGraphs, model_overrides={"hidden": 16, "num_layers": 2},
        dataset_overrides={"num_graphs": 60, "avg_num_nodes": 8}, steps=4, batch_size=8,
        workdir=tmp_path,
    )
    assert 0.0 <= result.metrics["test/accuracy"] <= 1.0


def test_gcn_layer_is_kipf_and_wellings_propagation_rule():
    """Eval-mode GCN equals D^-1/2 (A + I) D^-1/2 relu(D^-1/2 (A + I) D^-1/2 X W0) W1 + b."""
    graph = KarateClub()[0]
    model = make(GCN, {"task": "node", "num_features": 34, "num_classes": 4, "num_nodes": 34})
    model.eval()
    adjacency = torch.zeros(34, 34)
    adjacency[graph.edge_index[0], graph.edge_index[1]] = 1.0
    a_hat = adjacency + torch.eye(34)
    d = a_hat.sum(1).rsqrt()
    a_norm = d[:, None] * a_hat * d[None, :]
    first, second = model.net.convs
    hidden = F.relu(a_norm @ graph.x @ first.lin.weight.T + first.bias)
    expected = a_norm @ hidden @ second.lin.weight.T + second.bias
    torch.testing.assert_close(model.net(graph.x, graph.edge_index), expected, atol=1e-5, rtol=0)


def test_sparse_features_give_the_dense_result():
    graph = KarateClub()[0]
    for cls in (GCN, ChebNet, GAT, GraphSAGE):
        model = make(cls, {"task": "node", "num_features": 34, "num_classes": 4, "num_nodes": 34})
        model.eval()
        dense = model.net(graph.x, graph.edge_index)
        torch.testing.assert_close(model.net(graph.x.to_sparse(), graph.edge_index), dense)


def test_sparse_feature_dropout_drops_stored_entries_only():
    torch.manual_seed(0)
    x = (torch.rand(200, 300) < 0.05) * torch.rand(200, 300)
    out = feature_dropout(x.to_sparse(), 0.5, training=True).to_dense()
    kept = out != 0
    assert not (kept & (x == 0)).any()
    torch.testing.assert_close(out[kept], 2 * x[kept])
    assert kept.sum().item() / (x != 0).sum().item() == pytest.approx(0.5, abs=0.05)
    assert feature_dropout(x.to_sparse(), 0.5, training=False).to_dense().equal(x)


def test_first_layer_weight_decay_applies_to_the_first_layer_only():
    model = make(GCN, {"task": "node", "num_features": 34, "num_classes": 4, "num_nodes": 34},
                 first_layer_weight_decay=5e-4, num_layers=3)
    optimizer = model.configure_optimizers(OptimizerFactory({"name": "adam", "lr": 0.01}))["main"]
    first, rest = optimizer.param_groups
    assert first["weight_decay"] == 5e-4 and rest["weight_decay"] == 0.0
    assert {id(p) for p in first["params"]} == {id(p) for p in model.net.convs[0].parameters()}
    assert len(rest["params"]) == 4


def test_the_node_recipes_evaluate_with_the_weights_of_the_best_validation_accuracy(
    labcore_cli, tmp_path
):
    """gcn-karate monitors val/accuracy at every step: the final evaluation uses the weights of
    the first step with the highest validation accuracy, kept as best.pt."""
    labcore_cli("run", "gcn-karate", "--set", "train.max_steps=40", "--out", tmp_path, check=0)
    (folder,) = tmp_path.glob("gcn-karate/*")
    records = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    history = {r["step"]: r["val/accuracy"] for r in records if "val/accuracy" in r}
    assert sorted(history) == list(range(1, 41))
    best = max(history.values())
    first_best = min(step for step, value in history.items() if value == best)
    record = json.loads((folder / "metrics.json").read_text())
    assert record["weights"] == {
        "final": "best", "monitor": "val/accuracy", "value": best, "step": first_best
    }
    assert record["metrics"]["val/accuracy"] == pytest.approx(best)
    saved = torch.load(folder / "checkpoints" / "best.pt", weights_only=True)
    assert saved["step"] == first_best


def test_node_models_refuse_graph_classification_data():
    info = {"task": "graph", "num_features": 8, "num_classes": 2}
    with pytest.raises(ValueError, match="node-classification .* task is 'graph'"):
        make(GCN, info)
    with pytest.raises(ValueError, match="graph-classification"):
        make(GraphClassifier, {"task": "node", "num_features": 8, "num_classes": 2})


def test_spectral_cnn_refuses_a_graph_too_large_to_diagonalise():
    info = {"task": "node", "num_features": 8, "num_classes": 2, "num_nodes": 5000}
    with pytest.raises(GraphTooLargeError, match="5000 nodes.*chebnet"):
        make(SpectralCNN, info, max_nodes=2000)


def test_gnn_stack_hidden_is_the_input_of_the_last_layer():
    torch.manual_seed(0)
    graph = KarateClub()[0]
    model = make(GCN, {"task": "node", "num_features": 34, "num_classes": 4, "num_nodes": 34},
                 num_layers=3, hidden=5)
    stack: GNNStack = model.net.eval()
    hidden = stack(graph.x, graph.edge_index, hidden=True)
    assert hidden.shape == (34, 5)
    torch.testing.assert_close(stack.convs[-1](hidden, graph.edge_index),
                               stack(graph.x, graph.edge_index))
