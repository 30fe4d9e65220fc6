"""``labcore translate``: a pix2pix run applied to image files, as a user runs it."""

import shutil

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
