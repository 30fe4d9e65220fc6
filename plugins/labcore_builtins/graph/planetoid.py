"""Reading the Planetoid citation graphs (Cora, CiteSeer, PubMed) from local raw files.

The raw files are those of Yang et al. (2016) and Kipf and Welling's GCN code,
``ind.<name>.{x,tx,allx,y,ty,ally,graph,test.index}``; PyG keeps the same files in
``<root>/<Name>/raw/``. They are parsed by PyG's :func:`torch_geometric.io.read_planetoid_data`,
which writes nothing (PyG's ``Planetoid`` dataset class would write ``processed/`` beside them and
download missing files; labcore does neither).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch_geometric.data import Data

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
    # torch_geometric is imported where used: importing it costs ~1 s of CLI start-up.
    from torch_geometric.io import read_planetoid_data

    return read_planetoid_data(str(folder), name)
