"""Quality bars of the VAE family on the digits, through the bundled recipes at a reduced budget.

FIDs use the digits domain classifier (a classifier-digits run trained here) through the metrics
pipeline, as the recipes' ``[evaluate]`` sections do; untrained models are the recipes' models at
their seeded initialisation.
"""

import json

import pytest
import torch

from labcore.metrics.generative import evaluate_generative
from labcore.recipes.recipe import load
from labcore.runfolder import build_model, load_data, open_run
from labcore.testing import plugin_manager, run_recipe
from labcore.train.evaluation import model_metrics

pytestmark = pytest.mark.quality

CLASSIFIER_STEPS = 300
VAE_STEPS = 1500
COMPARISON_STEPS = 400  # the same budget for the conv VAE and the VAE-GAN


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("vae-quality")


@pytest.fixture(scope="module")
def overrides(workdir):
    """Point the recipes' metrics at a freshly trained digits classifier; no periodic grids."""
    classifier = run_recipe("classifier-digits", workdir, steps=CLASSIFIER_STEPS)
    return [
        f"evaluate.extractor={{name = \"classifier\", run = {json.dumps(str(classifier))}}}",
        f"evaluate.cache_dir={json.dumps(str(workdir / 'cache'))}",
        "train.sample_every=0",
    ]


def train(recipe, workdir, overrides, steps, extra=()):
    folder = run_recipe(recipe, workdir, steps=steps, overrides=[*overrides, *extra])
    run = open_run(folder)
    return run, run.metrics()["metrics"]


def untrained(run):
    """The recipe's model as its seed initialises it, its data and evaluate config."""
    recipe = load(str(run.dir / "recipe.toml"), plugin_manager())
    data = load_data(run.recipe)
    torch.manual_seed(recipe.run.seed)
    model = build_model(run.recipe, data.info).eval()
    return model, data, recipe.evaluate


def untrained_fid(run) -> float:
    model, data, config = untrained(run)
    return evaluate_generative(model, data, config, "cpu")[0]["fid"]


def test_vae_iwae_bound_beats_its_elbo_and_improves_with_training(workdir, overrides):
    extra = ["train.eval_every=500", 'train.eval_split="test"', 'train.monitor="test/elbo"']
    run, metrics = train("vae-digits", workdir, overrides, VAE_STEPS, extra)
    assert run.recipe["model"]["iwae_k"] == 100
    curve = [r["test/iwae"] for r in run.log() if "test/iwae" in r]
    model, data, _ = untrained(run)
    start = model_metrics(model, data, "test", 256, torch.device("cpu"))["test/iwae"]
    print(
        f"\nvae-digits test IWAE (k=100): untrained {start:.2f}, over training {curve}, "
        f"final {metrics['test/iwae']:.2f}; final ELBO {metrics['test/elbo']:.2f} nats"
    )
    assert metrics["test/iwae"] > metrics["test/elbo"]
    assert start < curve[0] < metrics["test/iwae"]

    fid0 = untrained_fid(run)
    print(f"vae-digits FID: untrained {fid0:.1f}, trained {metrics['fid']:.1f}")
    assert metrics["fid"] <= fid0 / 5


@pytest.mark.heavy
def test_vaegan_beats_the_vae_with_the_same_decoder_and_budget(workdir, overrides):
    vae_run, vae = train("vae-conv-digits", workdir, overrides, COMPARISON_STEPS)
    gan_run, gan = train("vaegan-digits", workdir, overrides, COMPARISON_STEPS)
    assert vae_run.recipe["model"]["arch"] == gan_run.recipe["model"]["arch"] == "conv"
    for key in ("z_dim", "width"):
        assert vae_run.recipe["model"][key] == gan_run.recipe["model"][key]
    fids0 = {"vae-conv": untrained_fid(vae_run), "vaegan": untrained_fid(gan_run)}
    print(
        f"\nFID after {COMPARISON_STEPS} steps: vae-conv-digits {vae['fid']:.1f} "
        f"(untrained {fids0['vae-conv']:.1f}), vaegan-digits {gan['fid']:.1f} "
        f"(untrained {fids0['vaegan']:.1f})"
    )
    assert vae["fid"] <= fids0["vae-conv"] / 5
    assert gan["fid"] <= fids0["vaegan"] / 5
    assert gan["fid"] < vae["fid"]
