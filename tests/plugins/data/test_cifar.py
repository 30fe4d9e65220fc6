"""CIFAR-10 and CIFAR-100 from tiny files in the official formats, written by the tests."""

import os
import pickle
import tarfile

import numpy as np
import pytest
import torch

from labcore.data import DataError
from labcore.schema import build
from labcore_builtins.data.cifar import Cifar10, Cifar100, read_pickle

NAMES10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def batch(n, seed, classes=10):
    """``n`` random images as the official rows (3,072 bytes, channel first) and their labels."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), (np.arange(n) % classes).tolist()


def write_cifar10_python(folder, n=20, protocol=2):
    """``cifar-10-batches-py`` as the official one: pickled dicts with bytes keys."""
    folder.mkdir(parents=True)
    rows = {}
    for name, seed in [*((f"data_batch_{i}", i) for i in range(1, 6)), ("test_batch", 9)]:
        data, labels = batch(n, seed)
        rows[name] = (data, labels)
        content = {b"batch_label": name.encode(), b"labels": labels, b"data": data,
                   b"filenames": [f"{i}.png".encode() for i in range(n)]}
        (folder / name).write_bytes(pickle.dumps(content, protocol=protocol))
    meta = {b"num_cases_per_batch": n, b"label_names": [x.encode() for x in NAMES10],
            b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=protocol))
    return rows


def write_cifar10_binary(folder, n=20):
    folder.mkdir(parents=True)
    rows = {}
    for name, seed in [*((f"data_batch_{i}", i) for i in range(1, 6)), ("test_batch", 9)]:
        data, labels = batch(n, seed)
        rows[name] = (data, labels)
        records = np.concatenate([np.array(labels, np.uint8)[:, None], data], axis=1)
        (folder / f"{name}.bin").write_bytes(records.tobytes())
    (folder / "batches.meta.txt").write_text("\n".join(NAMES10) + "\n\n")
    return rows


def write_cifar100(folder, binary, n=40):
    folder.mkdir(parents=True)
    fine = [f"fine{i}" for i in range(100)]
    coarse = [f"coarse{i}" for i in range(20)]
    rows = {}
    for name, seed in (("train", 1), ("test", 2)):
        data, fine_labels = batch(n, seed, classes=100)
        fine_labels = [(7 * i) % 100 for i in range(n)]
        coarse_labels = [label // 5 for label in fine_labels]
        rows[name] = (data, fine_labels, coarse_labels)
        if binary:
            labels = np.array([coarse_labels, fine_labels], np.uint8).T
            (folder / f"{name}.bin").write_bytes(np.concatenate([labels, data], 1).tobytes())
        else:
            content = {b"data": data, b"fine_labels": fine_labels, b"coarse_labels": coarse_labels}
            (folder / name).write_bytes(pickle.dumps(content, protocol=2))
    if binary:
        (folder / "fine_label_names.txt").write_text("\n".join(fine))
        (folder / "coarse_label_names.txt").write_text("\n".join(coarse))
    else:
        meta = {b"fine_label_names": [x.encode() for x in fine],
                b"coarse_label_names": [x.encode() for x in coarse]}
        (folder / "meta").write_bytes(pickle.dumps(meta, protocol=2))
    return rows


def load(cls=Cifar10, **section):
    return cls(build(cls.Config, section, "data")).load()


def expected_images(rows):
    """Images from official rows, decoded independently: channel c, row r, column k of image i
    is byte ``c * 1024 + r * 32 + k`` of row i."""
    data = np.concatenate([r[0] for r in rows])
    images = np.empty((len(data), 3, 32, 32))
    for c in range(3):
        for r in range(32):
            images[:, c, r, :] = data[:, c * 1024 + r * 32 : c * 1024 + r * 32 + 32]
    return torch.from_numpy(images / 255).float()


def all_train(bundle):
    x = torch.cat([bundle.split("train")["x"], bundle.split("val")["x"]])
    y = torch.cat([bundle.split("train")["y"], bundle.split("val")["y"]])
    order = torch.argsort(x.flatten(1).sum(1) * 1000 + y)
    return x[order], y[order]


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_python_version_reads_pixels_channel_first_and_labels_exactly(tmp_path, protocol):
    rows = write_cifar10_python(tmp_path / "cifar-10-batches-py", protocol=protocol)
    bundle = load(root=str(tmp_path), val_size=10, value_range=[0.0, 1.0])
    test = bundle.split("test")
    assert torch.equal(test["x"], expected_images([rows["test_batch"]]))
    assert test["y"].tolist() == rows["test_batch"][1]
    train_rows = [rows[f"data_batch_{i}"] for i in range(1, 6)]
    x, y = all_train(bundle)
    reference = expected_images(train_rows)
    labels = torch.tensor([label for r in train_rows for label in r[1]])
    order = torch.argsort(reference.flatten(1).sum(1) * 1000 + labels)
    assert torch.equal(x, reference[order]) and torch.equal(y, labels[order])
    assert {k: len(v) for k, v in bundle.splits.items()} == {"train": 90, "val": 10, "test": 20}
    assert bundle.info == {"shape": (3, 32, 32), "num_classes": 10, "value_range": (0.0, 1.0),
                           "class_names": NAMES10}


def test_binary_version_folder_parent_and_archive_read_the_same(tmp_path):
    rows = write_cifar10_binary(tmp_path / "data" / "cifar-10-batches-bin")
    archive = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "data" / "cifar-10-batches-bin", arcname="cifar-10-batches-bin")
    bundles = [load(root=str(root), val_size=10) for root in (
        tmp_path / "data", tmp_path / "data" / "cifar-10-batches-bin", archive)]
    expected = expected_images([rows["test_batch"]]) * 2 - 1
    for bundle in bundles:
        assert torch.equal(bundle.split("test")["x"], expected)
        assert bundle.split("test")["y"].tolist() == rows["test_batch"][1]
        assert torch.equal(bundle.split("train")["x"], bundles[0].split("train")["x"])
        assert bundle.info["class_names"] == NAMES10


@pytest.mark.parametrize("binary", [False, True], ids=["python", "binary"])
def test_cifar100_fine_or_coarse_labels_from_an_archive(tmp_path, binary):
    folder = "cifar-100-binary" if binary else "cifar-100-python"
    rows = write_cifar100(tmp_path / folder, binary)
    archive = tmp_path / f"{'cifar-100-binary' if binary else 'cifar-100-python'}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / folder, arcname=folder)
    fine = load(Cifar100, root=str(archive), val_size=0)
    coarse = load(Cifar100, root=str(tmp_path), val_size=0, labels="coarse")
    data, fine_labels, coarse_labels = rows["test"]
    assert fine.split("test")["y"].tolist() == fine_labels
    assert coarse.split("test")["y"].tolist() == coarse_labels
    assert torch.equal(fine.split("test")["x"], coarse.split("test")["x"])
    assert torch.equal(fine.split("test")["x"], expected_images([rows["test"]]) * 2 - 1)
    assert fine.info["num_classes"] == 100 and fine.info["class_names"][7] == "fine7"
    assert coarse.info["num_classes"] == 20 and coarse.info["class_names"][3] == "coarse3"


class Exploit:
    def __reduce__(self):
        return (os.system, ("echo unsafe > pwned",))


def test_the_restricted_unpickler_refuses_a_pickle_that_calls_os_system(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar10_python(folder)
    (folder / "data_batch_3").write_bytes(pickle.dumps({b"data": Exploit()}, protocol=2))
    with pytest.raises(DataError, match=r"data_batch_3 cannot be read.*names posix.system"):
        load(root=str(folder))
    assert not (tmp_path / "pwned").exists() and not os.path.exists("pwned")
    with pytest.raises(DataError, match="names builtins.eval"):
        read_pickle(b"cbuiltins\neval\n(S'1'\ntR.", "x")


def test_missing_files_name_what_is_expected_and_where_it_comes_from(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"does not exist.*cifar-10-batches-py/.*"
                       r"cifar-10-binary.tar.gz.*cs.toronto.edu"):
        load(root=str(tmp_path / "nowhere"))
    expected = r"none of cifar-100-python/ \(train, test, meta\)"
    with pytest.raises(FileNotFoundError, match=expected):
        load(Cifar100, root=str(tmp_path))
    write_cifar10_python(tmp_path / "cifar-10-batches-py")
    (tmp_path / "cifar-10-batches-py" / "data_batch_4").unlink()
    with pytest.raises(FileNotFoundError, match=r"cifar-10-batches-py lacks data_batch_4 of"):
        load(root=str(tmp_path))


def test_truncated_binary_and_foreign_labels_are_named(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    write_cifar10_binary(folder)
    path = folder / "data_batch_2.bin"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DataError, match="data_batch_2.bin: .* not a whole number of 3073-byte"):
        load(root=str(folder))
    write_cifar10_binary(tmp_path / "again" / "cifar-10-batches-bin")
    (tmp_path / "again" / "cifar-10-batches-bin" / "batches.meta.txt").write_text("a\nb\n")
    with pytest.raises(DataError, match=r"label 9 is outside 0..1"):
        load(root=str(tmp_path / "again"))


def test_a_missing_archive_is_exit_2_through_labcore_run(labcore_cli, tmp_path):
    result = labcore_cli(
        "run", "lenet5-digits", "--set", "data.name='cifar10'",
        "--set", f"data.root='{tmp_path / 'cifar'}'", "--set", "train.max_steps=1",
        "--out", tmp_path / "out",
    )
    assert result.returncode == 2, result.stderr
    assert "cifar-10-python.tar.gz" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("recipe.toml"))
