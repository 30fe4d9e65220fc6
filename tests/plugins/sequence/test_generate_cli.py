"""``labcore generate`` on damaged or foreign checkpoints: one clear line, never a traceback."""

import os
import shutil

import pytest
import torch

from labcore.testing import run_recipe

SETTINGS = ["data.max_chars=5000", "model.sample_length=10", "model.hidden_size=16",
            "train.sample_every=0"]


@pytest.fixture(scope="module")
def char_run(tmp_path_factory):
    return run_recipe("char-lstm", tmp_path_factory.mktemp("runs"), steps=1, overrides=SETTINGS)


class Payload:
    def __reduce__(self):
        return os.system, ("true",)


def foreign_weights(path):
    torch.save({"model": torch.nn.Linear(3, 2).state_dict(), "step": 1}, path)


DAMAGE = {
    "empty": (lambda path: path.write_bytes(b""), "is empty (0 bytes)"),
    "truncated": (lambda path: path.write_bytes(path.read_bytes()[:100]), "cannot be read"),
    "malicious": (lambda path: torch.save({"model": Payload()}, path),
                  "refers to posix.system, which would run code"),
    "wrong structure": (lambda path: torch.save({"weights": {}}, path), "wrong structure"),
    "another model": (foreign_weights, "is from another model"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_checkpoint_is_named_in_one_line(damage, char_run, tmp_path, labcore_cli):
    run = shutil.copytree(char_run, tmp_path / "run")
    write, words = DAMAGE[damage]
    last = run / "checkpoints" / "last.pt"
    write(last)
    result = labcore_cli("generate", run, "--length", "5", check=1)
    assert f"labcore: error: checkpoint {last}" in result.stderr and words in result.stderr
    assert "Traceback" not in result.stderr
    assert "--fallback" not in result.stderr and "weights_only" not in result.stderr
