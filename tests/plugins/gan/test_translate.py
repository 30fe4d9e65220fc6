"""``labcore translate``: a pix2pix run applied to image files, as a user runs it."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from labcore.images import to_uint8
from labcore.runfolder import load_model
from labcore.testing import run_recipe

SETTINGS = ["train.sample_every=0", "evaluate.metrics=[]", "train.log_every=1"]


@pytest.fixture(scope="module")
def pix2pix_run(tmp_path_factory):
    return run_recipe("pix2pix-edges2digits", tmp_path_factory.mktemp("runs"), steps=2,
                      overrides=SETTINGS)


def write_inputs(folder, conditions, value_range):
    folder.mkdir()
    names = []
    for i, pixels in enumerate(to_uint8(conditions, value_range)):
        name = f"edge-{i}.png"
        Image.fromarray(pixels[..., 0]).save(folder / name)
        names.append(name)
    return names


def test_each_input_file_is_translated_as_the_model_would(pix2pix_run, tmp_path, labcore_cli):
    model, _, info = load_model(pix2pix_run)
    low, high = info["value_range"]
    conditions = (torch.rand(3, *info["condition_shape"], generator=torch.Generator()
                             .manual_seed(0)) * (high - low) + low)
    names = write_inputs(tmp_path / "in", conditions, (low, high))
    result = labcore_cli("translate", pix2pix_run, tmp_path / "in", "-o", tmp_path / "out",
                         check=0)
    assert "wrote 3 PNG files" in result.stdout
    # what the files hold, back in the value range: the inputs the model should see
    seen = torch.from_numpy(to_uint8(conditions, (low, high))).permute(0, 3, 1, 2) / 255.0
    with torch.no_grad():
        expected = model.sample(3, generator=torch.Generator().manual_seed(0),
                                condition=seen * (high - low) + low)
    for name, image in zip(names, to_uint8(expected, (low, high)), strict=True):
        written = torch.from_numpy(np.asarray(Image.open(tmp_path / "out" / name)))
        assert torch.equal(written, torch.from_numpy(image[..., 0]))
    labcore_cli("translate", pix2pix_run, tmp_path / "in" / names[0], "-o", tmp_path / "g.png",
                check=0)
    assert Image.open(tmp_path / "g.png").size[0] > 0


def test_the_grid_holds_labelled_rows_of_input_output_and_target(pix2pix_run, tmp_path,
                                                                 labcore_cli):
    model, _, info = load_model(pix2pix_run)
    low, high = info["value_range"]
    conditions = torch.rand(3, *info["condition_shape"], generator=torch.Generator()
                            .manual_seed(1)) * (high - low) + low  # fmt: skip
    write_inputs(tmp_path / "in", conditions, (low, high))
    write_inputs(tmp_path / "targets", -conditions, (low, high))
    grid = tmp_path / "grid.png"
    result = labcore_cli("translate", pix2pix_run, tmp_path / "in", "--targets",
                         tmp_path / "targets", "-o", grid, check=0)  # fmt: skip
    assert "wrote 3 rows of input | output | target" in result.stdout
    pixels = np.asarray(Image.open(grid))
    scale, tile = 8, (8 + 2) * 8  # 8x8 images drawn at 64 pixels, with their border
    width, height = 2 * scale + 3 * tile, 2 * scale + 3 * tile
    top, left = pixels.shape[0] - height, pixels.shape[1] - width
    assert top > 0 and left > 0  # headers above, input names beside the rows
    for column in range(3):
        centre = left + 2 * scale + column * tile + 4 * scale
        assert (pixels[:top, centre - 10 : centre + 10] < 128).any()
    targets = to_uint8(-conditions, (low, high))[..., 0]
    cells = pixels[top:, left:][::scale, ::scale]
    for row in range(3):
        np.testing.assert_array_equal(cells[2 + row * 10 : 10 + row * 10, 22:30], targets[row])
    record = json.loads((tmp_path / "grid.png.json").read_text())
    assert record["run"] == str(pix2pix_run.resolve()) and record["step"] == 2
    assert record["targets"] == str((tmp_path / "targets").resolve())
    assert [Path(p).name for p in record["inputs"]] == ["edge-0.png", "edge-1.png", "edge-2.png"]


def test_inputs_of_another_size_and_other_runs_are_refused(pix2pix_run, tmp_path, labcore_cli):
    Image.new("L", (5, 7)).save(tmp_path / "small.png")
    result = labcore_cli("translate", pix2pix_run, tmp_path / "small.png", "-o", tmp_path / "o",
                         check=2)
    assert "is 5x7" in result.stderr and "inputs" in result.stderr
    result = labcore_cli("sample", pix2pix_run, "-o", tmp_path / "s.png")
    assert "labcore translate" in result.stderr
    gan = run_recipe("gan-digits", tmp_path / "gan", steps=1, overrides=SETTINGS)
    result = labcore_cli("translate", gan, tmp_path / "small.png", "-o", tmp_path / "o", check=2)
    assert "does not translate images" in result.stderr


def test_a_checkpoint_of_another_model_is_named_in_one_line(pix2pix_run, tmp_path, labcore_cli):
    run = shutil.copytree(pix2pix_run, tmp_path / "run")
    last = run / "checkpoints" / "last.pt"
    torch.save({"model": torch.nn.Linear(3, 2).state_dict(), "step": 1}, last)
    (tmp_path / "in").mkdir()
    result = labcore_cli("translate", run, tmp_path / "in", "-o", tmp_path / "out", check=1)
    assert f"checkpoint {last} is from another model" in result.stderr
    assert "Traceback" not in result.stderr and "--fallback" not in result.stderr
    last.write_bytes(b"")
    result = labcore_cli("translate", run, tmp_path / "in", "-o", tmp_path / "out", check=1)
    assert "is empty (0 bytes)" in result.stderr and "Traceback" not in result.stderr
