"""Reading the Planetoid citation graphs (Cora, CiteSeer, PubMed) from local raw files.

The raw files are those of Yang et al. (2016) and Kipf and Welling's GCN code,
``ind.<name>.{x,tx,allx,y,ty,ally,graph,test.index}``; PyG keeps the same files in
``<root>/<Name>/raw/``. Nothing is written beside them (PyG's ``Planetoid`` dataset class would
write ``processed/`` and download missing files; labcore does neither).

All but ``test.index`` are Python pickles, and unpickling runs whatever code a pickle names. They
are therefore read with :func:`labcore_builtins.data.restricted_pickle.load_restricted_pickle`
and :data:`PLANETOID_PICKLE`, which admits only what these files hold (numpy arrays and scalars,
scipy CSR/CSC/COO matrices, lists, dicts, ``collections.defaultdict``) and refuses any other name
with a :class:`labcore.DataError` naming the file, before anything is called. The graph is then
assembled as PyG's :func:`torch_geometric.io.read_planetoid_data` does (same tensors), after
checking that the parts agree in size and every index is in range.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse

from labcore.data import DataError
from labcore_builtins.data.restricted_pickle import (
    CONTAINERS,
    NUMPY_ARRAYS,
    NUMPY_SCALARS,
    AllowList,
    load_restricted_pickle,
)

if TYPE_CHECKING:
    from torch_geometric.data import Data

#: What the raw files of Kipf's GCN repository hold.
PLANETOID_PICKLE = AllowList(
    {
        **NUMPY_ARRAYS,
        **NUMPY_SCALARS,
        **{
            (module, name): getattr(scipy.sparse, name)
            for name in ("csr_matrix", "csc_matrix", "coo_matrix")
            for module in ("scipy.sparse", f"scipy.sparse.{name[:3]}", f"scipy.sparse._{name[:3]}")
        },
        **CONTAINERS,
        ("collections", "defaultdict"): collections.defaultdict,
    },
    "numpy arrays, scipy sparse matrices, lists and dicts",
)
PLANETOID_GRAPHS = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
RAW_PARTS = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")


def raw_files(name: str) -> list[str]:
    """The file names of graph ``name`` (``cora``, ``citeseer`` or ``pubmed``)."""
    return [f"ind.{name}.{part}" for part in RAW_PARTS]


def find_raw_folder(root: Path, name: str) -> Path | None:
    """The first of ``root``, ``root/<name>`` and ``root/<Name>/raw`` (PyG's layout) holding any
    of the graph's raw files, or None."""
    candidates = [root, root / name, root / PLANETOID_GRAPHS[name] / "raw"]
    for folder in candidates:
        if any((folder / file).is_file() for file in raw_files(name)):
            return folder
    return None


def read_planetoid(root: str | Path, name: str) -> Data:
    """The graph ``name`` with its standard split (20 labelled nodes per class, 500 validation,
    1000 test nodes), read from ``root`` without downloading.

    Returns:
        a ``Data`` with ``x`` ``(N, F)`` float features, ``y`` ``(N,)`` labels, ``edge_index``
        ``(2, E)`` (undirected) and boolean ``train_mask``, ``val_mask``, ``test_mask`` ``(N,)``.

    Raises:
        FileNotFoundError: listing the missing files and where to put them.
        labcore.DataError: naming the file that is unsafe, truncated, corrupt or out of range.
    """
    if name not in PLANETOID_GRAPHS:
        raise ValueError(
            f"unknown Planetoid graph {name!r}; choose one of: {list(PLANETOID_GRAPHS)}"
        )
    root = Path(root).expanduser()
    folder = find_raw_folder(root, name)
    where = (
        f"put them in {(root / name).resolve()} (or in PyG's layout "
        f"{(root / PLANETOID_GRAPHS[name] / 'raw').resolve()}) or set data.root to the folder "
        f"that holds them; they are the files of Kipf's GCN repository (gcn/data) and of PyG's "
        f"Planetoid raw folder. labcore never downloads data"
    )
    if folder is None:
        raise FileNotFoundError(
            f"no {PLANETOID_GRAPHS[name]} files under {root.resolve()}: expected "
            f"{', '.join(raw_files(name))}; {where}"
        )
    missing = [file for file in raw_files(name) if not (folder / file).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{PLANETOID_GRAPHS[name]} is incomplete in {folder.resolve()}: missing "
            f"{', '.join(missing)}; {where}"
        )
    return assemble(read_parts(folder, name), name)


def _matrix(value: Any, path: Path) -> np.ndarray:
    """A dense float32 ``(rows, columns)`` array of a pickled numpy array or sparse matrix.

    A sparse matrix is rebuilt from its index arrays, so that nothing of the unpickled object
    but plain arrays is used.
    """
    if isinstance(value, scipy.sparse.spmatrix | scipy.sparse.sparray):
        parts = vars(value)
        try:
            shape = parts.get("_shape", parts.get("shape"))
            if value.format == "coo":
                coords = (np.asarray(parts["row"]), np.asarray(parts["col"]))
                rebuilt = scipy.sparse.coo_matrix((np.asarray(parts["data"]), coords), shape)
            else:
                arrays = tuple(np.asarray(parts[key]) for key in ("data", "indices", "indptr"))
                kind = scipy.sparse.csr_matrix if value.format == "csr" else scipy.sparse.csc_matrix
                rebuilt = kind(arrays, shape=shape)
                rebuilt.check_format(full_check=True)
            value = rebuilt.toarray()
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise DataError(f"{path}: a damaged sparse matrix ({exc}); replace the file") from exc
    if not isinstance(value, np.ndarray) or value.ndim != 2:
        raise DataError(
            f"{path}: expected a 2-D array or sparse matrix, found "
            f"{type(value).__name__}{getattr(value, 'shape', '')}; replace the file"
        )
    if value.dtype.kind not in "biuf":
        raise DataError(f"{path}: expected numbers, found dtype {value.dtype}; replace the file")
    value = value.astype(np.float32)
    if not np.isfinite(value).all():
        raise DataError(f"{path}: holds NaN or infinite values; replace the file")
    return value


def _adjacency(value: Any, path: Path, num_nodes: int) -> dict[int, list[int]]:
    """The graph's ``{node: [neighbours]}``, every index an int in ``[0, num_nodes)``."""
    if not isinstance(value, dict):
        raise DataError(
            f"{path}: expected a dict of node -> neighbour list, found {type(value).__name__}; "
            "replace the file"
        )
    adjacency = {}
    for node, neighbours in value.items():
        if not isinstance(neighbours, list):
            raise DataError(f"{path}: node {node!r} has no neighbour list; replace the file")
        for index in (node, *neighbours):
            if not isinstance(index, int | np.integer) or not 0 <= index < num_nodes:
                raise DataError(
                    f"{path}: node index {index!r} is out of range for {num_nodes} nodes; "
                    "the files do not belong together or this one is corrupt, replace it"
                )
        adjacency[int(node)] = [int(i) for i in neighbours]
    return adjacency


def _test_index(path: Path) -> np.ndarray:
    """The test node indices of the text file ``path``, one integer a line."""
    try:
        words = path.read_text(encoding="ascii").split()
        index = np.array([int(word) for word in words], dtype=np.int64)
    except (UnicodeDecodeError, ValueError) as exc:
        message = f"{path}: expected one node index per line ({exc}); replace the file"
        raise DataError(message) from exc
    if index.size == 0 or (index < 0).any() or len(np.unique(index)) != index.size:
        raise DataError(
            f"{path}: expected distinct non-negative node indices, found {index.size} values "
            f"({len(np.unique(index))} distinct); replace the file"
        )
    return index


def read_parts(folder: Path, name: str) -> dict[str, Any]:
    """The raw parts of graph ``name`` in ``folder``, read without running code, keyed by part."""
    parts: dict[str, Any] = {}
    for part, file in zip(RAW_PARTS, raw_files(name), strict=True):
        path = folder / file
        if part == "test.index":
            parts[part] = (_test_index(path), path)
            continue
        with open(path, "rb") as file:
            value = load_restricted_pickle(file, str(path), PLANETOID_PICKLE, encoding="latin1")
        parts[part] = (value if part == "graph" else _matrix(value, path), path)
    return parts


def assemble(parts: dict[str, Any], name: str) -> Data:
    """The graph of the raw ``parts``, built as PyG's ``read_planetoid_data`` builds it.

    The labelled training nodes are the rows of ``x``/``y``, the next 500 the validation nodes,
    and ``test.index`` names the test nodes, whose features and labels are ``tx``/``ty`` in
    sorted order. CiteSeer has test indices with no node in ``tx`` (isolated nodes): they get
    zero features and labels, as in Kipf's code.
    """
    import torch
    from torch_geometric.data import Data
    from torch_geometric.io.planetoid import edge_index_from_dict
    from torch_geometric.utils import index_to_mask

    (x, x_path), (tx, tx_path), (allx, allx_path) = parts["x"], parts["tx"], parts["allx"]
    (y, y_path), (ty, ty_path), (ally, ally_path) = parts["y"], parts["ty"], parts["ally"]
    test_index, test_path = parts["test.index"]
    pairs = [(x, x_path, y, y_path), (tx, tx_path, ty, ty_path), (allx, allx_path, ally, ally_path)]
    for features, features_path, labels, labels_path in pairs:
        if len(features) != len(labels):
            raise DataError(
                f"{features_path} has {len(features)} rows but {labels_path} has {len(labels)}; "
                "the files do not belong together, replace them"
            )
    for matrices in ([(x, x_path), (tx, tx_path), (allx, allx_path)],
                     [(y, y_path), (ty, ty_path), (ally, ally_path)]):  # fmt: skip
        widths = {path.name: array.shape[1] for array, path in matrices}
        if len(set(widths.values())) != 1:
            raise DataError(
                f"{', '.join(widths)} differ in width ({widths}); the files do not belong "
                "together, replace them"
            )
    if len(test_index) != len(tx):
        raise DataError(
            f"{test_path} names {len(test_index)} test nodes but {tx_path} has {len(tx)} rows; "
            "the files do not belong together, replace them"
        )
    x, tx, allx = map(torch.from_numpy, (x, tx, allx))
    y, ty, ally = map(torch.from_numpy, (y, ty, ally))
    test_index = torch.from_numpy(test_index)
    sorted_test_index = test_index.sort()[0]
    if name == "citeseer":
        low = int(test_index.min())
        tx_ext = torch.zeros(int(test_index.max()) - low + 1, tx.shape[1], dtype=tx.dtype)
        tx_ext[sorted_test_index - low] = tx
        ty_ext = torch.zeros(len(tx_ext), ty.shape[1], dtype=ty.dtype)
        ty_ext[sorted_test_index - low] = ty
        tx, ty = tx_ext, ty_ext
    num_nodes = len(allx) + len(tx)
    if int(test_index.max()) >= num_nodes:
        raise DataError(
            f"{test_path}: test node {int(test_index.max())} is out of range for {num_nodes} "
            f"nodes ({allx_path.name} + {tx_path.name}); replace the file"
        )
    if len(y) + 500 > num_nodes:
        raise DataError(
            f"{y_path}: {len(y)} training nodes and 500 validation nodes exceed the "
            f"{num_nodes} nodes; the files do not belong together, replace them"
        )
    features = torch.cat([allx, tx])
    features[test_index] = features[sorted_test_index]
    labels = torch.cat([ally, ty]).max(dim=1)[1]
    labels[test_index] = labels[sorted_test_index]
    graph_value, graph_path = parts["graph"]
    edge_index = edge_index_from_dict(_adjacency(graph_value, graph_path, num_nodes), num_nodes)
    data = Data(x=features, edge_index=edge_index, y=labels)
    data.train_mask = index_to_mask(torch.arange(len(y)), size=num_nodes)
    data.val_mask = index_to_mask(torch.arange(len(y), len(y) + 500), size=num_nodes)
    data.test_mask = index_to_mask(test_index, size=num_nodes)
    return data
