"""`labcore sweep`: a grid over seeds, killed and resumed, and its report."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labcore.recipe import RecipeError
from labcore.sweep import parse_grid_option, parse_param, toml_value

TOY_DIR = Path(__file__).parent / "toy_plugins"
TOY = TOY_DIR / "toy.toml"
SETTINGS = [
    "train.max_steps=12", "train.eval_every=4", 'train.monitor="val/accuracy"',
    "train.checkpoint_every=2", "train.log_every=2", "model.step_delay=0.15",
]  # fmt: skip
GRID = ["--grid", "optimizer.lr=0.05,0.1", "--grid", "model.hidden=4,8", "--seeds", "0-1"]


def sweep_command(out: Path) -> list[str]:
    sets = [arg for setting in SETTINGS for arg in ("--set", setting)]
    return [sys.executable, "-m", "labcore", "--plugins-dir", str(TOY_DIR), "sweep", str(TOY),
            *GRID, *sets, "--out", str(out), "--study", "grid"]  # fmt: skip


def status(run: Path) -> str:
    path = run / "status.json"
    return json.loads(path.read_text())["status"] if path.is_file() else ""


def wait_for(condition, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_a_killed_grid_sweep_resumes_keeping_finished_trials(labcore_cli, tmp_path):
    folder = tmp_path / "toy" / "grid"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(sweep_command(tmp_path), env=env, stderr=subprocess.DEVNULL)
    try:
        first = [folder / "trial-000-seed-0", folder / "trial-000-seed-1"]
        interrupted = folder / "trial-001-seed-0"
        wait_for(lambda: all(status(r) == "finished" for r in first))
        wait_for(lambda: (interrupted / "checkpoints" / "last.pt").is_file()
                 and (interrupted / "log.jsonl").is_file())  # fmt: skip
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert status(interrupted) != "finished"
    kept = {r: (r / "metrics.json").stat().st_mtime_ns for r in first}
    first_log_line = (interrupted / "log.jsonl").read_text().splitlines()[0]

    result = labcore_cli("--plugins-dir", TOY_DIR, "sweep", folder, check=0)
    assert "sweep report" in result.stderr
    assert {r: (r / "metrics.json").stat().st_mtime_ns for r in first} == kept
    assert (interrupted / "log.jsonl").read_text().splitlines()[0] == first_log_line
    runs = sorted(p.name for p in folder.glob("trial-*"))
    trials = sorted({name.rsplit("-seed-", 1)[0] for name in runs})
    assert len(trials) == 4 and "trial-001" in trials  # the interrupted trial kept its folders
    assert runs == [f"{t}-seed-{s}" for t in trials for s in (0, 1)]
    assert all(status(folder / name) == "finished" for name in runs)

    report = (folder / "report.md").read_text()
    assert report.count("| complete |") == 4
    configurations = {
        (line.split("|")[2].strip(), line.split("|")[3].strip())
        for line in report.splitlines()
        if "| complete |" in line
    }
    assert configurations == {("0.05", "4"), ("0.05", "8"), ("0.1", "4"), ("0.1", "8")}
    assert "## Best configuration" in report and "## Learning curves" in report
    assert (folder / "report.html").is_file() and (folder / "report" / "curves.png").is_file()
    values = [
        json.loads((folder / name / "metrics.json").read_text())["metrics"]["val/accuracy"]
        for name in runs[:2]
    ]
    mean = sum(values) / 2
    assert f"{mean:.6g} ±" in report


def test_a_sweep_needs_a_monitored_metric(labcore_cli, tmp_path):
    result = labcore_cli("--plugins-dir", TOY_DIR, "sweep", TOY, *GRID, "--out", tmp_path)
    assert result.returncode == 2 and "set train.monitor" in result.stderr


def test_search_space_tables():
    assert parse_param("optimizer.lr", {"low": 1e-4, "high": 1e-1, "log": True}).log
    assert parse_param("model.hidden", {"low": 4, "high": 64, "step": 4}).is_int
    choice = parse_param("optimizer", {"choices": [{"name": "sgd", "momentum": 0.9}]})
    assert toml_value(choice.choices[0]) == '{name = "sgd", momentum = 0.9}'
    assert parse_grid_option("optimizer.name=sgd,adam").choices == ["sgd", "adam"]
    with pytest.raises(RecipeError, match="low > 0"):
        parse_param("optimizer.lr", {"low": 0.0, "high": 1.0, "log": True})
    with pytest.raises(RecipeError, match="choices = "):
        parse_param("optimizer.lr", {"high": 1.0})
