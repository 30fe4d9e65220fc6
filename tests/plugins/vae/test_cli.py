"""Every VAE-family recipe end to end through the command line, at tiny size, as a user runs it:
training, the model's bounds, FID / KID / 1-NN with a (tiny) digits classifier, the report's
figures, and ``labcore sample``."""

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from labcore.testing import run_cli
from labcore_builtins.vae.plugin import labcore_recipes

TINY = [
    "--set", "train.max_steps=2", "--set", "train.batch_size=16", "--set", "train.sample_every=1",
]  # fmt: skip
DIGITS = {
    "vae-digits": ["model.iwae_k=4"],
    "vae-conv-digits": ["model.iwae_k=4", "model.width=8"],
    "vae-2d-digits": ["model.iwae_k=4"],
    "vaegan-digits": ["model.width=8", "model.d_width=8"],
}
SAMPLED = {"vae-digits", "vaegan-digits"}  # `labcore sample` on one run of each model
MNIST = {
    "vae-mnist": ["model.iwae_k=2", "model.hidden=32"],
    "vaegan-mnist": ["model.width=4", "model.d_width=4"],
}


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """A digits classifier run trained for two steps: enough to measure with, not to trust."""
    out = tmp_path_factory.mktemp("classifier")
    run_cli("run", "classifier-digits", "--set", "train.max_steps=2", "--out", out, check=0)
    (folder,) = out.glob("classifier-digits/*")
    return folder


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    """A copy of the shared MNIST test files and a two-step classifier-mnist run on them."""
    shared = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "mnist"
    if not shared.is_dir():
        pytest.skip(f"shared test data {shared} is not available (expected beside the repository)")
    root = tmp_path_factory.mktemp("mnist") / "mnist"
    shutil.copytree(shared, root)
    out = root.parent / "classifier"
    data_root = f"data.root={json.dumps(str(root))}"
    run_cli("run", "classifier-mnist", "--set", "train.max_steps=2", "--set", data_root,
            "--out", out, check=0)  # fmt: skip
    (folder,) = out.glob("classifier-mnist/*")
    return root, folder


def metric_settings(classifier_run, cache, num_samples=100):
    return [
        "--set", 'evaluate.extractor.name="classifier"',
        "--set", f"evaluate.extractor.run={json.dumps(str(classifier_run))}",
        "--set", f"evaluate.cache_dir={json.dumps(str(cache))}",
        "--set", f"evaluate.num_samples={num_samples}",
    ]  # fmt: skip


def test_every_recipe_is_tested():
    assert {p.stem for p in labcore_recipes()} == set(DIGITS) | set(MNIST)


def check_run(folder, recipe):
    metrics = json.loads((folder / "metrics.json").read_text())["metrics"]
    assert {"fid", "kid", "1nn"} <= set(metrics)
    if recipe.startswith("vae-"):
        assert {"test/iwae", "test/elbo", "test/reconstruction_nll", "test/kl"} <= set(metrics)
    else:
        assert {"test/kl", "test/reconstruction_mse"} <= set(metrics)
    report = (folder / "report.md").read_text()
    for title in ("Prior samples", "Reconstructions", "Interpolations"):
        assert f"## {title}" in report
    for name in ("prior-samples", "reconstructions", "interpolations"):
        Image.open(folder / "report" / f"{name}.png").verify()
    return report


@pytest.mark.parametrize("recipe", sorted(DIGITS))
def test_digits_recipe_runs_end_to_end(recipe, tmp_path, classifier, labcore_cli, run_folder):
    overrides = [arg for key in DIGITS[recipe] for arg in ("--set", key)]
    args = [*TINY, *overrides, *metric_settings(classifier, tmp_path / "cache")]
    labcore_cli("run", recipe, *args, "--out", tmp_path, check=0)
    folder = run_folder(tmp_path)
    report = check_run(folder, recipe)
    assert ("## Latent space" in report) == (recipe == "vae-2d-digits")
    assert ("## Log-likelihood bounds" in report) == recipe.startswith("vae-")
    if recipe in SAMPLED:
        grid = tmp_path / "grid.png"
        labcore_cli("sample", folder, "-n", "12", "-o", grid, "--seed", "3", check=0)
        assert Image.open(grid).size == ((2 + 4 * 10) * 8, (2 + 3 * 10) * 8)  # 12 as 3 rows of 4


@pytest.mark.parametrize("recipe", sorted(MNIST))
def test_mnist_recipe_runs_end_to_end(recipe, tmp_path, mnist, labcore_cli, run_folder):
    root, classifier_run = mnist
    overrides = [arg for key in MNIST[recipe] for arg in ("--set", key)]
    args = [
        *TINY, *overrides,
        "--set", f"data.root={json.dumps(str(root))}",
        *metric_settings(classifier_run, tmp_path / "cache"),
    ]  # fmt: skip
    labcore_cli("run", recipe, *args, "--out", tmp_path, check=0)
    check_run(run_folder(tmp_path), recipe)
