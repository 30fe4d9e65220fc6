"""scikit-learn's bundled 8x8 handwritten digits: the lab's embedded default dataset.

1,797 grey-level images of the digits 0-9 (about 180 per class), 8x8 pixels with values 0-16, from
the UCI "Optical Recognition of Handwritten Digits" data (Alpaydin and Kaynak 1998). They ship
inside scikit-learn, so nothing is read from disk or downloaded.
"""

from __future__ import annotations

import dataclasses

import torch

import labcore
from labcore_builtins.data.preprocess import ImageConfig, to_value_range
from labcore_builtins.data.splits import (
    check_fractions,
    fraction_sizes,
    stratified_split,
    tensor_splits,
)

DIGIT_NAMES = [str(d) for d in range(10)]


def load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits: images ``(1797, 1, 8, 8)`` float32 in ``[0, 1]``, labels ``(1797,)``
    int64."""
    # scikit-learn is imported where used: importing it costs ~0.7 s of CLI start-up.
    from sklearn.datasets import load_digits as sklearn_load_digits

    bunch = sklearn_load_digits()
    images = torch.from_numpy(bunch.images).float().div(16.0).unsqueeze(1)
    labels = torch.from_numpy(bunch.target).long()
    return images, labels


@dataclasses.dataclass
class DigitsConfig(ImageConfig):
    val_fraction: float = labcore.hp(0.1, "share of the digits in the validation split")
    test_fraction: float = labcore.hp(0.2, "share of the digits in the test split")
    split_seed: int = labcore.hp(0, "seed of the fixed stratified train/val/test split")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fractions(self.val_fraction, self.test_fraction)


class Digits(labcore.Dataset):
    """scikit-learn's 8x8 digits, 10 classes, in a fixed stratified train/val/test split.

    With the defaults: 1,258 train, 180 val and 359 test images of shape ``(1, 8, 8)``.
    """

    name = "digits"
    Config = DigitsConfig

    def load(self) -> labcore.DataBundle:
        images, labels = load_digits()
        images = to_value_range(images, self.config.value_range)
        sizes = fraction_sizes(len(labels), self.config.val_fraction, self.config.test_fraction)
        indices = stratified_split(labels, sizes, self.config.split_seed)
        splits = tensor_splits(indices, x=images, y=labels)
        info = {
            "shape": tuple(images.shape[1:]),
            "num_classes": 10,
            "value_range": tuple(self.config.value_range),
            "class_names": DIGIT_NAMES,
        }
        return labcore.DataBundle(splits=splits, info=info)
