"""Data-parallel training in several processes, on gloo with two CPU processes."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from labcore.testing import run_cli

TOY_DIR = Path(__file__).parent / "toy_plugins"
TOY = TOY_DIR / "toy.toml"
NO_DROPOUT = ["--set", "model.dropout=0.0", "--set", "train.max_steps=12"]


def final_state(out: Path) -> dict:
    (folder,) = [p for p in out.glob("toy/*") if p.is_dir()]
    return torch.load(folder / "checkpoints" / "last.pt", weights_only=True)


def copy_of_run(out: Path, into: Path) -> Path:
    """A copy of the toy run folder under ``out``, to resume without changing the shared run."""
    (folder,) = out.glob("toy/*")
    return Path(shutil.copytree(folder, into / "toy" / folder.name))


@pytest.fixture(scope="module")
def one_process(tmp_path_factory) -> Path:
    """The outputs folder of the toy trained 12 steps in one process, batches of 32."""
    out = tmp_path_factory.mktemp("one")
    run_cli("--plugins-dir", TOY_DIR, "run", TOY, *NO_DROPOUT, "--set", "train.batch_size=32",
            "--out", out, check=0)  # fmt: skip
    return out


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    """The same in two processes of 16 each (the same global batches): outputs folder, result."""
    out = tmp_path_factory.mktemp("two")
    result = run_cli("--plugins-dir", TOY_DIR, "run", TOY, *NO_DROPOUT, "--set",
                     "train.batch_size=16", "--nproc", "2", "--out", out, check=0)  # fmt: skip
    return out, result


def test_two_processes_match_one_process_over_the_same_global_batches(one_process, two_processes):
    out, result = two_processes
    one, two = final_state(one_process), final_state(out)
    assert two["world_size"] == 2 and two["step"] == 12
    for key, value in one["model"].items():
        torch.testing.assert_close(two["model"][key], value, rtol=1e-5, atol=1e-6)
    # only rank 0 wrote the run folder and printed the metrics
    assert result.stdout.count("test/accuracy") == 1
    (folder,) = out.glob("toy/*")
    records = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [5, 10, 12]  # one writer, no duplicates


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_machines_match_one_process_and_only_node_0_writes(one_process, tmp_path):
    """Two launchers as two nodes over 127.0.0.1, one process each; node 1's --out stands for
    the other machine's disk."""
    args = ["--plugins-dir", TOY_DIR, "run", TOY, *NO_DROPOUT]
    nodes = ["--set", "train.batch_size=16", "--nnodes", "2", "--master-addr", "127.0.0.1"]
    nodes += ["--master-port", str(_free_port())]
    command = [sys.executable, "-m", "labcore", *map(str, args), *nodes]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    launchers = [
        subprocess.Popen(
            [*command, "--node-rank", str(node), "--out", str(tmp_path / f"node-{node}")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for node in (0, 1)
    ]
    (out0, err0), (out1, err1) = (launcher.communicate(timeout=300) for launcher in launchers)
    assert [launcher.returncode for launcher in launchers] == [0, 0], err0 + err1
    one, two = final_state(one_process), final_state(tmp_path / "node-0")
    assert two["world_size"] == 2 and two["step"] == 12
    for key, value in one["model"].items():
        torch.testing.assert_close(two["model"][key], value, rtol=1e-5, atol=1e-6)
    assert out0.count("test/accuracy") == 1 and "run folder:" in err0
    assert not (tmp_path / "node-1").exists() and out1 == "" and err1 == ""


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--nnodes", "2", "--node-rank", "2", "--master-addr", "127.0.0.1"], "run from 0 to 1"),
        (["--nnodes", "2", "--node-rank", "1"], "needs --master-addr"),
        (["--master-addr", "127.0.0.1"], "go with --nproc N or --nnodes M"),
        (["--nproc", "2", "--master-port", "PORT IN USE"], "the port is not free"),
    ],
)
def test_launch_settings_that_cannot_work_are_usage_errors(labcore_cli, tmp_path, options, message):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        options = [port if option == "PORT IN USE" else option for option in options]
        result = labcore_cli("--plugins-dir", TOY_DIR, "run", TOY, *options, "--out", tmp_path)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not list(tmp_path.iterdir())


