"""Quality bars of the GAN family at small scale on the 8x8 digits (fixed seeds).

Every recipe is trained through the real trainer (shortened) and evaluated with a digits
classifier trained here as the feature extractor, as the recipes' ``[evaluate]`` sections are.
"""

import json
from pathlib import Path

import pytest
import torch

from labcore.metrics.generative import build_extractor, evaluate_generative
from labcore.plugins import get_manager
from labcore.runfolder import load_data, load_model, open_run
from labcore.testing import check_recipe, run_recipe
from labcore_builtins.gan.evaluation import class_accuracy, translation_metrics

pytestmark = pytest.mark.quality

FID_RATIO = 5  # a trained generator's FID is at most 1/5 of an untrained one's
MAX_1NN = 0.85


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gan-quality")


@pytest.fixture(scope="module")
def classifier_run(workdir) -> str:
    """A LeNet-5 digits classifier (the recipes' feature extractor), briefly trained."""
    run = run_recipe("classifier-digits", workdir / "classifier", steps=600)
    accuracy = json.loads((run / "metrics.json").read_text())["metrics"]["test/accuracy"]
    assert accuracy > 0.95
    return str(run)


def extractor(classifier_run: str) -> str:
    return f"evaluate.extractor={{name = \"classifier\", run = {json.dumps(classifier_run)}}}"


def train(recipe: str, steps: int, workdir: Path, classifier_run: str) -> Path:
    overrides = [extractor(classifier_run), "train.sample_every=0"]
    return run_recipe(recipe, workdir / recipe, steps=steps, overrides=overrides)


def final_metrics(run: Path) -> dict[str, float]:
    return json.loads((run / "metrics.json").read_text())["metrics"]


def untrained_fid(recipe: str, classifier_run: str) -> float:
    """The recipe's FID for its generator at initialisation (the recipe's seed)."""
    loaded = check_recipe(recipe, overrides=[extractor(classifier_run)])
    bundle = loaded.dataset_cls(loaded.dataset_config).load()
    torch.manual_seed(loaded.run.seed)
    model = loaded.model_cls(loaded.model_config, bundle.info)
    metrics, _ = evaluate_generative(model, bundle, loaded.evaluate, "cpu")
    return metrics["fid"]


@pytest.fixture(scope="module")
def wgan_run(workdir, classifier_run) -> Path:
    return train("wgan-sn-digits", 2000, workdir, classifier_run)


def check_generator(recipe: str, run: Path, classifier_run: str) -> dict[str, float]:
    metrics = final_metrics(run)
    untrained = untrained_fid(recipe, classifier_run)
    print(f"{recipe}: fid {metrics['fid']:.2f} (untrained {untrained:.1f}), "
          f"1nn {metrics['1nn']:.3f}, kid {metrics['kid']:.4g}")  # fmt: skip
    assert metrics["fid"] <= untrained / FID_RATIO
    assert metrics["1nn"] <= MAX_1NN
    return metrics


def test_gan_beats_its_untrained_self(workdir, classifier_run):
    check_generator("gan-digits", train("gan-digits", 800, workdir, classifier_run), classifier_run)


def test_wgan_beats_its_untrained_self(wgan_run, classifier_run):
    check_generator("wgan-sn-digits", wgan_run, classifier_run)


def test_wgan_critic_estimate_falls_over_training(wgan_run):
    values = [r["wasserstein"] for r in open_run(wgan_run).log() if "wasserstein" in r]
    window = max(1, len(values) // 10)
    smoothed = [sum(values[i : i + window]) / window for i in range(len(values) - window + 1)]
    print(f"wgan critic estimate: peak {max(smoothed):.3f}, last {smoothed[-1]:.3f}")
    assert smoothed[-1] < 0.5 * max(smoothed)


@pytest.mark.heavy
def test_cgan_obeys_its_labels(workdir, classifier_run):
    run = train("cgan-digits", 800, workdir, classifier_run)
    check_generator("cgan-digits", run, classifier_run)
    model, recipe, info = load_model(run)
    classifier = build_extractor(recipe["evaluate"]["extractor"], "cpu", get_manager())
    accuracy = class_accuracy(model, classifier, info["value_range"], info["num_classes"])
    print(f"cgan-digits: class accuracy {accuracy['class_accuracy']:.3f}")
    assert accuracy["class_accuracy"] >= 0.8


def translation_scores(run: Path) -> dict[str, dict[str, float]]:
    """FID, L1 and PSNR on the test split of a translation run, and of copying its input."""
    model, recipe, info = load_model(run)
    loaded = check_recipe(run / "recipe.toml", overrides=['evaluate.metrics=["fid"]'])
    split = load_data(recipe).split("test")
    return translation_metrics(model, split, loaded.evaluate, info["value_range"], "cpu",
                               get_manager())  # fmt: skip


@pytest.mark.heavy
def test_pix2pix_beats_copying_the_input_and_the_l1_unet(workdir, classifier_run):
    scores = {
        recipe: translation_scores(train(recipe, 800, workdir, classifier_run))
        for recipe in ("pix2pix-edges2digits", "unet-l1-edges2digits")
    }
    pix2pix = scores["pix2pix-edges2digits"]["model"]
    copy = scores["pix2pix-edges2digits"]["copy-input"]
    l1_unet = scores["unet-l1-edges2digits"]["model"]
    print(f"pix2pix {pix2pix}\nL1 U-Net {l1_unet}\ncopy-input {copy}")
    assert pix2pix["fid"] < copy["fid"] / 5
    assert pix2pix["l1"] < 0.5 * copy["l1"] and pix2pix["psnr"] > copy["psnr"] + 6
    assert pix2pix["fid"] < l1_unet["fid"]


def test_toy_gan_covers_the_ring(workdir):
    run = run_recipe("gan-toy", workdir / "gan-toy", steps=3000,
                     overrides=["train.sample_every=0", "train.eval_every=0"])  # fmt: skip
    metrics = final_metrics(run)
    print(f"gan-toy: {metrics['test/modes_covered']:.0f} modes, "
          f"high quality {metrics['test/high_quality']:.3f}")  # fmt: skip
    assert metrics["test/modes_covered"] >= 7 and metrics["test/high_quality"] >= 0.5
