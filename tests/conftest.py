"""Shared test helpers: run the ``labcore`` command line as a user would, in a subprocess."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

# One thread per process: the suite runs tiny models, several processes at once (torchrun tests,
# CLI subprocesses), where a second OpenMP thread per process only adds contention. Subprocesses
# inherit the variable; this process is already importing torch, so it is told directly too.
os.environ["OMP_NUM_THREADS"] = "1"
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
TOY_PLUGINS = Path(__file__).parent / "labcore" / "toy_plugins"


def run_labcore(*args, cwd=None, env=None, timeout=300, check=None):
    """Run ``python -m labcore ARGS``; returns the CompletedProcess (text output)."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    result = subprocess.run(
        [sys.executable, "-m", "labcore", *map(str, args)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check is not None and result.returncode != check:
        raise AssertionError(
            f"labcore {' '.join(map(str, args))} exited {result.returncode}, expected {check}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


def single_run(out: Path) -> Path:
    """The one run folder under ``out`` (``out/<name>/<timestamp>``)."""
    runs = [p for p in out.glob("*/*") if (p / "recipe.toml").is_file()]
    assert len(runs) == 1, runs
    return runs[0]


def find_shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test when that folder is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data {path} is not available (expected beside the repository)")
    return path


@pytest.fixture
def labcore_cli():
    """``labcore_cli(*args, check=0)``: run the command line in a subprocess."""
    return run_labcore


@pytest.fixture
def run_folder():
    """``run_folder(out)``: the single run folder a ``labcore run --out out`` created."""
    return single_run


@pytest.fixture
def shared_data():
    """``shared_data("mnist")``: a path under ../shared/data; skips the test when absent."""
    return find_shared_data