def test_a_parameter_no_loss_uses_is_left_alone_as_in_one_process(labcore_cli, tmp_path):
    args = ["--plugins-dir", TOY_DIR, "run", TOY, *NO_DROPOUT, "--set", "model.spare_head=true"]
    labcore_cli(*args, "--set", "train.batch_size=32", "--out", tmp_path / "one", check=0)
    labcore_cli(
        *args, "--set", "train.batch_size=16", "--nproc", "2", "--out", tmp_path / "two", check=0
    )
    one, two = final_state(tmp_path / "one"), final_state(tmp_path / "two")
    for key, value in one["model"].items():
        torch.testing.assert_close(two["model"][key], value, rtol=1e-5, atol=1e-6)
    assert not two["optimizers"]["main"]["state"].get(4), "the spare head got an optimizer state"


@pytest.mark.heavy
def test_a_parameter_that_drops_out_of_the_loss_needs_find_unused_always(labcore_cli, tmp_path):
    args = ["--plugins-dir", TOY_DIR, "run", TOY, *NO_DROPOUT, "--nproc", "2"]
    args += ["--set", "model.spare_head=true", "--set", "model.spare_head_until=3"]
    failed = labcore_cli(*args, "--out", tmp_path / "auto")
    assert failed.returncode != 0
    assert 'run.find_unused_parameters = "always"' in failed.stderr
    labcore_cli(
        *args, "--set", 'run.find_unused_parameters="always"', "--out", tmp_path, check=0
    )
    assert final_state(tmp_path)["step"] == 12


def test_a_distributed_checkpoint_resumes_in_one_process(labcore_cli, two_processes, tmp_path):
    folder = copy_of_run(two_processes[0], tmp_path)
    labcore_cli("--plugins-dir", TOY_DIR, "resume", folder, "--set", "train.max_steps=20",
                check=0)  # fmt: skip
    state = final_state(tmp_path)
    assert state["step"] == 20 and state["world_size"] == 1


def test_a_one_process_checkpoint_resumes_in_two_processes(labcore_cli, one_process, tmp_path):
    args = ["--plugins-dir", TOY_DIR]
    labcore_cli(*args, "run", TOY, *NO_DROPOUT, "--set", "train.batch_size=32", "--out",
                tmp_path / "straight", "--set", "train.max_steps=20", check=0)
    folder = copy_of_run(one_process, tmp_path / "resumed")
    result = labcore_cli(*args, "resume", folder, "--nproc", "2", "--set",
                         "train.max_steps=20", "--set", "train.batch_size=16", check=0)
    assert result.stderr.count("resuming") == 1  # rank 0 speaks
    straight, resumed = final_state(tmp_path / "straight"), final_state(tmp_path / "resumed")
    assert resumed["step"] == 20 and resumed["world_size"] == 2
    for key, value in straight["model"].items():
        torch.testing.assert_close(resumed["model"][key], value, rtol=1e-5, atol=1e-6)


