"""Data-parallel training through torchrun, on gloo with two CPU processes."""

import json
from pathlib import Path

import pytest
import torch

TOY_DIR = Path(__file__).parent / "toy_plugins"
TOY = TOY_DIR / "toy.toml"
NO_DROPOUT = ["--set", "model.dropout=0.0", "--set", "train.max_steps=12"]


def final_state(out: Path) -> dict:
    (folder,) = [p for p in out.glob("toy/*") if p.is_dir()]
    return torch.load(folder / "checkpoints" / "last.pt", weights_only=True)


def test_two_processes_match_one_process_over_the_same_global_batches(labcore_cli, tmp_path):
    args = ["--plugins-dir", TOY_DIR, "run", TOY, *NO_DROPOUT]
    labcore_cli(*args, "--set", "train.batch_size=32", "--out", tmp_path / "one", check=0)
    result = labcore_cli(
        *args, "--set", "train.batch_size=16", "--nproc", "2", "--out", tmp_path / "two", check=0
    )
    one, two = final_state(tmp_path / "one"), final_state(tmp_path / "two")
    assert two["world_size"] == 2 and two["step"] == 12
    for key, value in one["model"].items():
        torch.testing.assert_close(two["model"][key], value, rtol=1e-5, atol=1e-6)
    # only rank 0 wrote the run folder and printed the metrics
    assert result.stdout.count("test/accuracy") == 1
    (folder,) = (tmp_path / "two").glob("toy/*")
    records = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [5, 10, 12]  # one writer, no duplicates


def test_a_distributed_checkpoint_resumes_in_one_process(labcore_cli, tmp_path):
    args = ["--plugins-dir", TOY_DIR]
    labcore_cli(
        *args,
        "run",
        TOY,
        *NO_DROPOUT,
        "--set",
        "train.batch_size=16",
        "--nproc",
        "2",
        "--out",
        tmp_path,
        check=0,
    )
    (folder,) = tmp_path.glob("toy/*")
    labcore_cli(*args, "resume", folder, "--set", "train.max_steps=20", check=0)
    state = final_state(tmp_path)
    assert state["step"] == 20 and state["world_size"] == 1


@pytest.mark.parametrize("nproc", [2])
def test_usage_error_is_reported_before_launching(labcore_cli, tmp_path, nproc):
    result = labcore_cli(
        "--plugins-dir",
        TOY_DIR,
        "run",
        TOY,
        "--set",
        "model.hiden=1",
        "--nproc",
        nproc,
        "--out",
        tmp_path,
        check=2,
    )
    assert "did you mean model.hidden" in result.stderr


@pytest.mark.parametrize("recipe", ["lenet5-digits", "gan-digits"])
def test_bundled_recipes_train_with_two_processes(labcore_cli, tmp_path, recipe):
    labcore_cli(
        "run",
        recipe,
        "--nproc",
        "2",
        "--out",
        tmp_path,
        "--set",
        "train.max_steps=4",
        "--set",
        "train.log_every=2",
        "--set",
        "evaluate.metrics=[]",
        "--set",
        "train.sample_every=0",
        check=0,
    )
    (folder,) = tmp_path.glob(f"{recipe}/*")
    state = torch.load(folder / "checkpoints" / "last.pt", weights_only=True)
    assert state["world_size"] == 2 and state["step"] == 4
    assert json.loads((folder / "status.json").read_text())["status"] == "finished"
