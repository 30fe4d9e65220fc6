"""Quality bars: LeNet-5 reaches 97% test accuracy on digits and on the MNIST 8k/2k split; the
classic CNNs reach 98.5% on that split padded to 32x32 (minutes each: heavy)."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def final_metrics(folder: Path) -> dict[str, float]:
    return json.loads((folder / "metrics.json").read_text())["metrics"]


@pytest.mark.quality
def test_lenet5_reaches_97_percent_on_digits(tmp_path, labcore_cli, run_folder):
    labcore_cli("run", "lenet5-digits", "--out", tmp_path, cwd=ROOT, check=0)
    metrics = final_metrics(run_folder(tmp_path))
    assert metrics["test/accuracy"] >= 0.97, metrics


@pytest.mark.quality
def test_lenet5_reaches_97_percent_on_the_mnist_test_set_split(
    tmp_path, labcore_cli, run_folder, shared_data
):
    shared_data("mnist")
    labcore_cli("run", "lenet5-mnist", "--out", tmp_path, cwd=ROOT, check=0)
    metrics = final_metrics(run_folder(tmp_path))
    assert metrics["test/accuracy"] >= 0.97, metrics


@pytest.mark.quality
@pytest.mark.heavy
@pytest.mark.parametrize(
    "name",
    [
        "alexnet-mnist32",
        "nin-mnist32",
        "googlenet-mnist32",
        "densenet-mnist32",
        "resnext-mnist32",
        "wide-resnet-mnist32",
    ],
)
def test_classic_cnns_reach_98_5_percent_on_mnist_32x32(
    name, tmp_path, labcore_cli, run_folder, shared_data
):
    shared_data("mnist")
    labcore_cli("run", name, "--out", tmp_path, cwd=ROOT, check=0, timeout=1800)
    metrics = final_metrics(run_folder(tmp_path))
    assert metrics["test/accuracy"] >= 0.985, metrics
