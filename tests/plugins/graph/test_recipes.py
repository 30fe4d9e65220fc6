"""The graph family's recipes: each one runs end to end from the command line at a tiny size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from labcore.testing import check_recipe, run_recipe
from labcore_builtins.graph.plugin import RECIPES as FAMILY

RECIPES = Path(__file__).parents[3] / "recipes"
PLANETOID = {"gcn-cora", "chebnet-cora", "gcn-citeseer", "sage-cora", "gat-cora"}
ALL = sorted(FAMILY)


def test_the_family_ships_its_recipes():
    assert set(ALL) == PLANETOID | {
        "gcn-karate", "spectral-karate", "spectral-csbm", "gcn-csbm", "gin-fake-graphs"
    }


# Every recipe runs from the command line in tests/test_every_recipe.py, which checks its
# accuracies too; these add the report's figures, for one recipe of each kind of report: node
# classification, a spectral node classifier (with its filter response), graph classification.
@pytest.mark.parametrize("name", ["gcn-karate", "spectral-karate", "gin-fake-graphs"])
def test_recipe_runs_from_the_command_line(name, labcore_cli, run_folder, tmp_path):
    labcore_cli("run", name, "--set", "train.max_steps=2", "--out", tmp_path, check=0)
    folder = run_folder(tmp_path)
    metrics = json.loads((folder / "metrics.json").read_text())["metrics"]
    assert 0.0 <= metrics["test/accuracy"] <= 1.0
    assert (folder / "report" / "embedding.png").is_file()
    spectral = (folder / "report" / "filter-response.png").is_file()
    assert spectral == name.startswith("spectral"), name


def test_planetoid_recipe_without_data_says_where_to_put_it(labcore_cli, tmp_path):
    result = labcore_cli(
        "run", "gcn-cora", "--set", f"data.root={tmp_path}", "--out", tmp_path / "out"
    )
    assert result.returncode != 0
    assert "ind.cora.x" in result.stderr and "never downloads" in result.stderr


def test_recipes_validate():
    for name in ALL:
        recipe = check_recipe(RECIPES / f"{name}.toml")
        assert recipe.model_cls.name and recipe.dataset_cls.name


def test_a_run_is_deterministic_per_seed(tmp_path):
    first = run_recipe("gcn-csbm", tmp_path / "a", steps=20, overrides=["run.seed=3"])
    second = run_recipe("gcn-csbm", tmp_path / "b", steps=20, overrides=["run.seed=3"])
    other = run_recipe("gcn-csbm", tmp_path / "c", steps=20, overrides=["run.seed=4"])

    def weights(folder):
        return torch.load(folder / "checkpoints" / "last.pt", weights_only=True)["model"]

    a, b, c = weights(first), weights(second), weights(other)
    assert all(torch.equal(a[key], b[key]) for key in a)
    assert not torch.equal(a["net.convs.0.lin.weight"], c["net.convs.0.lin.weight"])
