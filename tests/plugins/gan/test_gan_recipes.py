"""Every GAN recipe runs end to end through the command line at tiny size."""

import json
import shutil
import tomllib
from pathlib import Path

import pytest
from PIL import Image

from labcore_builtins.gan.plugin import RECIPES as FAMILY

RECIPES = Path(__file__).parents[3] / "recipes"
SETTINGS = ["train.max_steps=2", "train.sample_every=1", "train.log_every=1",
            "train.batch_size=16", "evaluate.metrics=[]"]  # fmt: skip
TINY = [arg for setting in SETTINGS for arg in ("--set", setting)]
DIGITS_RECIPES = ["gan-digits", "wgan-sn-digits", "cgan-projection-digits", "pix2pix-edges2digits",
                  "unet-l1-edges2digits"]  # fmt: skip


def test_every_shipped_recipe_is_exercised():
    shipped = set(FAMILY)
    architectures = {f"{name}-{data}" for name in ("sngan", "sngan-projection", "wgan-gp", "dcgan")
                     for data in ("cifar10", "mnist32")}  # fmt: skip
    others = {"cgan-digits", "gan-toy", "gan-mnist", "wgan-gp-digits"}
    assert shipped == {*DIGITS_RECIPES, *others, *architectures}


@pytest.mark.parametrize("recipe", DIGITS_RECIPES)
def test_digits_recipes_run_end_to_end(recipe, tmp_path, labcore_cli, run_folder):
    labcore_cli("run", recipe, *TINY, "--out", tmp_path, check=0)
    run = run_folder(tmp_path)
    assert (run / "checkpoints" / "last.pt").is_file()
    assert len(list((run / "samples").glob("step-*.png"))) == 2
    metrics = json.loads((run / "metrics.json").read_text())["metrics"]
    assert metrics and all(key.startswith(("val/", "test/")) for key in metrics)
    report = (run / "report.md").read_text()
    model = tomllib.loads((run / "recipe.toml").read_text())["model"]["name"]
    titles = {"cgan": "## Samples of each requested class", "pix2pix": "## Outputs against targets"}
    if model in titles:
        # measured with the recipe's extractor, the LeNet-5 shipped with labcore
        assert titles[model] in report and "Not measured" not in report
    if model == "wgan":
        assert "## Critic's Wasserstein estimate" in report
        assert (run / "report" / "wasserstein.png").is_file()


def test_gan_toy_draws_scatter_plots(tmp_path, labcore_cli, run_folder):
    labcore_cli("run", "gan-toy", *TINY, "--set", "data.train_size=256", "--out", tmp_path,
                check=0)  # fmt: skip
    run = run_folder(tmp_path)
    grid = Image.open(sorted((run / "samples").glob("step-*.png"))[-1])
    assert grid.size[0] >= 256
    report = (run / "report.md").read_text()
    assert "## Real vs generated points" in report and (run / "report" / "scatter.png").is_file()
    assert "test/modes_covered" in json.loads((run / "metrics.json").read_text())["metrics"]


def test_cgan_samples_chosen_classes_from_the_command_line(tmp_path, labcore_cli, run_folder):
    labcore_cli("run", "cgan-digits", *TINY, "--out", tmp_path, check=0)
    run = run_folder(tmp_path)
    assert len(list((run / "samples").glob("step-*.png"))) == 2
    grids = [tmp_path / "first.png", tmp_path / "again.png"]
    for grid in grids:
        labcore_cli("sample", run, "-n", "6", "--class", "3", "--class", "5", "--seed", "1",
                    "-o", grid, check=0)  # fmt: skip
    assert Image.open(grids[0]).size[0] > 0
    assert grids[0].read_bytes() == grids[1].read_bytes()


def test_gan_mnist_recipe_on_the_mnist_test_files(tmp_path, labcore_cli, run_folder, shared_data):
    root = tmp_path / "mnist"
    shutil.copytree(shared_data("mnist"), root)
    labcore_cli("run", "gan-mnist", *TINY, "--set", f"data.root={json.dumps(str(root))}",
                "--out", tmp_path / "out", check=0)  # fmt: skip
    run = run_folder(tmp_path / "out")
    assert len(list((run / "samples").glob("step-*.png"))) == 2
