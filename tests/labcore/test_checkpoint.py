import json
import os
import pickle
from pathlib import Path

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
        checkpoint.load_latest(tmp_path, fallback=False, fallback_hint=". Pass --fallback")
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


TOY_DIR = Path(__file__).parent / "toy_plugins"
TOY = TOY_DIR / "toy.toml"


def toy_run(labcore_cli, out, *settings, check=0):
    args = [f"--set={setting}" for setting in ("train.max_steps=20", *settings)]
    return labcore_cli("--plugins-dir", TOY_DIR, "run", TOY, *args, "--out", out, check=check)


@pytest.mark.parametrize("bad_step", [15, 20])  # a periodic checkpoint, the final one
def test_non_finite_weights_never_replace_a_good_checkpoint(
    bad_step, labcore_cli, run_folder, tmp_path
):
    result = toy_run(
        labcore_cli, tmp_path, "train.checkpoint_every=5", "train.keep_checkpoints=5",
        f"model.inf_grad_at_step={bad_step}", check=1,
    )
    assert f"parameter 'net.0.weight' is not finite (NaN or infinity) at step {bad_step}" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    folder = run_folder(tmp_path)
    state = checkpoint.load(folder / "checkpoints" / "last.pt")
    assert state["step"] == bad_step - 5
    assert all(t.isfinite().all() for t in state["model"].values())
    assert not (folder / "checkpoints" / f"step-{bad_step}.pt").exists()
    assert json.loads((folder / "status.json").read_text())["status"] == "failed"


def test_first_non_finite_names_parameters_then_optimizer_state():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 2)).sum().backward()
    optimizer.step()
    assert checkpoint.first_non_finite(model, {"main": optimizer}) is None
    optimizer.state[model[1].bias]["exp_avg_sq"].fill_(float("inf"))
    assert checkpoint.first_non_finite(model, {"main": optimizer}) == (
        "optimizer 'main' state 'exp_avg_sq' of '1.bias'"
    )
    with torch.no_grad():
        model[1].weight[0, 1] = float("nan")
    assert checkpoint.first_non_finite(model, {"main": optimizer}) == "parameter '1.weight'"
    with pytest.raises(checkpoint.NonFiniteState, match="parameter '1.weight'.*at step 7"):
        checkpoint.check_finite(model, {"main": optimizer}, 7)


def test_load_weights_names_the_wrong_structure_another_model_and_non_finite(tmp_path):
    model = torch.nn.Linear(3, 2)
    path = tmp_path / "last.pt"
    with pytest.raises(checkpoint.CheckpointError, match="last.pt has the wrong structure"):
        checkpoint.load_weights(model, {"weights": model.state_dict()}, path)
    with pytest.raises(checkpoint.CheckpointError, match="last.pt is from another model.*size"):
        checkpoint.load_weights(model, {"model": torch.nn.Linear(4, 2).state_dict()}, path)
    with pytest.raises(checkpoint.CheckpointError, match="another model.*Missing key"):
        checkpoint.load_weights(model, {"model": {"weight": model.weight.detach()}}, path)
    bad = {k: v.clone() for k, v in model.state_dict().items()}
    bad["bias"][0] = float("inf")
    with pytest.raises(checkpoint.CheckpointError, match="parameter 'bias' that is not finite"):
        checkpoint.load_weights(model, {"model": bad}, path)


def test_an_empty_checkpoint_says_so(tmp_path):
    (tmp_path / "last.pt").write_bytes(b"")
    with pytest.raises(checkpoint.CheckpointError, match=r"last.pt is empty \(0 bytes\)"):
        checkpoint.load(tmp_path / "last.pt")


def test_a_malicious_checkpoint_is_named_without_advice_to_trust_it(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": Payload()}, path)
    with pytest.raises(checkpoint.CheckpointError) as error:
        checkpoint.load(path)
    message = str(error.value)
    assert "evil.pt refers to posix.system" in message and "would run code" in message
    assert "weights_only" not in message and "trust" not in message


def test_fallback_advice_only_where_asked_for(tmp_path):
    (tmp_path / "last.pt").write_bytes(b"garbage")
    with pytest.raises(checkpoint.CheckpointError) as error:
        checkpoint.load_latest(tmp_path, fallback=False)
    assert "--fallback" not in str(error.value) and "weights_only" not in str(error.value)
