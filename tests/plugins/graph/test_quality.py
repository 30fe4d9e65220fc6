"""Published accuracies on the Planetoid graphs: mean test accuracy over 10 seeds of the shipped
recipes, trained by the real trainer (about 1-2 minutes in all on a CPU)."""

from __future__ import annotations

import json
import statistics

import pytest

from labcore.testing import run_recipe


@pytest.mark.quality
@pytest.mark.parametrize(
    ("recipe", "bar", "paper"),
    [
        ("gcn-cora", 0.805, 0.815),
        ("chebnet-cora", 0.800, 0.812),
        pytest.param("gcn-citeseer", 0.695, 0.703, marks=pytest.mark.heavy),
    ],
)
def test_mean_test_accuracy_over_ten_seeds(recipe, bar, paper, planetoid_root, tmp_path):
    accuracies = []
    for seed in range(10):
        overrides = [f"data.root={planetoid_root}", f"run.seed={seed}"]
        folder = run_recipe(recipe, tmp_path, steps=200, overrides=overrides)
        metrics = json.loads((folder / "metrics.json").read_text())["metrics"]
        accuracies.append(metrics["test/accuracy"])
    mean, std = statistics.mean(accuracies), statistics.stdev(accuracies)
    assert mean >= bar, (
        f"{recipe}: mean test accuracy {mean:.2%} +- {std:.2%} over 10 seeds is below {bar:.1%} "
        f"(paper: {paper:.1%}); per seed: {[round(a, 3) for a in accuracies]}"
    )
