"""The graph datasets: karate, csbm, planetoid (from local files) and fake-graphs."""

from __future__ import annotations

import shutil

import pytest
import torch
from torch_geometric.data import Batch

import labcore
from labcore.schema import SchemaError, build
from labcore_builtins.graph.datasets import CSBM, Karate, Planetoid
from labcore_builtins.graph.graph_datasets import FakeGraphs
from labcore_builtins.graph.planetoid import raw_files


def load(cls: type, **section) -> labcore.DataBundle:
    return cls(build(cls.Config, section, "data")).load()


def masks(bundle: labcore.DataBundle) -> dict[str, torch.Tensor]:
    return {name: split.data.mask for name, split in bundle.splits.items()}


def test_karate_keeps_pygs_labelled_members_and_splits_the_rest():
    bundle = load(Karate, num_val=10, split_seed=3)
    m = masks(bundle)
    assert bundle.info == {
        "task": "node", "graph": "karate", "num_nodes": 34, "num_features": 34,
        "num_classes": 4, "num_train": 4, "num_val": 10, "num_test": 20,
    }
    assert m["train"].nonzero().view(-1).tolist() == [0, 4, 8, 24]  # first member of each club
    assert not (m["train"] & m["val"]).any() and not (m["val"] & m["test"]).any()
    assert (m["train"] | m["val"] | m["test"]).all()
    graph = bundle.split("test").data
    assert torch.equal(graph.val_mask, m["val"]) and graph.x is bundle.split("train").data.x
    assert torch.equal(load(Karate, split_seed=3).split("val").data.mask, m["val"])
    assert not torch.equal(load(Karate, split_seed=4).split("val").data.mask, m["val"])


def test_csbm_is_reproducible_and_homophilous():
    section = {"num_nodes": 600, "num_classes": 3, "p_in": 0.05, "p_out": 0.01, "seed": 1,
               "train_per_class": 10, "num_val": 100, "num_test": 200}
    bundle = load(CSBM, **section)
    graph = bundle.split("train").data
    again = load(CSBM, **section).split("train").data
    assert torch.equal(graph.edge_index, again.edge_index) and torch.equal(graph.x, again.x)
    assert not torch.equal(load(CSBM, **{**section, "seed": 2}).split("train").data.x, graph.x)
    assert bundle.info["num_train"] == 30 and bundle.info["num_val"] == 100
    assert torch.bincount(graph.y[graph.train_mask]).tolist() == [10, 10, 10]
    # Within-class share of edges: p_in / (p_in + 2 p_out) = 5/7 in expectation.
    row, col = graph.edge_index
    assert (graph.y[row] == graph.y[col]).float().mean().item() == pytest.approx(5 / 7, abs=0.04)
    mean_degree = graph.edge_index.shape[1] / 600
    assert mean_degree == pytest.approx(199 * 0.05 + 400 * 0.01, rel=0.1)


def test_csbm_snr_sets_the_distance_between_class_means():
    quiet = load(CSBM, snr=0.0, num_features=64).split("train").data
    loud = load(CSBM, snr=4.0, num_features=64).split("train").data

    def gap(graph):
        means = torch.stack([graph.x[graph.y == k].mean(0) for k in range(2)])
        return float((means[0] - means[1]).norm())

    assert gap(quiet) < 0.2 < 2.0 < gap(loud)


def test_csbm_rejects_impossible_settings():
    with pytest.raises(SchemaError, match=r"\[data\].*needs 1000 nodes"):
        build(CSBM.Config, {"num_nodes": 500, "num_val": 500, "num_test": 460}, "data")
    with pytest.raises(SchemaError, match="p_in is a probability"):
        build(CSBM.Config, {"p_in": 1.5}, "data")


def test_planetoid_reads_cora_with_the_standard_split(planetoid_root):
    bundle = load(Planetoid, graph="cora", root=str(planetoid_root))
    info = bundle.info
    assert (info["num_nodes"], info["num_features"], info["num_classes"]) == (2708, 1433, 7)
    assert (info["num_train"], info["num_val"], info["num_test"]) == (140, 500, 1000)
    graph = bundle.split("train").data
    assert graph.x.layout == torch.sparse_coo and graph.edge_index.shape == (2, 10556)
    row_sums = torch.sparse.sum(graph.x, dim=1).to_dense()
    assert torch.allclose(row_sums[row_sums > 0], torch.ones(1))
    assert not list(planetoid_root.rglob("processed"))  # nothing written beside the data


def test_planetoid_reads_citeseer_and_pygs_raw_layout(planetoid_root, tmp_path):
    pyg_root = tmp_path / "pyg"
    shutil.copytree(planetoid_root / "citeseer", pyg_root / "CiteSeer" / "raw")
    bundle = load(Planetoid, graph="citeseer", root=str(pyg_root), sparse_features=False)
    assert (bundle.info["num_nodes"], bundle.info["num_classes"]) == (3327, 6)
    assert bundle.split("val").data.x.layout == torch.strided
    direct = load(Planetoid, graph="citeseer", root=str(planetoid_root / "citeseer"))
    assert direct.info["num_test"] == 1000


def test_planetoid_lists_missing_files_and_where_to_put_them(tmp_path):
    with pytest.raises(FileNotFoundError) as missing_all:
        load(Planetoid, graph="pubmed", root=str(tmp_path))
    message = str(missing_all.value)
    assert all(name in message for name in raw_files("pubmed"))
    assert str((tmp_path / "pubmed").resolve()) in message and "never downloads" in message
    (tmp_path / "cora").mkdir()
    for name in raw_files("cora")[:5]:
        (tmp_path / "cora" / name).write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="missing ind.cora.ally, ind.cora.graph, "
                                                "ind.cora.test.index"):
        load(Planetoid, graph="cora", root=str(tmp_path))


def test_fake_graphs_are_reproducible_and_batch_with_pyg():
    bundle = load(FakeGraphs, num_graphs=40, avg_num_nodes=10, num_classes=2, seed=5)
    assert [len(bundle.split(s)) for s in ("train", "val", "test")] == [28, 6, 6]
    split = bundle.split("train")
    assert isinstance(split, labcore.ItemSplit)
    batch = split.collate([split.dataset[i] for i in range(4)])
    assert isinstance(batch, Batch) and batch.num_graphs == 4 and batch.y.shape == (4,)
    again = load(FakeGraphs, num_graphs=40, avg_num_nodes=10, num_classes=2, seed=5)
    assert torch.equal(again.split("test").dataset[0].x, bundle.split("test").dataset[0].x)
    # The class is in the node features: x = noise + y.
    graph = split.dataset[0]
    assert graph.x.mean().item() == pytest.approx(float(graph.y), abs=0.5)
