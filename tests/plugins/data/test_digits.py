"""The embedded digits dataset: scikit-learn's 8x8 digits in a fixed stratified split."""

import pytest
import torch
from sklearn.datasets import load_digits as sklearn_digits

from labcore.schema import SchemaError, build
from labcore_builtins.data import Digits, load_digits
from labcore_builtins.data.splits import fraction_sizes, stratified_split


def digits(**section):
    return Digits(build(Digits.Config, section, "data")).load()


def test_load_digits_matches_scikit_learn():
    images, labels = load_digits()
    reference = sklearn_digits()
    assert images.shape == (1797, 1, 8, 8) and images.dtype == torch.float32
    assert labels.dtype == torch.int64
    assert torch.allclose(images[:, 0].double(), torch.from_numpy(reference.images) / 16)
    assert torch.equal(labels, torch.from_numpy(reference.target))


def test_bundle_has_the_info_models_need():
    bundle = digits()
    assert bundle.info == {
        "shape": (1, 8, 8),
        "num_classes": 10,
        "value_range": (-1.0, 1.0),
        "class_names": [str(d) for d in range(10)],
    }
    assert {name: len(split) for name, split in bundle.splits.items()} == {
        "train": 1258,
        "val": 180,
        "test": 359,
    }
    x = bundle.split("train")["x"]
    assert x.min() == -1.0 and x.max() == 1.0


def test_splits_are_the_stratified_split_of_all_digits():
    bundle = digits()
    images, labels = load_digits()
    indices = stratified_split(labels, fraction_sizes(len(labels), 0.1, 0.2), seed=0)
    for name, index in indices.items():
        assert torch.equal(bundle.split(name)["y"], labels[index])
        assert torch.equal(bundle.split(name)["x"], images[index] * 2 - 1)
    assert len(set(torch.cat(list(indices.values())).tolist())) == len(labels)
    for name in ("val", "test"):
        counts = torch.bincount(bundle.split(name)["y"], minlength=10)
        assert counts.max() - counts.min() <= 2, (name, counts)


def test_split_is_fixed_and_follows_the_seed():
    assert torch.equal(digits().split("test")["y"], digits().split("test")["y"])
    assert torch.equal(digits().split("test")["x"], digits().split("test")["x"])
    assert not torch.equal(digits().split("test")["x"], digits(split_seed=1).split("test")["x"])


def test_value_range_zero_one():
    x = digits(value_range=[0.0, 1.0]).split("train")["x"]
    assert x.min() == 0.0 and x.max() == 1.0


def test_bad_hyperparameters_are_refused():
    with pytest.raises(SchemaError, match="low must be below high"):
        digits(value_range=[1.0, 0.0])
    with pytest.raises(SchemaError, match="val_fraction"):
        digits(val_fraction=0.6, test_fraction=0.6)
