"""`labcore evaluate` keeps every evaluation: the history, metrics.json and the report refreshed.

(Appending many evaluations to one history is tested in test_runfolder.py, without processes.)
"""

import json

from click.testing import CliRunner

from labcore.cli.report import runs
from labcore.report.evaluation_sections import primary_metrics
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
    assert fid_row.startswith(f"| fid | {latest:.6g} | {floor:.4g} | lower |")
    assert "on 150 real and 150 generated images" in markdown.split("| metric |", 1)[0]
    for document in (markdown, page):
        assert "Re-evaluated by" in document and "evaluate.num_samples=150" in document
    evaluations = markdown.split("## Evaluations", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in evaluations.splitlines() if line.startswith("| 20")]
    assert len(rows) == 2 and " 90/90` |" in rows[0] and " 150/150` |" in rows[1]
    first_floor = history[0]["noise_floor"]["fid"]
    assert f"| {history[0]['metrics']['fid']:.6g} ({first_floor:.4g}) |" in rows[0]
    header = next(line for line in evaluations.splitlines() if line.startswith("| evaluated"))
    assert header.endswith("| fid | kid |")  # the metrics asked for, not their parts (kid_std)
    # what every row shares is said once, not repeated in a column
    assert "Every evaluation had the same step 2, checkpoint `last.pt`." in evaluations
    assert "| step |" not in header and "| checkpoint |" not in header

    listed = CliRunner().invoke(runs, [str(tmp_path / "out"), "--history"]).output.splitlines()
    by = [line.split()[2:4] for line in listed[1:]]
    assert by == [["training", "2"], ["labcore", "evaluate"]]
    assert "lenet5-digits@" in listed[2] and " 150/150 " in listed[2]


def test_the_history_shows_each_metric_and_leaves_out_the_parts_beside_it():
    values = {"test/accuracy": 0.9, "fid": 1.0, "kid": 0.1, "kid_std": 0.01, "1nn": 0.6,
              "1nn_real": 0.7, "precision": 0.5, "recall": 0.4}  # fmt: skip
    asked = {"fid": {}, "kid": {}, "1nn": {}, "prdc": {}}  # prdc's values have names of their own
    record = {"metrics": values, "evaluation": {"metrics": asked}}
    assert primary_metrics(record) == ["fid", "kid", "1nn", "precision", "recall"]
    assert primary_metrics({"metrics": values}) == [k for k in values if "/" not in k]
