"""The sequence family's quality bars, measured on the shipped recipes through ``labcore run``.

    python benchmarks/sequence.py                   # every bar (about an hour on 2 CPU cores)
    python benchmarks/sequence.py --only adding     # rnn-, lstm- and tcn-adding (T = 100)
    python benchmarks/sequence.py --only mnist text # lstm-seq-mnist and char-lstm
    python benchmarks/sequence.py --quick           # a few steps of each, to check that it runs
    python benchmarks/sequence.py --threads 1       # pin torch to one thread per run

Each recipe trains in a fresh process (``python -m labcore run RECIPE --out DIR``, the report
included) and its ``metrics.json`` is read back. The bars (issue 7):

- ``lstm-seq-mnist``: LSTM on MNIST read row by row, the t10k files split 8,000 / 2,000:
  test accuracy >= 0.95. Needs ``../shared/data/mnist`` (or ``--mnist-root``).
- ``rnn-adding``, ``lstm-adding``, ``tcn-adding``: the adding problem with T = 100. LSTM and TCN
  reach test MSE < 0.01; the vanilla RNN stays near the 1/6 of always answering 1.0 (shown:
  MSE > 0.1). The ratio of the gradient reaching the first step to the one reaching the last
  (:meth:`~labcore_builtins.sequence.tasks.SequenceModel.step_sensitivity`) is printed beside.
- ``char-lstm``: character LSTM on the embedded pydoc corpus: test bits per character at least
  1.5 below the unigram model's.

The table gives each run's wall time and the CPU seconds of its process. The exit status is 1
when a bar is missed (never with ``--quick``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MNIST = ROOT.parent / "shared" / "data" / "mnist"
GROUPS = {
    "mnist": ["lstm-seq-mnist"],
    "adding": ["rnn-adding", "lstm-adding", "tcn-adding"],
    "text": ["char-lstm"],
}
QUICK = {
    "lstm-seq-mnist": ["train.max_steps=20"],
    "rnn-adding": ["train.max_steps=20", "data.num_train=200"],
    "lstm-adding": ["train.max_steps=20", "data.num_train=200"],
    "tcn-adding": ["train.max_steps=20", "data.num_train=200"],
    "char-lstm": ["train.max_steps=20", "data.max_chars=50000", "model.sample_length=50"],
}


def run(
    recipe: str, out: Path, overrides: list[str], threads: int | None
) -> tuple[Path, float, float]:
    """Train ``recipe`` in a subprocess; returns its run folder, wall and CPU seconds."""
    args = [sys.executable, "-m", "labcore", "run", recipe, "--out", str(out)]
    for override in overrides:
        args += ["--set", override]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        raise RuntimeError(f"labcore run {recipe} failed:\n{result.stderr[-3000:]}")
    (folder,) = [p for p in (out / recipe).iterdir() if (p / "metrics.json").is_file()]
    return folder, wall, cpu


def gradient_ratio(folder: Path) -> float:
    """First-step over last-step gradient norm of the trained model on 256 fresh sequences."""
    from labcore.runfolder import load_model
    from labcore_builtins.sequence.synthetic import adding_problem

    model, _, info = load_model(folder, "cpu")
    x, y = adding_problem(256, info["seq_len"], torch.Generator().manual_seed(0))
    norms = model.step_sensitivity(x, y)
    return float(norms[0] / norms[-1])


def judge(recipe: str, folder: Path) -> tuple[str, bool]:
    """The measured figure of ``recipe``'s run and whether it meets its bar."""
    metrics = json.loads((folder / "metrics.json").read_text())["metrics"]
    if recipe == "lstm-seq-mnist":
        accuracy = metrics["test/accuracy"]
        return f"test accuracy {accuracy:.4f} (bar >= 0.95)", accuracy >= 0.95
    if recipe.endswith("-adding"):
        mse = metrics["test/mse"]
        ratio = gradient_ratio(folder)
        figure = f"test MSE {mse:.4f}, grad first/last {ratio:.2e}"
        if recipe == "rnn-adding":
            return f"{figure} (bar: near 0.167, > 0.1)", mse > 0.1
        return f"{figure} (bar < 0.01)", mse < 0.01
    from labcore.runfolder import load_data, open_run

    unigram = load_data(open_run(folder).recipe).info["unigram_bpc"]
    bpc = metrics["test/bits_per_char"]
    gain = unigram - bpc
    return (
        f"test bpc {bpc:.3f}, unigram {unigram:.3f}, gain {gain:.3f}, perplexity "
        f"{metrics['test/perplexity']:.2f} (bar: gain >= 1.5)",
        gain >= 1.5,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(GROUPS), default=sorted(GROUPS))
    parser.add_argument("--quick", action="store_true", help="a few steps each; no verdicts")
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS of each run")
    parser.add_argument("--mnist-root", type=Path, default=DEFAULT_MNIST)
    parser.add_argument("--out", type=Path, default=None, help="keep the run folders here")
    args = parser.parse_args()

    recipes = [
        r for group in ("mnist", "adding", "text") if group in args.only for r in GROUPS[group]
    ]
    if "lstm-seq-mnist" in recipes and not args.mnist_root.is_dir():
        print(f"skipping lstm-seq-mnist: no MNIST files at {args.mnist_root} (--mnist-root)")
        recipes.remove("lstm-seq-mnist")
    out = args.out or Path(tempfile.mkdtemp(prefix="labcore-sequence-bench-"))
    print(
        f"torch {torch.__version__}, {os.cpu_count()} CPUs, threads per run: "
        f"{args.threads or 'torch default'}; run folders under {out}"
    )
    missed = []
    for recipe in recipes:
        overrides = list(QUICK[recipe]) if args.quick else []
        if recipe == "lstm-seq-mnist":
            overrides.append(f"data.root='{args.mnist_root.resolve()}'")
        folder, wall, cpu = run(recipe, out, overrides, args.threads)
        figure, met = judge(recipe, folder)
        verdict = "" if args.quick else ("  PASS" if met else "  MISS")
        print(f"{recipe:15s} {figure}  [{wall:7.1f} s wall, {cpu:7.1f} s CPU]{verdict}", flush=True)
        if not met:
            missed.append(recipe)
    return 1 if missed and not args.quick else 0


if __name__ == "__main__":
    sys.exit(main())