def test_generative_evaluation_is_the_same_with_one_or_two_processes(labcore_cli, tmp_path):
    """gan-digits (two optimizers, batch norm, EMA) trains in two processes, and its final
    evaluation there equals `labcore evaluate` in one process and in two."""
    common = ["--set", "train.max_steps=2", "--set", "train.sample_every=0",
              "--set", "evaluate.num_samples=72", "--set", "evaluate.batch_size=24",
              "--set", f"evaluate.cache_dir={json.dumps(str(tmp_path / 'cache'))}"]
    # the final evaluation of a two-process run: 3 sample batches shared 1 + 2
    labcore_cli("run", "gan-digits", "--nproc", "2", *common, "--out", tmp_path, check=0)
    (folder,) = tmp_path.glob("gan-digits/*")
    state = torch.load(folder / "checkpoints" / "last.pt", weights_only=True)
    assert state["world_size"] == 2 and state["step"] == 2
    assert json.loads((folder / "status.json").read_text())["status"] == "finished"

    def metrics() -> dict:
        return json.loads((folder / "metrics.json").read_text())["metrics"]

    two = metrics()
    assert {"fid", "kid", "is", "1nn"} <= set(two)
    fresh_cache = ["--set", f"evaluate.cache_dir={json.dumps(str(tmp_path / 'cache-1'))}"]
    labcore_cli("evaluate", folder, *fresh_cache, check=0)
    one = metrics()
    fresh_cache = ["--set", f"evaluate.cache_dir={json.dumps(str(tmp_path / 'cache-2'))}"]
    result = labcore_cli("evaluate", folder, "--nproc", "2", *fresh_cache, check=0)
    assert result.stdout.count("fid:") == 1
    for name, value in one.items():
        assert two[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
        assert metrics()[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name


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


@pytest.mark.parametrize(
    ("recipe", "extra"),
    [
        ("lenet5-digits", []),
        # gan-digits: test_generative_evaluation_is_the_same_with_one_or_two_processes
        pytest.param("vaegan-digits", [], marks=pytest.mark.heavy),  # three optimizers
        # conditional discriminator, L1 + adversarial
        pytest.param("pix2pix-edges2digits", [], marks=pytest.mark.heavy),
        pytest.param(  # double backward
            "wgan-sn-digits",
            ["--set", 'model.constraint="gradient-penalty"'],
            marks=pytest.mark.heavy,
        ),
    ],
)
def test_bundled_recipes_train_with_two_processes(labcore_cli, tmp_path, recipe, extra):
    labcore_cli(
        "run",
        recipe,
        *extra,
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


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _start_long_run(tmp_path: Path):
    """`labcore run --nproc 2` of the toy for minutes, once both processes train (log written)."""
    import time

    process = subprocess.Popen(
        [sys.executable, "-m", "labcore", "--plugins-dir", TOY_DIR, "run", TOY, "--nproc", "2"]
        + ["--out", tmp_path, "--set", "train.max_steps=100000", "--set", "train.log_every=1"]
        + ["--set", "model.step_delay=0.02"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("toy/*/log.jsonl")):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.1)
    workers = _children(process.pid)
    assert len(workers) == 2
    return process, workers, next(tmp_path.glob("toy/*"))


def _assert_interrupted(process, workers, folder, signum):
    _, stderr = process.communicate(timeout=90)
    assert process.returncode == 128 + signum, stderr
    assert f"Resume with: labcore resume {folder}" in stderr
    assert stderr.count("labcore: interrupted") == 1 and "Traceback" not in stderr
    assert json.loads((folder / "status.json").read_text())["status"] == "interrupted"
    state = torch.load(folder / "checkpoints" / "last.pt", weights_only=True)
    assert state["step"] >= 1 and state["world_size"] == 2
    assert not [pid for pid in workers if _alive(pid)]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_launching_process_stops_every_process_with_a_checkpoint(
    tmp_path, signum
):
    process, workers, folder = _start_long_run(tmp_path)
    process.send_signal(signum)
    _assert_interrupted(process, workers, folder, signum)


def test_sigint_to_one_process_stops_them_all_at_the_same_step(tmp_path):
    process, workers, folder = _start_long_run(tmp_path)
    os.kill(workers[1], signal.SIGINT)
    _assert_interrupted(process, workers, folder, signal.SIGINT)


def test_a_killed_process_gives_one_line_and_stops_the_others(tmp_path):
    process, workers, folder = _start_long_run(tmp_path)
    os.kill(workers[1], signal.SIGKILL)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    errors = [line for line in stderr.splitlines() if line.startswith("labcore: error:")]
    assert errors == [
        "labcore: error: process 1 of 2 was killed by SIGKILL; the run stopped (resume it from "
        "its last checkpoint with `labcore resume`)"
    ], stderr
    assert "Traceback" not in stderr
    assert json.loads((folder / "status.json").read_text())["status"] == "failed"
    assert not [pid for pid in workers if _alive(pid)]
