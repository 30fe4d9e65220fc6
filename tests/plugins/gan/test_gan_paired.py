"""Paired image data: Sobel edges of digits, and pairs read from folders."""

import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from labcore.schema import SchemaError, build
from labcore_builtins.data import Digits
from labcore_builtins.gan.paired import (
    Edges2Digits,
    Edges2DigitsConfig,
    PairedFolder,
    PairedFolderConfig,
    edge_maps,
    sobel_magnitude,
)


def test_sobel_magnitude_matches_scipy():
    images = torch.rand(3, 2, 9, 7, generator=torch.Generator().manual_seed(0))
    got = sobel_magnitude(images)
    for n in range(3):
        for c in range(2):
            a = images[n, c].double().numpy()
            gx = ndimage.sobel(a, axis=1, mode="constant")
            gy = ndimage.sobel(a, axis=0, mode="constant")
            np.testing.assert_allclose(got[n, c].numpy(), np.hypot(gx, gy), atol=1e-5)


def test_edge_maps_threshold_each_image_against_its_own_maximum():
    square = torch.zeros(1, 1, 8, 8)
    square[..., 2:6, 2:6] = 1.0
    edges = edge_maps(torch.cat([square, 0.1 * square]), threshold=0.5)
    assert set(edges.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(edges[0], edges[1])  # the contrast does not matter, the shape does
    assert edges[0, 0, 4, 4] == 0 and edges[0, 0, 2, 2] == 1  # inside is flat, the border is not


def test_edges2digits_pairs_edge_maps_with_the_digits():
    bundle = Edges2Digits(Edges2Digits.Config()).load()
    digits = Digits(Digits.Config()).load()
    for name in ("train", "val", "test"):
        split, source = bundle.split(name), digits.split(name)
        assert torch.equal(split["x"], source["x"]) and torch.equal(split["y"], source["y"])
        assert split["condition"].shape == split["x"].shape
        assert set(split["condition"].unique().tolist()) == {-1.0, 1.0}
    assert bundle.info["condition_shape"] == bundle.info["shape"] == (1, 8, 8)
    assert bundle.info["num_classes"] == 10


def test_a_higher_threshold_keeps_fewer_edge_pixels():
    loose = Edges2Digits(Edges2Digits.Config(threshold=0.2)).load().split("test")["condition"]
    strict = Edges2Digits(Edges2Digits.Config(threshold=0.6)).load().split("test")["condition"]
    assert (strict > 0).sum() < (loose > 0).sum()


def test_source_options_are_validated_against_the_source_dataset():
    with pytest.raises(SchemaError, match=r"data.source_options.root: missing value"):
        build(Edges2DigitsConfig, {"source": "mnist"}, "data")
    with pytest.raises(SchemaError, match=r"data.source_options.split_sed: unknown key"):
        build(Edges2DigitsConfig, {"source_options": {"split_sed": 1}}, "data")


def test_edges2digits_from_the_mnist_test_files(shared_data, tmp_path):
    root = tmp_path / "mnist"
    shutil.copytree(shared_data("mnist"), root)
    options = {"root": str(root), "source": "test-files", "train_size": 300, "val_size": 100,
               "test_size": 200}  # fmt: skip
    bundle = Edges2Digits(Edges2Digits.Config(source="mnist", source_options=options)).load()
    assert bundle.split("train")["condition"].shape == (300, 1, 28, 28)
    assert len(bundle.split("test")) == 200


def save_pair_image(path, left: np.ndarray, right: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate([left, right], axis=1)).save(path)


def gradient(value: int) -> np.ndarray:
    return (np.arange(16, dtype=np.uint8).reshape(4, 4) * 8 + value).astype(np.uint8)


def test_side_by_side_pairs_in_split_folders(tmp_path):
    for split, count in (("train", 3), ("val", 2)):
        for i in range(count):
            save_pair_image(tmp_path / split / f"{i}.png", gradient(i), gradient(100 + i))
    bundle = PairedFolder(PairedFolderConfig(root=str(tmp_path))).load()
    assert set(bundle.splits) == {"train", "val"}
    train = bundle.split("train")
    assert train["condition"].shape == train["x"].shape == (3, 1, 4, 4)
    expected_a = torch.from_numpy(gradient(1)).float() / 255 * 2 - 1
    assert torch.allclose(train["condition"][1, 0], expected_a)
    assert bundle.info == {"shape": (1, 4, 4), "condition_shape": (1, 4, 4),
                           "value_range": (-1.0, 1.0)}  # fmt: skip
    flipped = PairedFolder(PairedFolderConfig(root=str(tmp_path), direction="BtoA")).load()
    assert torch.equal(flipped.split("train")["x"], train["condition"])


def test_a_and_b_folders_split_by_fractions(tmp_path):
    for i in range(10):
        for side, value in (("A", i), ("B", 200 - i)):
            (tmp_path / side).mkdir(exist_ok=True)
            Image.fromarray(gradient(value)).convert("RGB").save(tmp_path / side / f"{i:02d}.png")
    config = PairedFolderConfig(root=str(tmp_path), val_fraction=0.2, test_fraction=0.2)
    bundle = PairedFolder(config).load()
    assert [len(bundle.split(s)) for s in ("train", "val", "test")] == [6, 2, 2]
    assert bundle.info["shape"] == (3, 4, 4)


def test_unmatched_file_names_are_listed(tmp_path):
    for side, name in (("A", "a.png"), ("B", "b.png")):
        (tmp_path / side).mkdir()
        Image.fromarray(gradient(0)).save(tmp_path / side / name)
    with pytest.raises(FileNotFoundError, match=r"only in A: \['a.png'\]"):
        PairedFolder(PairedFolderConfig(root=str(tmp_path))).load()


def test_odd_width_side_by_side_images_are_explained(tmp_path):
    Image.fromarray(np.zeros((4, 7), np.uint8)).save(tmp_path / "x.png")
    with pytest.raises(ValueError, match="even width"):
        PairedFolder(PairedFolderConfig(root=str(tmp_path))).load()


def test_a_missing_folder_names_the_layouts(tmp_path):
    with pytest.raises(FileNotFoundError, match="side-by-side"):
        PairedFolder(PairedFolderConfig(root=str(tmp_path / "nothing"))).load()
