"""Every recipe of the classifier plugin runs end to end through the command line, briefly."""

import json
from pathlib import Path

import pytest
import torch

from labcore.features import ClassifierFeatures
from labcore.testing import run_recipe
from labcore_builtins.classifier.plugin import RECIPES as FAMILY

ROOT = Path(__file__).resolve().parents[3]
RECIPES = ROOT / "recipes"
CLASSIC_CNN_RECIPES = {
    "alexnet-mnist32",
    "densenet-mnist32",
    "googlenet-mnist32",
    "nin-mnist32",
    "resnext-mnist32",
    "wide-resnet-mnist32",
}
MNIST_RECIPES = {"lenet5-mnist", "classifier-mnist", *CLASSIC_CNN_RECIPES}


def test_the_plugin_ships_the_expected_recipes():
    names = sorted(FAMILY)
    assert names == [
        "alexnet-mnist32",
        "classifier-digits",
        "classifier-mnist",
        "densenet-mnist32",
        "googlenet-mnist32",
        "lenet5-digits",
        "lenet5-mnist",
        "mlp-digits",
        "nin-mnist32",
        "optimizers-digits",
        "resnet-digits",
        "resnext-mnist32",
        "wide-resnet-mnist32",
    ]


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_recipe_runs_and_reports_a_confusion_matrix(
    name, tmp_path, labcore_cli, run_folder, shared_data
):
    if name in MNIST_RECIPES:
        shared_data("mnist")
    out = tmp_path / "out"
    labcore_cli("run", name, "--set", "train.max_steps=2", "--out", out, cwd=ROOT, check=0)
    folder = run_folder(out)
    metrics = json.loads((folder / "metrics.json").read_text())["metrics"]
    assert {"test/loss", "test/accuracy"} <= set(metrics)
    assert ("val/accuracy" in metrics) == (name not in MNIST_RECIPES)
    assert (folder / "confusion_matrix.png").is_file()
    report = (folder / "report.md").read_text()
    assert "## Confusion matrix" in report and "(confusion_matrix.png)" in report


def test_classifier_digits_run_serves_as_the_feature_extractor(tmp_path):
    folder = run_recipe(RECIPES / "classifier-digits.toml", tmp_path, steps=2)
    extractor = ClassifierFeatures(ClassifierFeatures.Config(run=str(folder)))
    images = torch.rand(5, 1, 8, 8) * 2 - 1
    result = extractor.extract(images, value_range=(-1.0, 1.0))
    assert result["features"].shape == (5, 84) and result["logits"].shape == (5, 10)
