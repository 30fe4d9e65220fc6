"""The IDX reader and the mnist / fashion-mnist datasets, on files the tests write themselves."""

import gzip
import struct

import numpy as np
import pytest
import torch

from labcore.data import DataError
from labcore.schema import build
from labcore_builtins.data import FashionMnist, Mnist, load_idx_images, read_idx

TYPE_CODES = {
    np.uint8: 0x08,
    np.int8: 0x09,
    np.int16: 0x0B,
    np.int32: 0x0C,
    np.float32: 0x0D,
    np.float64: 0x0E,
}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array``, written from the format's description."""
    header = bytes([0, 0, TYPE_CODES[array.dtype.type], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, compress):
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def write_mnist(root, prefix, n, compress=True, seed=0):
    """A tiny IDX image/label pair: ``n`` 6x5 images with labels cycling over 0-9."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 6, 5), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    root.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if compress else ""
    write_idx(root / f"{prefix}-images-idx3-ubyte{suffix}", images, compress)
    write_idx(root / f"{prefix}-labels-idx1-ubyte{suffix}", labels, compress)
    return images, labels


def mnist(cls=Mnist, **section):
    return cls(build(cls.Config, section, "data")).load()


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_read_idx_round_trips(tmp_path, compress, dtype):
    array = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    if dtype == np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10
    result = read_idx(write_idx(tmp_path / "a.idx", array, compress))
    assert result.dtype == dtype and result.shape == (2, 3, 4)
    np.testing.assert_array_equal(result, array)


def test_read_idx_detects_gzip_by_content_not_name(tmp_path):
    array = np.arange(10, dtype=np.uint8)
    path = tmp_path / "labels-without-suffix"
    path.write_bytes(gzip.compress(idx_bytes(array)))
    np.testing.assert_array_equal(read_idx(path), array)


def test_truncated_and_foreign_files_are_named(tmp_path):
    path = tmp_path / "short-idx3-ubyte"
    path.write_bytes(idx_bytes(np.zeros((4, 3, 3), np.uint8))[:-5])
    with pytest.raises(ValueError, match="short-idx3-ubyte.*truncated"):
        read_idx(path)
    other = tmp_path / "picture.png"
    other.write_bytes(b"\x89PNG\r\n\x1a\nxxxxxxxx")
    with pytest.raises(ValueError, match="picture.png: not an IDX file"):
        read_idx(other)
    broken = tmp_path / "broken.gz"
    broken.write_bytes(gzip.compress(idx_bytes(np.zeros(100, np.uint8)))[:30])
    with pytest.raises(ValueError, match="broken.gz: corrupt gzip"):
        read_idx(broken)


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
def test_load_idx_images_scales_to_unit_range(tmp_path, compress):
    images, labels = write_mnist(tmp_path, "t10k", 20, compress)
    x, y = load_idx_images(tmp_path, "t10k")
    assert x.shape == (20, 1, 6, 5) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.allclose(x[:, 0], torch.from_numpy(images).float() / 255)
    assert torch.equal(y, torch.from_numpy(labels).long())


def test_standard_source_uses_train_files_for_train_and_val_and_t10k_for_test(tmp_path):
    train_images, _ = write_mnist(tmp_path, "train", 100, seed=1)
    test_images, test_labels = write_mnist(tmp_path, "t10k", 30, compress=False, seed=2)
    bundle = mnist(root=str(tmp_path), val_size=20, value_range=[0.0, 1.0])
    assert {k: len(v) for k, v in bundle.splits.items()} == {"train": 80, "val": 20, "test": 30}
    assert torch.equal(bundle.split("test")["x"][:, 0] * 255, torch.from_numpy(test_images).float())
    assert torch.equal(bundle.split("test")["y"], torch.from_numpy(test_labels).long())
    pool = torch.from_numpy(train_images).float() / 255
    seen = torch.cat([bundle.split("train")["x"], bundle.split("val")["x"]])[:, 0]
    assert torch.equal(seen.flatten(1).sum(1).sort().values, pool.flatten(1).sum(1).sort().values)
    assert bundle.info["shape"] == (1, 6, 5) and bundle.info["num_classes"] == 10


def test_test_files_source_splits_the_t10k_files_with_a_fixed_seed(tmp_path):
    write_mnist(tmp_path, "t10k", 100)
    section = {"root": str(tmp_path), "source": "test-files", "train_size": 60, "val_size": 0}
    section["test_size"] = 40
    bundle = mnist(**section)
    assert list(bundle.splits) == ["train", "test"]
    assert len(bundle.split("train")) == 60 and len(bundle.split("test")) == 40
    assert torch.bincount(bundle.split("test")["y"]).tolist() == [4] * 10
    again = mnist(**section)
    assert torch.equal(bundle.split("test")["x"], again.split("test")["x"])
    other = mnist(**{**section, "split_seed": 1})
    assert not torch.equal(bundle.split("test")["x"], other.split("test")["x"])
    x = bundle.split("train")["x"]
    assert x.min() >= -1 and x.max() <= 1 and x.min() < -0.9


def test_missing_root_or_files_name_the_expected_files(tmp_path):
    expected = "does not exist.*train-images-idx3-ubyte.gz.*t10k-labels-idx1-ubyte.gz"
    with pytest.raises(FileNotFoundError, match=expected):
        mnist(root=str(tmp_path / "nowhere"))
    write_mnist(tmp_path, "t10k", 20)
    expected = "lacks train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz"
    with pytest.raises(FileNotFoundError, match=expected):
        mnist(root=str(tmp_path))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"lacks t10k-labels-idx1-ubyte.gz \(gzip"):
        mnist(root=str(tmp_path), source="test-files", test_size=5)


def test_fashion_mnist_reads_the_same_files_with_its_class_names(tmp_path):
    write_mnist(tmp_path, "t10k", 20)
    section = {"root": str(tmp_path), "source": "test-files", "test_size": 10, "val_size": 0}
    bundle = mnist(FashionMnist, **section)
    assert bundle.info["class_names"][0] == "T-shirt/top"
    assert bundle.info["class_names"][9] == "Ankle boot"


def test_the_shared_mnist_test_set(shared_data):
    root = shared_data("mnist")
    x, y = load_idx_images(root, "t10k")
    assert x.shape == (10000, 1, 28, 28)
    assert y[:5].tolist() == [7, 2, 1, 0, 4]
    assert torch.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    section = {"source": "test-files", "train_size": 8000, "val_size": 0, "test_size": 2000}
    bundle = mnist(root=str(root), **section)
    assert len(bundle.split("train")) == 8000 and len(bundle.split("test")) == 2000
    test_counts = torch.bincount(bundle.split("test")["y"])
    assert (test_counts - torch.bincount(y) / 5).abs().max() <= 1


def test_a_label_beyond_the_classes_is_named_at_load(tmp_path):
    write_mnist(tmp_path, "t10k", 20)
    labels = (np.arange(20) % 10).astype(np.uint8)
    labels[13] = 10
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels, compress=True)
    section = {"root": str(tmp_path), "source": "test-files", "test_size": 10, "val_size": 0}
    expected = r"t10k-labels-idx1-ubyte.gz: label 10 of example 13 is outside 0..9"
    with pytest.raises(DataError, match=expected):
        mnist(**section)


def test_images_that_are_not_bytes_are_refused(tmp_path):
    write_mnist(tmp_path, "t10k", 20)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.full((20, 6, 5), 300, np.int16), True)
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.gz holds int16 values"):
        load_idx_images(tmp_path, "t10k")


def test_the_command_line_names_the_bad_label_file_with_exit_2(labcore_cli, tmp_path):
    write_mnist(tmp_path / "mnist", "t10k", 40)
    labels = np.full(40, 200, np.uint8)
    write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", labels, compress=True)
    result = labcore_cli(
        "run", "lenet5-mnist", "--set", f"data.root='{tmp_path / 'mnist'}'",
        "--set", "data.source='test-files'", "--set", "data.test_size=10",
        "--set", "data.val_size=0", "--set", "train.max_steps=1", "--out", tmp_path / "out",
    )
    assert result.returncode == 2, result.stderr
    assert "label 200 of example 0 is outside 0..9" in result.stderr
    assert "Traceback" not in result.stderr


def test_size_pads_the_images_evenly_with_background(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (20, 4, 4), dtype=np.uint8)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images, compress=True)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", (np.arange(20) % 10).astype(np.uint8), True)
    section = {"root": str(tmp_path), "source": "test-files", "train_size": 16, "val_size": 0,
               "test_size": 4}
    plain, padded = mnist(**section), mnist(**section, size=8)
    assert padded.info["shape"] == (1, 8, 8)
    for name in ("train", "test"):
        x = padded.split(name)["x"]
        assert torch.equal(x[:, :, 2:6, 2:6], plain.split(name)["x"])
        border = x.clone()
        border[:, :, 2:6, 2:6] = -1
        assert (border == -1).all()
    with pytest.raises(ValueError, match=r"size 7: the 4x4 images are padded evenly"):
        mnist(**section, size=7)
