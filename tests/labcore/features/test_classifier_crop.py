"""A trained classifier measuring padded images on its own input size (center_crop)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from labcore.features.classifier import ClassifierInputConfig, TrainedClassifierFeatures


class Net(nn.Module):
    """A linear classifier of 1x6x6 images whose features are the flattened pixels."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(36, 3)

    def features(self, x):
        return x.flatten(1)

    def forward(self, x):
        return self.linear(x.flatten(1))


def extractor(center_crop: bool) -> TrainedClassifierFeatures:
    info = {"shape": (1, 6, 6), "value_range": (0.0, 1.0)}
    return TrainedClassifierFeatures(ClassifierInputConfig(center_crop), Net(), info, "test")


def test_padded_images_are_measured_on_the_original_pixels():
    x = torch.rand(4, 1, 6, 6)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2), value=0.0)
    measure = extractor(True)
    got, want = measure.extract(padded), measure.extract(x)
    assert torch.equal(got["features"], x.flatten(1))
    assert torch.equal(got["logits"], want["logits"])


def test_without_center_crop_or_with_an_odd_margin_the_size_is_refused():
    with pytest.raises(ValueError, match="center_crop = true"):
        extractor(False).extract(torch.rand(2, 1, 10, 10))
    with pytest.raises(ValueError, match="takes images of shape"):
        extractor(True).extract(torch.rand(2, 1, 9, 9))
