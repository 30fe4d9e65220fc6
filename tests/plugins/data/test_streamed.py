"""STL-10 and CelebA from tiny files in their real formats, streamed, cached and resumed."""

import numpy as np
import pytest
import torch
from PIL import Image

from labcore.data import DataError, ItemSplit
from labcore.schema import build
from labcore.train.batching import Batcher
from labcore_builtins.data.celeba import Celeba
from labcore_builtins.data.stl10 import Stl10

CLASSES = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]


def write_stl10(root, n_train=40, n_test=20, n_unlabeled=30):
    """``stl10_binary`` as distributed: column-major (MATLAB) images, labels 1 to 10."""
    folder = root / "stl10_binary"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = {}
    for part, n in (("train", n_train), ("test", n_test), ("unlabeled", n_unlabeled)):
        chw = rng.integers(0, 256, (n, 3, 96, 96), dtype=np.uint8)  # image[c, row, column]
        images[part] = chw
        # column-major per channel: the bytes run down each column first
        (folder / f"{part}_X.bin").write_bytes(np.asfortranarray(chw.transpose(2, 3, 1, 0))
                                               .tobytes(order="F"))
        if part != "unlabeled":
            (folder / f"{part}_y.bin").write_bytes((np.arange(n) % 10 + 1).astype(np.uint8)
                                                   .tobytes())
    (folder / "class_names.txt").write_text("\n".join(CLASSES) + "\n")
    return images


def stl10(**section):
    section = {"val_size": 10, **section}
    return Stl10(build(Stl10.Config, section, "data")).load()


def all_items(split):
    items = [split.dataset[i] for i in range(len(split))]
    return {key: torch.stack([item[key] for item in items]) for key in items[0]}


def test_stl10_reads_the_column_major_layout_and_labels_exactly(tmp_path):
    images = write_stl10(tmp_path)
    raw = (tmp_path / "stl10_binary" / "test_X.bin").read_bytes()
    # the file's byte order, stated independently: channel, then column, then row
    assert raw[1] == images["test"][0, 0, 1, 0] and raw[96] == images["test"][0, 0, 0, 1]
    bundle = stl10(root=str(tmp_path), val_size=10, value_range=[0.0, 1.0])
    assert all(isinstance(s, ItemSplit) for s in bundle.splits.values())
    test = all_items(bundle.split("test"))
    assert torch.equal(test["x"], torch.from_numpy(images["test"]).float() / 255)
    assert test["y"].tolist() == [i % 10 for i in range(20)]
    assert {k: len(v) for k, v in bundle.splits.items()} == {"train": 30, "val": 10, "test": 20}
    assert bundle.info["class_names"] == CLASSES and bundle.info["shape"] == (3, 96, 96)


def test_stl10_unlabeled_split_options(tmp_path):
    images = write_stl10(tmp_path)
    only = stl10(root=str(tmp_path / "stl10_binary"), unlabeled="only", val_size=10)
    items = all_items(only.split("train"))
    assert set(items) == {"x"}
    assert torch.equal(items["x"], torch.from_numpy(images["unlabeled"]).float() / 127.5 - 1)
    include = stl10(root=str(tmp_path), unlabeled="include", val_size=10)
    train = include.split("train")
    assert len(train) == 30 + 30 and set(train.dataset[0]) == {"x"}


def test_stl10_resized_once_into_the_cache_equals_resized_on_the_fly(tmp_path):
    write_stl10(tmp_path, n_train=12, n_test=10, n_unlabeled=1)
    section = {"root": str(tmp_path), "size": 48, "val_size": 2}
    live = all_items(stl10(**section).split("test"))
    cache = tmp_path / "cache"
    cached = all_items(stl10(**section, cache=True, cache_dir=str(cache)).split("test"))
    assert live["x"].shape == (10, 3, 48, 48) and torch.equal(live["x"], cached["x"])
    assert len(list(cache.glob("stl10-test_X-48-*.npy"))) == 1


def test_stl10_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"does not exist; expected stl10_binary/ with "
                       r"train_X.bin.*cs.stanford.edu"):
        stl10(root=str(tmp_path / "nowhere"))
    write_stl10(tmp_path)
    (tmp_path / "stl10_binary" / "unlabeled_X.bin").unlink()
    stl10(root=str(tmp_path))  # not needed without the unlabelled split
    with pytest.raises(FileNotFoundError, match=r"stl10_binary lacks unlabeled_X.bin"):
        stl10(root=str(tmp_path), unlabeled="only")


ATTRIBUTE_NAMES = ["Bald", "Male", "Smiling"]


def write_celeba(root, n=12, partition=True, side=(20, 24)):
    """A tiny CelebA: PNG faces (lossless, so pixels are exact) listed in the attribute file."""
    folder = root / "img_align_celeba"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    lines = [str(n), " ".join(ATTRIBUTE_NAMES)]
    parts, pixels, values = [], [], []
    for i in range(n):
        name = f"{i + 1:06d}.png"
        image = rng.integers(0, 256, (side[1], side[0], 3), dtype=np.uint8)
        Image.fromarray(image).save(folder / name)
        pixels.append(image)
        row = [1 if (i >> k) & 1 else -1 for k in range(3)]
        values.append(row)
        lines.append(f"{name} " + " ".join(f"{v:2d}" for v in row))
        parts.append(f"{name} {0 if i < n - 4 else 1 if i < n - 2 else 2}")
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    if partition:
        (root / "list_eval_partition.txt").write_text("\n".join(parts) + "\n")
    return np.stack(pixels), np.array(values)


