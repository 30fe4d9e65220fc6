"""The confusion matrix against scikit-learn's, its figure and its summary."""

import pytest
import torch
from PIL import Image
from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix

from labcore.schema import build
from labcore_builtins.classifier import LeNet5, confusion_matrix, plot_confusion_matrix
from labcore_builtins.classifier.confusion import summarise
from labcore_builtins.data import Digits


@pytest.fixture(scope="module")
def model_and_split():
    torch.manual_seed(0)
    bundle = Digits(build(Digits.Config, {}, "data")).load()
    model = LeNet5(build(LeNet5.Config, {}, "model"), bundle.info)
    return model, bundle.split("test")


def test_counts_match_scikit_learn(model_and_split):
    model, split = model_and_split
    matrix = confusion_matrix(model, split, num_classes=10, batch_size=50)
    model.eval()
    with torch.no_grad():
        predicted = model(split["x"]).argmax(1)
    reference = sklearn_confusion_matrix(split["y"].numpy(), predicted.numpy(), labels=range(10))
    assert matrix.dtype == torch.int64 and matrix.shape == (10, 10)
    assert torch.equal(matrix, torch.from_numpy(reference).long())
    assert matrix.sum() == len(split)


def test_figure_is_written_as_png(tmp_path):
    matrix = torch.tensor([[5, 1, 0], [2, 7, 0], [0, 0, 9]])
    path = plot_confusion_matrix(matrix, ["cat", "dog", "bird"], tmp_path / "sub" / "cm.png", "t")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 200 and image.height > 200


def test_summary_gives_accuracy_and_main_confusions():
    matrix = torch.tensor([[5, 1, 0], [3, 7, 0], [0, 0, 9]])
    text = summarise(matrix, ["a", "b", "c"], top=2)
    assert text.startswith("Accuracy 84.00% (21 of 25 examples).")
    assert "b -> a (3), a -> b (1)" in text
