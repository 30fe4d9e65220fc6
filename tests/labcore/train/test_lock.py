import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labcore.train import lock

TOY_DIR = Path(__file__).parents[1] / "toy_plugins"
TOY = TOY_DIR / "toy.toml"


def wait_for(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def start_slow_run(out: Path) -> subprocess.Popen:
    """A toy run that trains for minutes unless stopped, once it has written a checkpoint."""
    return subprocess.Popen(
        [sys.executable, "-m", "labcore", "--plugins-dir", TOY_DIR, "run", TOY, "--out", out]
        + ["--set", "model.step_delay=0.05", "--set", "train.max_steps=100000"]
        + ["--set", "train.checkpoint_every=2", "--set", "train.keep_checkpoints=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_second_writer_is_refused_naming_the_holder_then_takes_over(labcore_cli, tmp_path):
    process = start_slow_run(tmp_path / "out")
    try:
        wait_for(lambda: list((tmp_path / "out").glob("toy/*/checkpoints/step-*.pt")))
        folder = next((tmp_path / "out").glob("toy/*"))
        for args in (["resume", folder], ["evaluate", folder, "--device", "cpu"]):
            result = labcore_cli("--plugins-dir", TOY_DIR, *args, timeout=120)
            assert result.returncode == 2, result.stderr
            assert f"is in use by process {process.pid} (labcore --plugins-dir" in result.stderr
            assert "Traceback" not in result.stderr
        lines = (folder / "log.jsonl").read_text().splitlines()
        assert len(lines) == len(set(lines))
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
    # the killed holder's lock is stale: a resume takes it over and cleans half-written files
    partial = folder / "checkpoints" / f".step-4.pt.tmp-{process.pid}"
    partial.write_bytes(b"half a checkpoint")
    resumed = labcore_cli(
        "--plugins-dir", TOY_DIR, "resume", folder, "--set", "train.max_steps=1", timeout=120
    )
    assert resumed.returncode == 0, resumed.stderr
    assert not partial.exists()
    assert (folder / ".lock").read_text() == ""  # released at the end


def test_the_lock_is_exclusive_and_names_its_holder(tmp_path):
    first = lock.RunLock(tmp_path)
    first.acquire()
    with pytest.raises(lock.RunFolderUnavailable, match=rf"in use by process {os.getpid()} "):
        lock.RunLock(tmp_path).acquire()
    first.release()
    second = lock.RunLock(tmp_path)
    second.acquire()
    second.release()


def test_a_lock_file_left_by_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (tmp_path / lock.LOCK_FILE).write_text(f"{dead} labcore run old\n")
    taken = lock.RunLock(tmp_path)
    taken.acquire()
    assert (tmp_path / lock.LOCK_FILE).read_text().startswith(f"{os.getpid()} ")
    taken.release()