def celeba(**section):
    return Celeba(build(Celeba.Config, section, "data")).load()


def test_celeba_centre_crops_resizes_and_turns_attributes_into_classes(tmp_path):
    pixels, values = write_celeba(tmp_path)
    bundle = celeba(root=str(tmp_path), crop=16, size=16, attributes=["Smiling", "Male"],
                    value_range=[0.0, 1.0])
    assert {k: len(v) for k, v in bundle.splits.items()} == {"train": 8, "val": 2, "test": 2}
    train = all_items(bundle.split("train"))
    crop = pixels[:8, 4:20, 2:18].transpose(0, 3, 1, 2)  # 20x24: left (20-16)//2, top (24-16)//2
    assert torch.equal(train["x"], torch.from_numpy(crop).float() / 255)
    smiling, male = values[:8, 2] > 0, values[:8, 1] > 0
    assert train["y"].tolist() == (smiling * 1 + male * 2).tolist()
    assert train["attributes"].tolist() == np.stack([smiling, male], 1).astype(float).tolist()
    assert bundle.info["num_classes"] == 4
    assert bundle.info["class_names"][1] == "Smiling, not Male"
    resized = all_items(celeba(root=str(tmp_path), crop=16, size=8).split("test"))
    assert resized["x"].shape == (2, 3, 8, 8) and set(resized) == {"x"}


def test_celeba_without_partition_file_draws_a_split_and_the_cache_matches(tmp_path):
    write_celeba(tmp_path, n=20, partition=False)
    section = {"root": str(tmp_path), "crop": 18, "size": 9, "val_fraction": 0.2,
               "test_fraction": 0.2, "attributes": ["Male"]}
    live = celeba(**section)
    assert {k: len(v) for k, v in live.splits.items()} == {"train": 12, "val": 4, "test": 4}
    cached = celeba(**section, cache=True, cache_dir=str(tmp_path / "cache"), cache_workers=0)
    for name in ("train", "val", "test"):
        a, b = all_items(live.split(name)), all_items(cached.split(name))
        assert torch.equal(a["x"], b["x"]) and torch.equal(a["y"], b["y"])
    assert len(list((tmp_path / "cache").glob("celeba-18-9-*.npy"))) == 1


def test_celeba_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"lacks img_align_celeba/, list_attr_celeba.txt"):
        celeba(root=str(tmp_path))
    write_celeba(tmp_path)
    with pytest.raises(DataError, match=r"Smilling is not an attribute.*did you mean Smiling"):
        celeba(root=str(tmp_path), attributes=["Smilling"])
    with pytest.raises(DataError, match=r"cannot centre-crop 108 px from .*000001.png \(20x24\)"):
        celeba(root=str(tmp_path))
    (tmp_path / "img_align_celeba" / "000003.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"1 images listed .* \(000003.png, ...\)"):
        celeba(root=str(tmp_path), crop=16)


@pytest.mark.parametrize("workers", [0, 1])
def test_a_streamed_split_resumes_at_exactly_the_same_batches(tmp_path, workers):
    write_celeba(tmp_path, n=20, partition=False)
    bundle = celeba(root=str(tmp_path), crop=16, size=4, attributes=["Male"], test_fraction=0,
                    val_fraction=0, cache=True, cache_dir=str(tmp_path / "cache"),
                    cache_workers=0)
    split = bundle.split("train")
    straight = Batcher(split, 6, seed=3, device=torch.device("cpu"), num_workers=workers)
    batches = [straight.next() for _ in range(7)]  # three steps an epoch: crosses two epochs
    first = Batcher(split, 6, seed=3, device=torch.device("cpu"), num_workers=workers)
    for _ in range(4):
        first.next()
    resumed = Batcher(split, 6, seed=3, device=torch.device("cpu"), num_workers=workers)
    resumed.load_state(first.state())
    for expected in batches[4:]:
        got = resumed.next()
        assert torch.equal(got["x"], expected["x"]) and torch.equal(got["y"], expected["y"])
    seen = torch.cat([b["x"] for b in batches[:3]]).flatten(1)
    assert len(torch.unique(seen, dim=0)) == 18  # an epoch's batches are distinct images


def test_missing_celeba_files_are_exit_2_through_labcore_run(labcore_cli, tmp_path):
    result = labcore_cli(
        "run", "gan-digits", "--set", "data.name='celeba'", "--set", f"data.root='{tmp_path}'",
        "--set", "train.max_steps=1", "--out", tmp_path / "out",
    )
    assert result.returncode == 2, result.stderr
    assert "lacks img_align_celeba/, list_attr_celeba.txt" in result.stderr
    assert "mmlab.ie.cuhk.edu.hk" in result.stderr and "Traceback" not in result.stderr
