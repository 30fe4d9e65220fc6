"""The classifier extractor: a trained classifier run's penultimate features and logits."""

import pytest
import torch
from torch import nn

import labcore.runfolder
from labcore.features import ClassifierFeatures, state_dict_sha256


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
def classifier_run(monkeypatch):
    model = TinyClassifier()
    info = {"shape": (1, 4, 4), "num_classes": 3, "value_range": (0.0, 1.0)}
    loaded = []

    def load_model(run_dir, device="cpu", manager=None):
        loaded.append(run_dir)
        return model.to(device).eval(), {"model": {"name": "tiny"}}, info

    monkeypatch.setattr(labcore.runfolder, "load_model", load_model)
    return model, loaded


def test_features_and_logits_in_the_classifiers_value_range(classifier_run):
    model, loaded = classifier_run
    extractor = ClassifierFeatures(ClassifierFeatures.Config(run="outputs/classifier/1"))
    assert loaded == ["outputs/classifier/1"]
    images = torch.rand(5, 1, 4, 4)
    out = extractor.extract(images * 2 - 1, value_range=(-1.0, 1.0))
    torch.testing.assert_close(out["features"], model.features(images))
    torch.testing.assert_close(out["logits"], model(images))
    assert extractor.weights_sha256 == state_dict_sha256(model)


def test_wrong_image_shape_and_missing_run_are_explained(classifier_run):
    extractor = ClassifierFeatures(ClassifierFeatures.Config(run="r"))
    with pytest.raises(ValueError, match=r"takes images of shape \(1, 4, 4\)"):
        extractor.extract(torch.rand(2, 3, 4, 4))
    with pytest.raises(ValueError, match="classifier-digits"):
        ClassifierFeatures(ClassifierFeatures.Config())
