"""Quality bars of the 32 px architectures on MNIST 32x32 (fixed seeds; 45 to 55 minutes
each on one CPU core).

Trained through the real trainer with the recipes' settings at a shortened, equal budget and
measured as the recipes measure (the shipped lenet5-mnist on the central 28x28).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from labcore.metrics.generative import build_extractor
from labcore.plugins import get_manager
from labcore.runfolder import load_model
from labcore.testing import run_recipe
from labcore_builtins.gan.evaluation import class_accuracy

pytestmark = [pytest.mark.quality, pytest.mark.heavy]

GENERATOR_UPDATES = 1000  # the equal budget: generator updates (n_dis times as many steps)
SHORT = ["train.sample_every=0", "evaluate.num_samples=2000"]


@pytest.fixture(scope="module")
def mnist_root(tmp_path_factory) -> Path:
    from tests.conftest import find_shared_data

    root = tmp_path_factory.mktemp("data") / "mnist"
    shutil.copytree(find_shared_data("mnist"), root)
    return root


def train(recipe: str, root: Path, workdir: Path, n_dis: int) -> Path:
    overrides = [*SHORT, f"data.root={json.dumps(str(root))}"]
    steps = GENERATOR_UPDATES * n_dis
    return run_recipe(recipe, workdir / recipe, steps=steps, overrides=overrides)


def test_sngan_resnet_fid_at_most_dcgan_at_the_same_budget(mnist_root, tmp_path):
    fids = {}
    for recipe, n_dis in (("sngan-mnist32", 5), ("dcgan-mnist32", 1)):
        run = train(recipe, mnist_root, tmp_path, n_dis)
        fids[recipe] = json.loads((run / "metrics.json").read_text())["metrics"]["fid"]
    assert fids["sngan-mnist32"] <= fids["dcgan-mnist32"], fids


def test_projection_samples_are_classified_as_requested(mnist_root, tmp_path):
    run = train("sngan-projection-mnist32", mnist_root, tmp_path, n_dis=5)
    model, recipe, info = load_model(run, "cpu")
    extractor = build_extractor(recipe["evaluate"]["extractor"], "cpu", get_manager())
    with torch.no_grad():
        result = class_accuracy(model, extractor, tuple(info["value_range"]), 10, per_class=200)
    assert result["class_accuracy"] >= 0.95, result
