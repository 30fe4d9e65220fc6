"""The image-folder dataset on PNG files the tests write, and its errors."""

import numpy as np
import pytest
import torch
from PIL import Image

from labcore.schema import build
from labcore_builtins.data import ImageFolder, load_image_folder


def write_folder(root, classes, size=(6, 4), mode="L", per_class=5):
    """``per_class`` random images per class, saved as PNG; returns {path: pixels}."""
    rng = np.random.default_rng(0)
    written = {}
    channels = {"L": (), "RGB": (3,)}[mode]
    for name in classes:
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (size[1], size[0], *channels), dtype=np.uint8)
            path = root / name / f"{i:03d}.png"
            Image.fromarray(pixels, mode).save(path)
            written[path] = pixels
    return written


def image_folder(**section):
    return ImageFolder(build(ImageFolder.Config, section, "data")).load()


def test_reads_grayscale_images_with_classes_from_folder_names(tmp_path):
    written = write_folder(tmp_path, ["cat", "dog", "bird"])
    x, y, names = load_image_folder(tmp_path)
    assert names == ["bird", "cat", "dog"]
    assert x.shape == (15, 1, 4, 6) and x.dtype == torch.float32
    assert y.tolist() == [0] * 5 + [1] * 5 + [2] * 5
    first = written[tmp_path / "bird" / "000.png"]
    assert torch.allclose(x[0, 0], torch.from_numpy(first).float() / 255)


def test_reads_rgb_images_channels_first(tmp_path):
    written = write_folder(tmp_path, ["a", "b"], mode="RGB")
    x, _, _ = load_image_folder(tmp_path)
    assert x.shape == (10, 3, 4, 6)
    pixels = torch.from_numpy(written[tmp_path / "a" / "000.png"]).permute(2, 0, 1)
    assert torch.allclose(x[0], pixels.float() / 255)


def test_resize_then_centre_crop(tmp_path):
    (tmp_path / "a").mkdir()
    pixels = np.zeros((10, 20), np.uint8)
    pixels[:, 10:] = 255
    Image.fromarray(pixels).save(tmp_path / "a" / "half.png")
    x, _, _ = load_image_folder(tmp_path, resize=5, crop=4)
    assert x.shape == (1, 1, 4, 4)
    assert x[0, 0, :, 0].max() < 0.1 and x[0, 0, :, 3].min() > 0.9


def test_dataset_bundle_split_and_info(tmp_path):
    write_folder(tmp_path, ["a", "b"], per_class=10)
    bundle = image_folder(root=str(tmp_path), val_fraction=0.2, test_fraction=0.2)
    assert {k: len(v) for k, v in bundle.splits.items()} == {"train": 12, "val": 4, "test": 4}
    assert torch.bincount(bundle.split("test")["y"]).tolist() == [2, 2]
    assert bundle.info == {
        "shape": (1, 4, 6),
        "num_classes": 2,
        "value_range": (-1.0, 1.0),
        "class_names": ["a", "b"],
    }
    x = torch.cat([split["x"] for split in bundle.splits.values()])
    assert x.min() >= -1 and x.max() <= 1


def test_missing_root_names_the_folder_and_the_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere does not exist; expected root/<class"):
        image_folder(root=str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="no class sub-folders"):
        image_folder(root=str(tmp_path))


def test_empty_class_folder_is_named(tmp_path):
    write_folder(tmp_path, ["a"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty holds no images"):
        load_image_folder(tmp_path)


def test_corrupt_image_error_names_the_file(tmp_path):
    write_folder(tmp_path, ["a", "b"])
    broken = tmp_path / "b" / "002.png"
    broken.write_bytes(broken.read_bytes()[:40])
    with pytest.raises(ValueError, match=r"cannot read image .*b/002\.png"):
        load_image_folder(tmp_path)
    (tmp_path / "b" / "003.png").write_bytes(b"not an image at all")
    with pytest.raises(ValueError, match=r"cannot read image .*b/00[23]\.png"):
        load_image_folder(tmp_path)


def test_images_of_different_sizes_need_resize_and_crop(tmp_path):
    write_folder(tmp_path, ["a"], size=(6, 4))
    write_folder(tmp_path, ["b"], size=(8, 8))
    with pytest.raises(ValueError, match=r"b/000\.png is 8x8.*set data.resize and data.crop"):
        load_image_folder(tmp_path)
    x, _, _ = load_image_folder(tmp_path, resize=4, crop=4)
    assert x.shape == (10, 1, 4, 4)


def test_mixed_modes_read_as_rgb_unless_grayscale_is_asked(tmp_path):
    write_folder(tmp_path, ["a"], mode="L")
    write_folder(tmp_path, ["b"], mode="RGB")
    assert load_image_folder(tmp_path)[0].shape[1] == 3
    assert load_image_folder(tmp_path, color="grayscale")[0].shape[1] == 1
