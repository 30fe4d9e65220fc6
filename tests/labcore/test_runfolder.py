"""Run folders given to the command line: unwritable --out, damaged files named in the error."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TOY_DIR = Path(__file__).parent / "toy_plugins"
TOY = TOY_DIR / "toy.toml"


def test_out_through_a_file_is_a_usage_error_naming_it(labcore_cli, tmp_path):
    (tmp_path / "file").write_text("")
    result = labcore_cli("--plugins-dir", TOY_DIR, "run", TOY, "--out", tmp_path / "file" / "x")
    assert result.returncode == 2, result.stderr
    assert "Invalid value for --out" in result.stderr and "is a file, not a folder" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_out_is_a_usage_error(labcore_cli, tmp_path):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    result = labcore_cli("--plugins-dir", TOY_DIR, "run", TOY, "--out", out / "x")
    assert result.returncode == 2, result.stderr
    assert "is not writable" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    command = [sys.executable, "-m", "labcore", "--plugins-dir", TOY_DIR, "run", TOY, "--out", out]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    (folder,) = out.glob("toy/*")
    return folder


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("recipe.toml", "", "recipe.toml is empty or damaged"),
        ("recipe.toml", "[run\n", "recipe.toml is damaged (not valid TOML"),
        ("status.json", "{bad", "status.json is damaged (not valid JSON"),
        ("metrics.json", "{bad", "metrics.json is damaged (not valid JSON"),
    ],
)
def test_report_names_the_damaged_file(labcore_cli, finished_run, tmp_path, name, content, message):
    good, damaged = tmp_path / "good", tmp_path / "damaged"
    shutil.copytree(finished_run, good)
    shutil.copytree(finished_run, damaged)
    (damaged / name).write_text(content)
    for folders in ([damaged], [good, damaged]):
        result = labcore_cli("--plugins-dir", TOY_DIR, "report", *folders, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and "--sort" not in result.stderr
        assert "Traceback" not in result.stderr


def test_a_history_starts_with_the_evaluation_it_replaces(tmp_path):
    import json

    from labcore.runfolder import open_run

    (tmp_path / "recipe.toml").write_text('[run]\nname = "x"\n')
    old = {"step": 5, "metrics": {"fid": 3.0}}  # written before histories were kept
    (tmp_path / "metrics.json").write_text(json.dumps(old))
    run = open_run(tmp_path)
    assert run.evaluations() == [old]
    new = {"step": 5, "metrics": {"fid": 2.5}, "evaluated": {"by": "labcore evaluate"}}
    run.add_evaluation(new)
    run.add_evaluation({**new, "metrics": {"fid": 2.0}})
    assert [r["metrics"]["fid"] for r in run.evaluations()] == [3.0, 2.5, 2.0]
    assert run.metrics()["metrics"] == {"fid": 2.0}
    (tmp_path / "evaluations.jsonl").write_text("{not json\n")
    with pytest.raises(ValueError, match="evaluations.jsonl is damaged"):
        run.evaluations()
