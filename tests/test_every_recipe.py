"""Every recipe `labcore recipes` lists runs the first time, from an empty working folder.

A new user's first command is `labcore run NAME`: no classifier run to train first, no data folder
to create. Recipes that read files (MNIST, the Planetoid graphs) point ``data.root`` at
../shared/data and skip, saying so, when it is absent. Three steps, and the sample-based metrics
on 200 samples: the whole run (training, evaluation with the noise floor, report) in seconds.
"""

from __future__ import annotations

import json
import tomllib

import pytest

from labcore.plugins import PluginManager
from labcore.recipes.recipe import load_raw

BUILTIN_FAMILIES = {"classifier", "gan", "graph", "sequence", "vae"}
SHARED_ROOTS = {"mnist": ("mnist",), "seq-mnist": ("mnist",), "planetoid": ("planetoid",),
                "cifar10": ("cifar10",)}


def listed_recipes() -> list[str]:
    manager = PluginManager()
    recipes = manager.recipes.items()
    return sorted(n for n, (_, record) in recipes if record.name in BUILTIN_FAMILIES)


def test_every_listed_recipe_is_checked_here(labcore_cli, tmp_path):
    listing = labcore_cli("recipes", cwd=tmp_path, check=0).stdout
    listed = {line.split()[0] for line in listing.splitlines() if line.strip()}
    assert set(listed_recipes()) <= listed


@pytest.mark.parametrize("name", listed_recipes())
def test_recipe_runs_three_steps_from_an_empty_folder(name, labcore_cli, shared_data, tmp_path):
    manager = PluginManager()
    data = load_raw(manager.recipes[name][0], manager).get("data", {})
    settings = ["train.max_steps=3", "evaluate.num_samples=200"]
    if "root" in data:
        settings.append(f"data.root={json.dumps(str(shared_data(*SHARED_ROOTS[data['name']])))}")
    arguments = [arg for setting in settings for arg in ("--set", setting)]
    labcore_cli("run", name, *arguments, cwd=tmp_path, check=0, timeout=600)
    runs = [p.parent for p in (tmp_path / "outputs").glob("*/*/recipe.toml")]
    assert len(runs) == 1, runs
    status = json.loads((runs[0] / "status.json").read_text())
    assert status["status"] == "finished" and status["step"] == 3
    metrics = json.loads((runs[0] / "metrics.json").read_text())["metrics"]
    accuracies = {key: value for key, value in metrics.items() if key.endswith("accuracy")}
    assert all(0.0 <= value <= 1.0 for value in accuracies.values()), accuracies
    saved = tomllib.loads((runs[0] / "recipe.toml").read_text())
    assert saved["train"]["max_steps"] == 3
