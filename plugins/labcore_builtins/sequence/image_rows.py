"""Image classification as sequence classification: each image read row by row (or pixel by pixel).

An image ``(C, H, W)`` becomes a sequence of ``H`` steps of ``C * W`` features (its rows), or of
``H * W`` steps of ``C`` features (its pixels in raster order, the sequential MNIST of Le et al.
2015, "A simple way to initialize recurrent networks of rectified linear units"). With ``permute``
the pixels are first shuffled by one fixed permutation shared by every image (permuted MNIST,
ibid.), which scatters the local structure across the whole sequence.

The images, their labels and their fixed splits come from the data plugin's ``digits`` and
``mnist`` datasets; these datasets only reshape them.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import torch

import labcore
from labcore_builtins.data import Digits, Mnist
from labcore_builtins.data.digits import DigitsConfig
from labcore_builtins.data.idx import IdxConfig

Reading = Literal["rows", "pixels"]


def images_to_sequences(
    images: torch.Tensor, read: Reading = "rows", permutation: torch.Tensor | None = None
) -> torch.Tensor:
    """Images ``(N, C, H, W)`` as sequences: ``(N, H, C * W)`` by rows, ``(N, H * W, C)`` by pixels.

    ``permutation`` ``(H * W,)`` reorders the pixel positions (raster order) of every image first.
    """
    n, c, h, w = images.shape
    if permutation is not None:
        images = images.reshape(n, c, h * w)[:, :, permutation].reshape(n, c, h, w)
    if read == "rows":
        return images.permute(0, 2, 1, 3).reshape(n, h, c * w)
    return images.reshape(n, c, h * w).transpose(1, 2)


def as_sequence_bundle(
    bundle: labcore.DataBundle, read: Reading, permute: bool, permutation_seed: int
) -> labcore.DataBundle:
    """An image classification bundle with every split's ``x`` turned into sequences."""
    c, h, w = bundle.info["shape"]
    permutation = None
    if permute:
        generator = torch.Generator().manual_seed(permutation_seed)
        permutation = torch.randperm(h * w, generator=generator)
    splits = {
        name: labcore.TensorSplit(
            x=images_to_sequences(split["x"], read, permutation), y=split["y"]
        )
        for name, split in bundle.splits.items()
    }
    seq_len, num_features = splits["train"]["x"].shape[1:]
    info = {
        **bundle.info,
        "task": "classify",
        "shape": (seq_len, num_features),
        "seq_len": seq_len,
        "num_features": num_features,
        "image_shape": (c, h, w),
    }
    return labcore.DataBundle(splits=splits, info=info)


@dataclasses.dataclass
class SequenceReading:
    """How an image becomes a sequence."""

    read: Reading = labcore.hp("rows", "rows: one step per image row; pixels: one per pixel")
    permute: bool = labcore.hp(False, "shuffle the pixels by one fixed permutation first")
    permutation_seed: int = labcore.hp(0, "seed of that permutation")


@dataclasses.dataclass
class SeqDigitsConfig(DigitsConfig, SequenceReading):
    """The ``digits`` dataset's hyperparameters, and how its images are read."""


@dataclasses.dataclass(kw_only=True)
class SeqMnistConfig(IdxConfig, SequenceReading):
    """The ``mnist`` dataset's hyperparameters, and how its images are read."""


class SeqDigits(labcore.Dataset):
    """scikit-learn's 8x8 digits as sequences: 8 rows of 8 pixels (or 64 pixels), 10 classes.

    Same images and splits as the ``digits`` dataset.
    """

    name = "seq-digits"
    Config = SeqDigitsConfig

    def load(self) -> labcore.DataBundle:
        c = self.config
        return as_sequence_bundle(Digits(c).load(), c.read, c.permute, c.permutation_seed)


class SeqMnist(labcore.Dataset):
    """MNIST as sequences: 28 rows of 28 pixels (or 784 pixels), 10 classes, local IDX files.

    Same images and splits as the ``mnist`` dataset.
    """

    name = "seq-mnist"
    Config = SeqMnistConfig

    def load(self) -> labcore.DataBundle:
        c = self.config
        return as_sequence_bundle(Mnist(c).load(), c.read, c.permute, c.permutation_seed)
