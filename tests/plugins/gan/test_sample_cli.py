"""`labcore sample` on GAN runs, as a user runs it: grid layouts, class ranges, the files each
suffix writes, the record beside every output."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from labcore.report.provenance import load_trained
from labcore.testing import run_recipe
from labcore_builtins.metrics.inputs import load_set

SETTINGS = ["train.sample_every=0", "evaluate.metrics=[]", "train.log_every=1"]
SCALE = 8  # 8x8 digits are drawn at 64 pixels
TILE = (8 + 2) * SCALE  # an image and its border


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory):
    return run_recipe("cgan-digits", tmp_path_factory.mktemp("runs"), steps=2, overrides=SETTINGS)


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    sizes = ["data.train_size=256", "data.val_size=64", "data.test_size=300"]
    return run_recipe("gan-toy", tmp_path_factory.mktemp("toy"), steps=2,
                      overrides=[*SETTINGS, *sizes])  # fmt: skip


def test_a_hundred_samples_fill_ten_rows_of_ten_and_the_record_says_how(
    cgan_run, tmp_path, labcore_cli
):
    grid = tmp_path / "grid.png"
    result = labcore_cli("sample", cgan_run, "-n", "100", "--class", "3", "--seed", "4",
                         "-o", grid, check=0)  # fmt: skip
    assert "wrote 100 samples" in result.stdout and "10 rows of 10" in result.stdout
    assert Image.open(grid).size == (2 * SCALE + 10 * TILE, 2 * SCALE + 10 * TILE)
    record = json.loads((tmp_path / "grid.png.json").read_text())
    trained = load_trained(cgan_run)
    assert record["run"] == str(cgan_run.resolve())
    assert record["checkpoint"] == str(cgan_run.resolve() / "checkpoints" / "last.pt")
    assert record["step"] == 2 and record["seed"] == 4 and record["classes"] == [3]
    assert record["ema"] is (trained.model.config.ema_decay > 0)
    assert record["command"].startswith("labcore sample") and "--seed 4" in record["command"]
    assert record["images_per_row"] == 10 and record["count"] == 100


def test_class_ranges_give_one_labelled_row_per_class(cgan_run, tmp_path, labcore_cli):
    ranged, every = tmp_path / "ranged.png", tmp_path / "all.png"
    result = labcore_cli("sample", cgan_run, "-n", "4", "--class", "0-9", "-o", ranged, check=0)
    assert "10 rows of 4, one per class (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)" in result.stdout
    labcore_cli("sample", cgan_run, "-n", "4", "--class", "all", "-o", every, check=0)
    assert ranged.read_bytes() == every.read_bytes()
    width, height = Image.open(ranged).size
    assert height == 2 * SCALE + 10 * TILE
    assert width > 2 * SCALE + 4 * TILE  # the class names left of the rows
    assert json.loads((tmp_path / "all.png.json").read_text())["classes"] == list(range(10))
    result = labcore_cli("sample", cgan_run, "-o", tmp_path / "x.png", "--class", "3,10", check=2)
    assert "0 to 9" in result.stderr and "--class all" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "x.png").exists()


def test_npz_samples_are_the_png_pixels_and_labcore_metrics_reads_them(
    cgan_run, tmp_path, labcore_cli
):
    arrays, folder = tmp_path / "samples.npz", tmp_path / "samples"
    for output in (arrays, folder):
        labcore_cli("sample", cgan_run, "-n", "8", "--class", "1,2", "-o", output, check=0)
    with np.load(arrays) as data:
        assert data["images"].dtype == np.uint8 and data["images"].shape == (16, 1, 8, 8)
        assert data["y"].tolist() == [1] * 8 + [2] * 8
    from_npz, from_pngs = load_set(arrays), load_set(folder)
    assert torch.equal(from_npz["images"], from_pngs["images"])
    assert (tmp_path / "samples.json").is_file()
    result = labcore_cli("metrics", folder, arrays, "--metrics", "fid,kid", "--extractor",
                         "lenet5-digits", "--json", check=0)  # fmt: skip
    metrics = json.loads(result.stdout)["metrics"]
    assert metrics["fid"] == pytest.approx(0.0, abs=1e-3)
    assert metrics["kid"] == pytest.approx(0.0, abs=1e-3)


def test_point_models_write_a_scatter_plot_csv_or_npz(toy_run, tmp_path, labcore_cli):
    result = labcore_cli("sample", toy_run, "-n", "200", "-o", tmp_path / "toy.png", check=0)
    assert "scatter plot of 200 points over 300 real ones" in result.stdout
    assert Image.open(tmp_path / "toy.png").size == (550, 550)
    labcore_cli("sample", toy_run, "-n", "5", "--seed", "2", "-o", tmp_path / "toy.csv", check=0)
    labcore_cli("sample", toy_run, "-n", "5", "--seed", "2", "-o", tmp_path / "toy.npz", check=0)
    model = load_trained(toy_run).model
    with torch.no_grad():
        expected = model.sample(5, generator=torch.Generator().manual_seed(2)).double().numpy()
    table = np.loadtxt(tmp_path / "toy.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(table, expected, rtol=1e-6)
    with np.load(tmp_path / "toy.npz") as data:
        np.testing.assert_allclose(data["points"], expected, rtol=1e-6)
    for output, message in (("folder", "-o takes .png (a scatter plot), .npz or .csv"),
                            ("grid.jpg", "unknown suffix '.jpg'")):  # fmt: skip
        result = labcore_cli("sample", toy_run, "-o", tmp_path / output, check=2)
        assert message in result.stderr and "Traceback" not in result.stderr


def test_files_labcore_did_not_write_are_kept(toy_run, tmp_path, labcore_cli):
    mine = tmp_path / "mine.png"
    mine.write_bytes(b"a picture of my own")
    result = labcore_cli("sample", toy_run, "-o", mine, check=2)
    assert "labcore did not write it" in result.stderr
    assert mine.read_bytes() == b"a picture of my own"


def test_generate_on_a_gan_names_the_model_and_the_command_that_fits(toy_run, labcore_cli):
    result = labcore_cli("generate", toy_run, check=2)
    assert "holds a 'gan' model" in result.stderr and "needs a sequence model" in result.stderr
    assert f"labcore sample {toy_run}" in result.stderr and "Traceback" not in result.stderr
