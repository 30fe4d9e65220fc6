import shutil

import pytest
import torch

from labcore_builtins.data import Digits
from labcore_builtins.data.digits import DigitsConfig
from labcore_builtins.sequence.image_rows import (
    SeqDigits,
    SeqDigitsConfig,
    SeqMnist,
    SeqMnistConfig,
    images_to_sequences,
)


def test_rows_are_read_top_to_bottom_and_pixels_in_raster_order():
    images = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    rows = images_to_sequences(images, "rows")
    assert rows.shape == (2, 4, 15)
    assert torch.equal(rows[1, 2], torch.cat([images[1, c, 2] for c in range(3)]))
    pixels = images_to_sequences(images, "pixels")
    assert pixels.shape == (2, 20, 3)
    assert torch.equal(pixels[0, 7], images[0, :, 1, 2])  # pixel 7 is row 1, column 2


def test_a_permutation_moves_the_same_pixels_in_every_image():
    images = torch.rand(3, 1, 4, 4)
    permutation = torch.randperm(16)
    sequences = images_to_sequences(images, "pixels", permutation)
    assert torch.equal(sequences[:, :, 0], images.reshape(3, 16)[:, permutation])


def test_seq_digits_keeps_the_digits_splits_and_labels():
    bundle = SeqDigits(SeqDigitsConfig()).load()
    images = Digits(DigitsConfig()).load()
    for name, split in bundle.splits.items():
        assert torch.equal(split["y"], images.splits[name]["y"])
        assert torch.equal(split["x"], images.splits[name]["x"][:, 0])
    info = bundle.info
    assert info["task"] == "classify" and info["seq_len"] == 8 and info["num_features"] == 8
    assert info["num_classes"] == 10


def test_seq_digits_permuted_and_by_pixel():
    plain = SeqDigits(SeqDigitsConfig(read="pixels")).load()
    permuted = SeqDigits(SeqDigitsConfig(read="pixels", permute=True)).load()
    again = SeqDigits(SeqDigitsConfig(read="pixels", permute=True)).load()
    assert permuted.info["seq_len"] == 64 and permuted.info["num_features"] == 1
    assert torch.equal(permuted.splits["test"]["x"], again.splits["test"]["x"])
    assert not torch.equal(permuted.splits["test"]["x"], plain.splits["test"]["x"])
    assert torch.equal(
        permuted.splits["test"]["x"].sort(1).values, plain.splits["test"]["x"].sort(1).values
    )


def test_seq_mnist_reads_the_shared_test_set_split_8000_2000(shared_data, tmp_path):
    root = tmp_path / "mnist"
    shutil.copytree(shared_data("mnist"), root)
    config = SeqMnistConfig(root=str(root), source="test-files", test_size=2000, val_size=0)
    bundle = SeqMnist(config).load()
    assert len(bundle.splits["train"]) == 8000 and len(bundle.splits["test"]) == 2000
    assert bundle.splits["train"]["x"].shape[1:] == (28, 28)
    assert bundle.info["seq_len"] == 28


def test_seq_mnist_names_the_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="data.root"):
        SeqMnist(SeqMnistConfig(root=str(tmp_path / "absent"))).load()
