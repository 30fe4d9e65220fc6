"""The classifier extractor: a trained classifier run's penultimate features and logits."""

import pytest
import torch
from torch import nn

import labcore.runfolder
from labcore.features import ClassifierFeatures, state_dict_sha256
from labcore.metrics import EvaluateConfig, evaluate_generative
from labcore.plugins import get_manager


class TinyClassifier(nn.Module):
    """What a classifier run gives: features(x) (N, 6) and forward(x) logits (N, 3)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(16, 6), nn.ReLU())
        self.head = nn.Linear(6, 3)

    def features(self, x):
        return self.body(x)

    def forward(self, x):
        return self.head(self.features(x))


@pytest.fixture
def classifier_run(monkeypatch, tmp_path):
    """A run folder whose loading gives a TinyClassifier (the loader is stubbed)."""
    (tmp_path / "recipe.toml").write_text("")
    model = TinyClassifier()
    info = {"shape": (1, 4, 4), "num_classes": 3, "value_range": (0.0, 1.0)}
    loaded = []

    def load_model(run_dir, device="cpu", manager=None):
        loaded.append(run_dir)
        return model.to(device).eval(), {"model": {"name": "tiny"}}, info

    monkeypatch.setattr(labcore.runfolder, "load_model", load_model)
    return model, loaded, tmp_path


def test_features_and_logits_in_the_classifiers_value_range(classifier_run):
    model, loaded, run = classifier_run
    extractor = ClassifierFeatures(ClassifierFeatures.Config(run=str(run)))
    assert loaded == [run] and extractor.source == str(run)
    images = torch.rand(5, 1, 4, 4)
    out = extractor.extract(images * 2 - 1, value_range=(-1.0, 1.0))
    torch.testing.assert_close(out["features"], model.features(images))
    torch.testing.assert_close(out["logits"], model(images))
    assert extractor.weights_sha256 == state_dict_sha256(model)


def test_wrong_image_shape_and_missing_run_are_explained(classifier_run):
    extractor = ClassifierFeatures(ClassifierFeatures.Config(run=str(classifier_run[2])))
    with pytest.raises(ValueError, match=r"takes images of shape \(1, 4, 4\)"):
        extractor.extract(torch.rand(2, 3, 4, 4))
    with pytest.raises(ValueError, match="classifier-digits"):
        ClassifierFeatures(ClassifierFeatures.Config())
    with pytest.raises(FileNotFoundError, match="no run folder"):
        ClassifierFeatures(ClassifierFeatures.Config(run=str(classifier_run[2] / "elsewhere")))


def test_a_trained_classifier_run_measures_digits(tmp_path, labcore_cli):
    """End to end: train classifier-digits briefly, then evaluate a generator with it."""
    labcore_cli("run", "classifier-digits", "--set", "train.max_steps=2", "--out", str(tmp_path),
                check=0)
    runs = str(tmp_path / "classifier-digits")
    extractor = ClassifierFeatures(ClassifierFeatures.Config(run=runs))
    assert extractor.source.startswith(runs)
    digits = get_manager().get("dataset", "digits")
    bundle = digits(digits.Config()).load()
    test_images = bundle.split("test")["x"]

    class Replay(nn.Module):
        """Samples drawn from the test images themselves: a perfect generator."""

        def sample(self, n, *, generator, condition=None):
            return test_images[torch.randint(len(test_images), (n,), generator=generator)]

    config = EvaluateConfig(
        metrics=["fid", "1nn", "is"], num_samples=100, is_splits=2,
        extractor={"name": "classifier", "run": runs}, cache_dir=str(tmp_path / "cache"),
    )
    metrics, details = evaluate_generative(Replay(), bundle, config, "cpu")
    assert details["extractor"]["weights_sha256"] == extractor.weights_sha256
    assert details["extractor"]["source"] == extractor.source
    assert 0.0 <= metrics["1nn"] <= 1.0 and metrics["fid"] >= 0.0 and metrics["is"] >= 1.0
