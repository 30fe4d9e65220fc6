"""Sample-based evaluation shared out over two gloo processes equals the one-process result."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("distributed_worker.py")


def toys():
    spec = importlib.util.spec_from_file_location(
        "generative_toys", Path(__file__).with_name("test_generative_eval.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def evaluate_in_processes(nproc: int, out: Path, cache: Path) -> dict:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={nproc}", WORKER, out, cache]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(list(map(str, command)), capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text())


def test_two_processes_give_the_one_process_result(tmp_path):
    toy = toys()
    one, one_details = toy.evaluate_generative(
        toy.Blobs(), toy.bundle(), toy.config(tmp_path / "one"), "cpu", registry=toy.Registry()
    )
    # 120 samples in batches of 50: one rank draws one batch, the other two (uneven shares)
    two = evaluate_in_processes(2, tmp_path / "two.json", tmp_path / "two")
    assert two["world_size"] == 2
    assert set(two["values"]) == set(one)
    for name, value in one.items():
        # FID's sums are added in another order; everything else is exactly the same
        assert two["values"][name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
    for name in ("1nn", "precision", "recall", "density", "coverage", "kid", "is"):
        assert two["values"][name] == one[name], name
    assert two["details"]["metrics"] == json.loads(json.dumps(one_details["metrics"]))
    assert two["details"]["reference"]["reused"] is False

    # the real side that two processes extracted and cached is the one-process real side
    again = evaluate_in_processes(2, tmp_path / "again.json", tmp_path / "two")
    assert again["details"]["reference"]["reused"] is True
    assert again["values"] == two["values"]
    reused, _ = toy.evaluate_generative(
        toy.Blobs(), toy.bundle(), toy.config(tmp_path / "two"), "cpu", registry=toy.Registry()
    )
    assert reused == pytest.approx(one, rel=1e-9, abs=1e-12)
