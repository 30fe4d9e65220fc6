"""Finding and listing runs: `labcore runs`, the main metric, ages and statuses."""

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from labcore import measurement
from labcore.cli import report as report_cli
from labcore.report import listing as runs
from labcore.runfolder import open_run


def make_run(
    folder: Path,
    *,
    status: dict | None = None,
    metrics: dict | None = None,
    evaluate: dict | None = None,
    log: list | None = None,
) -> Path:
    folder.mkdir(parents=True)
    recipe = {
        "run": {"name": folder.parent.name},
        "data": {"name": "d"},
        "model": {"name": "m"},
        "evaluate": evaluate or {"split": "test", "metrics": []},
    }
    (folder / "recipe.toml").write_text(tomli_w.dumps(recipe))
    if status is not None:
        (folder / "status.json").write_text(json.dumps(status))
    if metrics is not None:
        (folder / "metrics.json").write_text(json.dumps({"step": 1, "metrics": metrics}))
    if log is not None:
        (folder / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
    return folder


def test_find_runs_accepts_run_folders_and_folders_of_runs(tmp_path):
    a = make_run(tmp_path / "out" / "a" / "20260101-000000")
    b = make_run(tmp_path / "out" / "b" / "20260102-000000")
    (tmp_path / "out" / "b" / "notes").mkdir()
    assert [r.dir for r in runs.find_runs([tmp_path / "out"])] == [a.resolve(), b.resolve()]
    assert [r.dir for r in runs.find_runs([b, tmp_path / "out"])] == [b.resolve(), a.resolve()]
    with pytest.raises(ValueError, match="neither a run folder nor a folder of runs"):
        runs.find_runs([tmp_path / "out" / "b" / "notes"])
    with pytest.raises(ValueError, match="is not a folder"):
        runs.find_runs([tmp_path / "missing"])


def test_main_metric_prefers_named_metrics_then_the_evaluation_split(tmp_path):
    generative = make_run(
        tmp_path / "g" / "1",
        metrics={"test/accuracy": 0.9, "kid": 0.1, "kid_std": 0.01, "fid": 12.0},
        evaluate={"split": "test", "metrics": ["kid", "fid"]},
    )
    assert runs.main_metric(open_run(generative)) == ("kid", 0.1)
    classifier = make_run(
        tmp_path / "c" / "1", metrics={"val/accuracy": 0.8, "test/loss": 0.3, "test/accuracy": 0.9}
    )
    assert runs.main_metric(open_run(classifier)) == ("test/accuracy", 0.9)
    training = make_run(
        tmp_path / "t" / "1",
        log=[
            {"step": 5, "time": 1.0, "loss": 2.0, "lr/main": 0.1},
            {"step": 5, "val/accuracy": 0.5},
            {"step": 10, "time": 2.0, "loss": 1.5, "lr/main": 0.1},
            {"step": 10, "val/accuracy": 0.6},
        ],
    )
    assert runs.main_metric(open_run(training)) == ("loss", 1.5)
    assert runs.main_metric(open_run(make_run(tmp_path / "e" / "1"))) is None


def test_lower_is_better_reads_the_metric_name():
    lower = measurement.lower_is_better
    assert all(map(lower, ["fid", "kid_std", "test/loss", "val/bits_per_char"]))
    assert not any(map(lower, ["test/accuracy", "is", "precision", "coverage"]))


def test_ages_and_start_times():
    assert [runs.age(s) for s in (5, 59, 60, 3599, 3600, 86399, 86400 * 3)] == [
        "5s", "59s", "1m", "59m", "1h", "23h", "3d",
    ]  # fmt: skip
    start = runs.started(Path("/o/x/20260102-030405-1"))
    assert start == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def test_runs_command_lists_status_step_metric_and_age(tmp_path):
    out = tmp_path / "outputs"
    states = {
        "20260101-000000": {"status": "finished", "step": 100, "max_steps": 100},
        "20260102-000000": {"status": "failed", "step": 3, "max_steps": 100},
        "20260103-000000": {"status": "interrupted", "step": 40, "max_steps": 100},
        "20260104-000000": {"status": "running", "step": 50, "max_steps": 100},
    }
    for stamp, status in states.items():
        make_run(out / "toy" / stamp, status=status, metrics={"test/accuracy": 0.5})
    make_run(out / "toy" / "20260105-000000", log=[{"step": 5, "time": 1.0, "loss": 0.25}])
    result = CliRunner().invoke(report_cli.runs, [str(out)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == [
        "RUN", "STATUS", "STEP", "MAIN", "METRIC", "MEASURED", "WITH", "AGE",
    ]  # fmt: skip
    rows = [line.split() for line in lines[1:]]
    assert [Path(r[0]).name for r in rows] == sorted(
        [*states, "20260105-000000"], reverse=True
    )  # newest first
    assert [r[1:3] for r in rows] == [
        ["unknown", "5"],
        ["running", "50/100"],
        ["interrupted", "40/100"],
        ["failed", "3/100"],
        ["finished", "100/100"],
    ]
    assert rows[0][3:5] == ["loss", "0.25"] and rows[1][3:5] == ["test/accuracy", "0.5"]
    assert all(r[5] == "-" for r in rows)  # no sample-based metrics: nothing measured them
    assert all(r[6].endswith("d") for r in rows)


def test_runs_command_without_runs(tmp_path):
    result = CliRunner().invoke(report_cli.runs, [str(tmp_path)])
    assert result.exit_code == 0 and "no runs under" in result.output
    result = CliRunner().invoke(report_cli.runs, [str(tmp_path / "missing")])
    assert result.exit_code == 2 and "is not a folder" in result.output


def test_runs_command_from_the_command_line(labcore_cli, tmp_path):
    folder = make_run(
        tmp_path / "toy" / "20260101-000000",
        status={"status": "finished", "step": 20, "max_steps": 20},
        metrics={"val/accuracy": 0.5, "test/accuracy": 0.75},
    )
    result = labcore_cli("runs", tmp_path, check=0)
    assert result.stdout.splitlines()[1].split()[:5] == [
        str(folder), "finished", "20/20", "test/accuracy", "0.75",
    ]  # fmt: skip


def test_runs_shows_exactly_the_statuses_its_help_lists(labcore_cli, tmp_path):
    help_text = " ".join(labcore_cli("runs", "--help", check=0).stdout.split())
    listed = re.search(r"status \(([^)]*)\)", help_text).group(1)
    assert re.findall(r"[a-z]+", listed.split(" for ")[0]) == [*runs.STATUSES[:-1], "or", "unknown"]
    out = tmp_path / "outputs"
    make_run(out / "toy" / "20260101-000000", status={"status": "paused", "step": 1})
    make_run(out / "toy" / "20260102-000000")
    for status in runs.STATUSES[:-1]:
        make_run(out / status / "20260103-000000", status={"status": status, "step": 1})
    rows = [line.split() for line in labcore_cli("runs", out, check=0).stdout.splitlines()[1:]]
    assert sorted(r[1] for r in rows) == sorted([*runs.STATUSES[:-1], "unknown", "unknown"])



def test_the_main_metric_of_a_gan_is_never_its_discriminators_output(labcore_cli, tmp_path):
    labcore_cli("run", "gan-toy", "--set", "train.max_steps=2", "--set", "train.sample_every=0",
                "--set", "train.eval_every=0", "--out", tmp_path, check=0)  # fmt: skip
    (folder,) = tmp_path.glob("gan-toy/*")
    metrics = json.loads((folder / "metrics.json").read_text())["metrics"]
    assert list(metrics)[0] == "val/d_real"  # what the first metric alone would have given
    name, value = runs.main_metric(open_run(folder))
    assert name == "test/modes_covered" and value == metrics[name]


def test_the_main_metric_prefers_the_monitored_one_on_the_evaluation_split(tmp_path):
    folder = make_run(
        tmp_path / "c" / "1",
        metrics={"val/loss": 0.2, "val/accuracy": 0.8, "test/loss": 0.3, "test/accuracy": 0.7},
    )
    run = open_run(folder)
    run.recipe["train"] = {"monitor": "val/loss"}
    assert runs.main_metric(run) == ("test/loss", 0.3)
    run.recipe["train"] = {"monitor": "val/elbo"}  # not measured: the accuracy-like one
    assert runs.main_metric(run) == ("test/accuracy", 0.7)
    gan = make_run(tmp_path / "g" / "1", log=[{"step": 5, "time": 1.0, "d_loss": 1.0, "g_loss": 2}])
    assert runs.main_metric(open_run(gan)) == ("g_loss", 2)
