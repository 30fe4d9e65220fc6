"""Seconds per training epoch of labcore's GCN on Cora against a hand-written PyG loop, same run.

    python benchmarks/graph.py                     # 200 epochs, 5 interleaved repeats (~1 minute)
    python benchmarks/graph.py --quick             # 40 epochs, 2 repeats, to check that it runs
    python benchmarks/graph.py --dense             # also the loop on dense features (slow)
    python benchmarks/graph.py --root DIR          # Planetoid raw files elsewhere

Both sides train the same model the same way: Kipf and Welling's two-layer GCN (16 hidden units,
dropout 0.5 on the sparse input and the hidden layer, L2 5e-4 on the first layer, Adam at 0.01),
full batch, and after every epoch score the validation nodes with dropout off and keep a copy of the
weights when the validation accuracy improves (the selection PyG's examples do with their
``test()`` after each epoch).

- labcore: ``labcore run gcn-cora`` through the real trainer (``labcore.testing.run_recipe``);
  the seconds per epoch come from the trainer's own ``log.jsonl`` time stamps.
- PyG by hand: two ``GCNConv(cached=True)`` layers and a plain loop, timed with
  ``time.perf_counter``.
- PyG by hand, dense input (``--dense``, for context): the same loop on a dense feature matrix
  with ``F.dropout``, as PyG's ``examples/gcn.py`` does.

The first ``--warmup`` epochs are left out of each timing. The repeats alternate between the sides
so that both see the same machine load; the table gives each side's median and the ratio of the
medians (target: labcore / PyG <= 1.10), with the mean test accuracy of each side.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import torch_geometric.transforms as T
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv

from labcore.testing import run_recipe
from labcore_builtins.graph.planetoid import find_raw_folder, read_planetoid

DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "planetoid"


class HandGCN(torch.nn.Module):
    """Kipf and Welling's two-layer GCN as a PyG user writes it."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = GCNConv(in_channels, hidden, cached=True)
        self.conv2 = GCNConv(hidden, out_channels, cached=True)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        if x.layout == torch.sparse_coo:
            values = F.dropout(x.values(), 0.5, self.training)
            x = torch.sparse_coo_tensor(
                x.indices(), values, x.shape, is_coalesced=True, check_invariants=False
            )
        else:
            x = F.dropout(x, 0.5, self.training)
        x = F.relu(self.conv1(x, edge_index))
        x = F.dropout(x, 0.5, self.training)
        return self.conv2(x, edge_index)


def hand_loop(data: Data, epochs: int, warmup: int, seed: int) -> tuple[float, float]:
    """Seconds per epoch after ``warmup`` epochs, and the test accuracy of the selected weights."""
    torch.manual_seed(seed)
    model = HandGCN(data.num_features, 16, int(data.y.max()) + 1)
    optimizer = torch.optim.Adam(
        [
            {"params": model.conv1.parameters(), "weight_decay": 5e-4},
            {"params": model.conv2.parameters(), "weight_decay": 0.0},
        ],
        lr=0.01,
    )
    best_val, best_state = -1.0, copy.deepcopy(model.state_dict())
    start = time.perf_counter()
    for epoch in range(epochs):
        if epoch == warmup:
            start = time.perf_counter()
        model.train()
        optimizer.zero_grad()
        out = model(data.x, data.edge_index)
        F.cross_entropy(out[data.train_mask], data.y[data.train_mask]).backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            pred = model(data.x, data.edge_index).argmax(-1)
        val = float((pred[data.val_mask] == data.y[data.val_mask]).float().mean())
        if val > best_val:
            best_val, best_state = val, copy.deepcopy(model.state_dict())
    seconds = (time.perf_counter() - start) / (epochs - warmup)
    model.load_state_dict(best_state)
    model.eval()
    with torch.no_grad():
        pred = model(data.x, data.edge_index).argmax(-1)
    return seconds, float((pred[data.test_mask] == data.y[data.test_mask]).float().mean())


def lab_run(root: Path, workdir: Path, epochs: int, warmup: int, seed: int) -> tuple[float, float]:
    """Seconds per epoch of ``labcore run gcn-cora`` (from its log) and its test accuracy."""
    folder = run_recipe(
        "gcn-cora",
        workdir,
        steps=epochs,
        overrides=[f"data.root={root}", f"run.seed={seed}", f"train.log_every={warmup}"],
    )
    records = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    times = {r["step"]: r["time"] for r in records if "time" in r}
    seconds = (times[epochs] - times[warmup]) / (epochs - warmup)
    metrics = json.loads((folder / "metrics.json").read_text())["metrics"]
    return seconds, metrics["test/accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="Planetoid raw files")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="40 epochs, 2 repeats")
    parser.add_argument("--dense", action="store_true", help="also time the dense-input loop")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.repeats = 40, 2
    if find_raw_folder(args.root, "cora") is None:
        raise SystemExit(f"no Cora raw files under {args.root}; pass --root DIR")

    sparse = T.NormalizeFeatures()(read_planetoid(args.root, "cora"))
    dense = copy.copy(sparse)
    sparse.x = sparse.x.to_sparse()
    results: dict[str, list[tuple[float, float]]] = {"labcore": [], "pyg": []}
    if args.dense:
        results["pyg-dense"] = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.repeats):
            results["labcore"].append(lab_run(args.root, Path(tmp), args.epochs, args.warmup, seed))
            results["pyg"].append(hand_loop(sparse, args.epochs, args.warmup, seed))
            if args.dense:
                results["pyg-dense"].append(hand_loop(dense, args.epochs, args.warmup, seed))
            done = ", ".join(f"{k} {1000 * v[-1][0]:.1f} ms" for k, v in results.items())
            print(f"repeat {seed + 1}/{args.repeats}: {done}", flush=True)

    medians = {k: statistics.median(s for s, _ in v) for k, v in results.items()}
    print(f"GCN on Cora, {args.epochs} epochs x {args.repeats} repeats, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'side':<12} {'ms/epoch (median)':>18} {'all repeats (ms)':<32} {'test acc':>8}")
    for key, runs in results.items():
        each = " ".join(f"{1000 * s:.1f}" for s, _ in runs)
        accuracy = statistics.mean(a for _, a in runs)
        print(f"{key:<12} {1000 * medians[key]:>18.2f} {each:<32} {100 * accuracy:>7.1f}%")
    print(f"ratio labcore / pyg: {medians['labcore'] / medians['pyg']:.3f} (target <= 1.10)")
    if args.dense:
        print(f"ratio pyg-dense / pyg: {medians['pyg-dense'] / medians['pyg']:.3f}")


if __name__ == "__main__":
    main()
