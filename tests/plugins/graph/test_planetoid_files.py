"""Reading Planetoid raw files safely: no code from a pickle runs, damaged files are named."""

from __future__ import annotations

import collections
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
import torch
from torch_geometric.io import read_planetoid_data

from labcore.data import DataError
from labcore_builtins.graph.planetoid import raw_files, read_planetoid

NUM_TRAIN, NUM_ALL, NUM_TEST = 6, 520, 10  # the standard split takes 500 validation nodes


def write_graph(folder: Path, name: str = "cora") -> Path:
    """A small graph in the Planetoid file format: sparse features, one-hot labels, a ring."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    num_nodes = NUM_ALL + NUM_TEST
    features = scipy.sparse.csr_matrix((rng.random((num_nodes, 5)) > 0.6).astype(np.float32))
    labels = np.eye(3, dtype=np.int32)[rng.integers(0, 3, num_nodes)]
    graph = collections.defaultdict(list)
    for node in range(num_nodes):
        graph[node] += [(node + 1) % num_nodes, (node - 1) % num_nodes]
    test_index = rng.permutation(np.arange(NUM_ALL, num_nodes))
    parts = {
        "x": features[:NUM_TRAIN], "y": labels[:NUM_TRAIN],
        "allx": features[:NUM_ALL], "ally": labels[:NUM_ALL],
        "tx": features[NUM_ALL:], "ty": labels[NUM_ALL:], "graph": graph,
    }  # fmt: skip
    for part, value in parts.items():
        (folder / f"ind.{name}.{part}").write_bytes(pickle.dumps(value, protocol=2))
    (folder / f"ind.{name}.test.index").write_text("\n".join(map(str, test_index)) + "\n")
    return folder


class Payload:
    """Unpickling this runs ``touch <marker>``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_reads_what_pygs_reader_reads(tmp_path):
    folder = write_graph(tmp_path / "cora")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = read_planetoid_data(str(folder), "cora")
    graph = read_planetoid(tmp_path, "cora")
    for key in ("x", "y", "edge_index", "train_mask", "val_mask", "test_mask"):
        assert torch.equal(graph[key], expected[key]), key
    assert int(graph.train_mask.sum()) == NUM_TRAIN and int(graph.val_mask.sum()) == 500


@pytest.mark.parametrize("name", ["cora", "citeseer"])
def test_the_real_files_read_as_pyg_reads_them(name, planetoid_root):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = read_planetoid_data(str(planetoid_root / name), name)
    graph = read_planetoid(planetoid_root, name)
    for key in ("x", "y", "edge_index", "train_mask", "val_mask", "test_mask"):
        assert graph[key].dtype == expected[key].dtype and torch.equal(graph[key], expected[key])


@pytest.mark.parametrize("part", ["x", "graph"])
def test_a_pickle_that_runs_code_is_refused_and_runs_nothing(part, tmp_path):
    folder = write_graph(tmp_path / "cora")
    marker = tmp_path / "payload-ran"
    (folder / f"ind.cora.{part}").write_bytes(pickle.dumps(Payload(marker), protocol=2))
    with pytest.raises(DataError, match=rf"ind\.cora\.{part}.*names posix\.system"):
        read_planetoid(tmp_path, "cora")
    assert not marker.exists()


def test_the_command_line_refuses_a_malicious_file_with_exit_2(labcore_cli, tmp_path):
    folder = write_graph(tmp_path / "data" / "cora")
    marker = tmp_path / "payload-ran"
    (folder / "ind.cora.x").write_bytes(pickle.dumps(Payload(marker), protocol=2))
    result = labcore_cli(
        "run", "gcn-cora", "--set", f"data.root='{tmp_path / 'data'}'",
        "--set", "train.max_steps=1", "--out", tmp_path / "out",
    )
    assert result.returncode == 2, result.stderr
    assert "ind.cora.x" in result.stderr and "Traceback" not in result.stderr
    assert not marker.exists()


@pytest.mark.parametrize(
    ("damage", "file", "words"),
    [
        (lambda f: f.write_bytes(f.read_bytes()[:40]), "ind.cora.allx", "cannot be read"),
        (lambda f: f.write_bytes(b""), "ind.cora.ty", "cannot be read"),
        (lambda f: f.write_text("520\n9999\n"), "ind.cora.test.index", "names 2 test nodes"),
        (lambda f: f.write_text("seven\n"), "ind.cora.test.index", "one node index per line"),
        (lambda f: f.write_bytes(pickle.dumps({0: [1, 5000]}, protocol=2)), "ind.cora.graph",
         "5000 is out of range"),
        (lambda f: f.write_bytes(pickle.dumps(np.ones((3, 3)), protocol=2)), "ind.cora.ally",
         "ind.cora.ally has 3"),
        (lambda f: f.write_bytes(pickle.dumps([1, 2], protocol=2)), "ind.cora.tx",
         "expected a 2-D array"),
    ],
)
def test_damaged_files_are_named(damage, file, words, tmp_path):
    folder = write_graph(tmp_path / "cora")
    damage(folder / file)
    with pytest.raises(DataError, match=file.replace(".", r"\.")) as error:
        read_planetoid(tmp_path, "cora")
    assert words in str(error.value)


def test_a_test_index_beyond_the_nodes_is_named(tmp_path):
    folder = write_graph(tmp_path / "cora")
    index = np.arange(NUM_ALL, NUM_ALL + NUM_TEST)
    index[-1] = 10_000
    (folder / "ind.cora.test.index").write_text("\n".join(map(str, index)))
    with pytest.raises(DataError, match=r"ind\.cora\.test\.index: test node 10000 is out of range"):
        read_planetoid(tmp_path, "cora")


def test_every_raw_file_is_read_through_the_restricted_reader(tmp_path):
    folder = write_graph(tmp_path / "cora")
    marker = tmp_path / "payload-ran"
    for file in raw_files("cora"):
        if file.endswith("test.index"):
            continue
        original = (folder / file).read_bytes()
        (folder / file).write_bytes(pickle.dumps(Payload(marker), protocol=2))
        with pytest.raises(DataError, match=file.replace(".", r"\.")):
            read_planetoid(tmp_path, "cora")
        (folder / file).write_bytes(original)
    assert not marker.exists()
