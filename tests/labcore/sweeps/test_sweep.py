"""`labcore sweep`: a grid over seeds, killed and resumed, and its report."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labcore.recipes.recipe import RecipeError
from labcore.sweeps.sweep import (
    SweepSpec,
    holds_configuration,
    next_trial,
    open_study,
    parse_grid_option,
    parse_param,
    read_spec,
    toml_value,
)

TOY_DIR = Path(__file__).parents[1] / "toy_plugins"
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


QUICK = [
    "train.max_steps=6", "train.eval_every=3", 'train.monitor="val/accuracy"',
    "train.checkpoint_every=3", "train.log_every=3", "model.step_delay=0.3",
]  # fmt: skip
POINTS = {(0.05, 4), (0.05, 8), (0.1, 4), (0.1, 8)}


def quick_sweep(out: Path, *options: str) -> list[str]:
    """`labcore sweep` of the toy over POINTS, one seed, a few steps of ~2 s per trial."""
    sets = [arg for setting in QUICK for arg in ("--set", setting)]
    return ["--plugins-dir", str(TOY_DIR), "sweep", str(TOY), *GRID[:4], "--seeds", "0", *sets,
            "--out", str(out), *options]  # fmt: skip


def configurations(folder: Path) -> dict[tuple, float | None]:
    """Each trial's (lr, hidden) and value, from the study; asserts no point ran twice."""
    study = open_study(folder, read_spec(folder))
    trials = [t for t in study.get_trials() if holds_configuration(t)]
    points = [(t.params["optimizer.lr"], t.params["model.hidden"]) for t in trials]
    assert len(points) == len(set(points)), points
    return {point: t.value for point, t in zip(points, trials)}


def test_two_sweeps_on_one_storage_share_its_trials(labcore_cli, tmp_path):
    """Two machines (two --out folders) on one study in a database outside both: the second
    runs only what the first left, including the trial the first was killed in."""
    (tmp_path / "db").mkdir()
    shared = ["--storage", f"sqlite:///{tmp_path / 'db' / 'shared.db'}", "--study", "shared"]
    first, second = tmp_path / "a" / "toy" / "shared", tmp_path / "b" / "toy" / "shared"
    command = [sys.executable, "-m", "labcore", *quick_sweep(tmp_path / "a", *shared)]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: status(first / "trial-000-seed-0") == "finished")
        wait_for(lambda: (first / "trial-001-seed-0" / "log.jsonl").is_file())
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()

    result = labcore_cli(*quick_sweep(tmp_path / "b", *shared), check=0)
    assert "sweep report" in result.stderr
    assert sorted(p.name for p in first.glob("trial-*")) == ["trial-000-seed-0", "trial-001-seed-0"]
    continued = sorted(p.name for p in second.glob("trial-*"))
    assert len(continued) == 3 and continued[0] == "trial-001-seed-0"  # the killed trial's name
    assert all(status(run) == "finished" for run in second.glob("trial-*"))
    assert not (first / "study.db").exists() and not (second / "study.db").exists()
    values = configurations(second)
    assert set(values) == POINTS and None not in values.values()
    report = (second / "report.md").read_text()
    assert report.count("| complete |") == 4
    kept = json.loads((first / "trial-000-seed-0" / "metrics.json").read_text())["metrics"]
    assert f"| {kept['val/accuracy']:.6g} ± 0 | 1 |" in report  # the first machine's trial


def test_processes_asking_together_never_run_a_grid_point_twice(tmp_path):
    """Machine b asks for a trial between machine a's look at the study and a's ask, each time:
    the trial a gets once the grid is full is closed unrun."""
    spec = SweepSpec(
        recipe=str(TOY), study="race", out=str(tmp_path), monitor="val/accuracy",
        params={"optimizer.lr": {"choices": [0.05, 0.1, 0.2]}},
        storage=f"sqlite:///{tmp_path / 'race.db'}",
    )  # fmt: skip
    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        folder.mkdir()
    study_a, study_b = (open_study(folder, spec) for folder in folders)
    ran: dict[str, list[float]] = {"a": [], "b": []}
    ask = study_a.ask

    def ask_after_b():
        trial = next_trial(study_b, spec, folders[1])
        if trial is not None:
            ran["b"].append(spec.parameters()[0].suggest(trial))
        return ask()

    study_a.ask = ask_after_b
    while (trial := next_trial(study_a, spec, folders[0])) is not None:
        ran["a"].append(spec.parameters()[0].suggest(trial))
    assert sorted(ran["a"] + ran["b"]) == [0.05, 0.1, 0.2] and ran["a"] and ran["b"]
    surplus = [t for t in study_a.get_trials() if not holds_configuration(t)]
    assert len(surplus) == 1 and surplus[0].state.name == "FAIL" and not surplus[0].params


def test_jobs_run_trials_in_parallel_with_the_results_of_one_job(labcore_cli, tmp_path):
    labcore_cli(*quick_sweep(tmp_path / "one", "--study", "s"), check=0)
    labcore_cli(*quick_sweep(tmp_path / "two", "--study", "s", "--jobs", "2"), check=0)
    one, two = (tmp_path / out / "toy" / "s" for out in ("one", "two"))
    assert configurations(two) == configurations(one) and set(configurations(one)) == POINTS
    study = open_study(two, read_spec(two))
    assert [t.state.name for t in study.get_trials()] == ["COMPLETE"] * 4
    assert len({t.user_attrs["pid"] for t in study.get_trials()}) == 2
    assert all(status(run) == "finished" for run in two.glob("trial-*"))
