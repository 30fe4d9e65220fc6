"""`labcore evaluate` keeps every evaluation: the history, metrics.json and the report refreshed.

(Appending many evaluations to one history is tested in test_runfolder.py, without processes.)
"""

import json

from click.testing import CliRunner

from labcore.report_cli import runs
from labcore.runfolder import open_run


def test_every_evaluation_is_kept_and_the_report_shows_the_latest(labcore_cli, run_folder,
                                                                   tmp_path):
    cache = ["--set", f"evaluate.cache_dir={json.dumps(str(tmp_path / 'cache'))}"]
    labcore_cli("run", "gan-digits", "--set", "train.max_steps=2", "--set", "train.sample_every=0",
                "--set", "evaluate.num_samples=90", "--set", 'evaluate.metrics=["fid", "kid"]',
                *cache, "--out", tmp_path / "out", check=0)  # fmt: skip
    folder = run_folder(tmp_path / "out")
    result = labcore_cli("evaluate", folder, "--set", "evaluate.num_samples=150",
                         "--device", "cpu", check=0)  # the cache folder is in recipe.toml
    assert "report.html" in result.stderr
    run = open_run(folder)
    history = run.evaluations()
    assert [r["evaluation"]["num_generated"] for r in history] == [90, 150]
    assert [r["evaluated"]["by"] for r in history] == ["training", "labcore evaluate"]
    assert history[1]["evaluated"]["overrides"] == ["evaluate.num_samples=150"]
    assert history[1]["evaluated"]["evaluate"]["num_samples"] == 150
    assert history[0]["evaluated"]["checkpoint"] == history[1]["evaluated"]["checkpoint"]
    assert history[0]["evaluated"]["time"] <= history[1]["evaluated"]["time"]
    assert run.metrics() == history[-1]  # metrics.json: the latest, as before
    assert history[0]["metrics"]["fid"] != history[1]["metrics"]["fid"]
    assert set(history[1]["noise_floor"]) == {"fid", "kid"}

    markdown = (folder / "report.md").read_text()
    page = (folder / "report.html").read_text()
    latest, floor = history[1]["metrics"]["fid"], history[1]["noise_floor"]["fid"]
    fid_row = next(line for line in markdown.splitlines() if line.startswith("| fid |"))
    assert f"| {latest:.6g} (real vs real {floor:.4g}) |" in fid_row
    assert "num_fake 150" in fid_row
    for document in (markdown, page):
        assert "Re-evaluated by" in document and "evaluate.num_samples=150" in document
    evaluations = markdown.split("## Evaluations", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in evaluations.splitlines() if line.startswith("| 20")]
    assert len(rows) == 2 and "90 real / 90 generated" in rows[0] and "150 real" in rows[1]
    assert f"{history[0]['metrics']['fid']:.6g}" in rows[0]

    listed = CliRunner().invoke(runs, [str(tmp_path / "out"), "--history"]).output.splitlines()
    by = [line.split()[2:4] for line in listed[1:]]
    assert by == [["training", "2"], ["labcore", "evaluate"]]
    assert "lenet5-digits@" in listed[2] and " 150/150 " in listed[2]
