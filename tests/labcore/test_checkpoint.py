import os
import pickle

import pytest
import torch

from labcore import checkpoint


def test_atomic_save_and_load_roundtrip(tmp_path):
    state = {"w": torch.arange(4.0), "step": 3, "nested": {"t": (1, 2)}}
    path = tmp_path / "ck" / "last.pt"
    checkpoint.atomic_save(state, path)
    loaded = checkpoint.load(path)
    assert torch.equal(loaded["w"], state["w"]) and loaded["step"] == 3
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]  # no temporary left behind


def test_truncated_checkpoint_names_the_file(tmp_path):
    path = tmp_path / "last.pt"
    checkpoint.atomic_save({"w": torch.zeros(1000)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(checkpoint.CheckpointError, match="last.pt cannot be read"):
        checkpoint.load(path)


class Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_a_checkpoint_cannot_run_code(tmp_path):
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"model": Payload()}))
    with pytest.raises(checkpoint.CheckpointError):
        checkpoint.load(path)


def test_fallback_only_when_asked(tmp_path):
    checkpoint.atomic_save({"step": 10}, tmp_path / "step-10.pt")
    checkpoint.atomic_save({"step": 20}, tmp_path / "step-20.pt")
    (tmp_path / "last.pt").write_bytes(b"garbage")
    with pytest.raises(checkpoint.CheckpointError, match="--fallback"):
        checkpoint.load_latest(tmp_path, fallback=False)
    state, path, warnings = checkpoint.load_latest(tmp_path, fallback=True)
    assert state["step"] == 20 and path.name == "step-20.pt" and "last.pt" in warnings[0]


def test_prune_keeps_newest(tmp_path):
    for step in (5, 10, 15, 20):
        checkpoint.atomic_save({"step": step}, tmp_path / f"step-{step}.pt")
    checkpoint.prune(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-15.pt", "step-20.pt"]


def test_rng_state_roundtrip_through_a_checkpoint(tmp_path):
    import random

    import numpy as np

    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    checkpoint.atomic_save({"rng": checkpoint.rng_state()}, tmp_path / "r.pt")
    first = (torch.rand(3), np.random.rand(3), random.random())
    checkpoint.set_rng_state(checkpoint.load(tmp_path / "r.pt")["rng"])
    second = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(first[0], second[0])
    assert (first[1] == second[1]).all() and first[2] == second[2]
