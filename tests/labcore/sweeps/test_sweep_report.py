"""The sweep report: each configuration's final metrics over seeds, and its learning curves."""

import json
import statistics
from pathlib import Path

import pytest

from labcore.sweeps import report as sweep_report
from labcore.testing import run_cli

TOY_DIR = Path(__file__).parents[1] / "toy_plugins"
TOY = TOY_DIR / "toy.toml"
LABELS = {0.01: "slow", 0.5: "fast"}
SPACE = """
[sweep]
sampler = "grid"
seeds = "0-1"

[params."optimizer.lr"]
choices = [0.01, 0.5]
labels = ["slow", "fast"]
"""
SETTINGS = [
    "train.max_steps=6", "train.eval_every=2", "train.log_every=2",
    'train.monitor="val/accuracy"',
]  # fmt: skip


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """A two-configuration, two-seed sweep of the toy (a few seconds)."""
    root = tmp_path_factory.mktemp("sweep")
    space = root / "space.toml"
    space.write_text(SPACE)
    sets = [arg for setting in SETTINGS for arg in ("--set", setting)]
    run_cli("--plugins-dir", TOY_DIR, "sweep", TOY, "--space", space, *sets,
            "--out", root, "--study", "s", check=0)  # fmt: skip
    return root / "toy" / "s"


def final_metrics(folder: Path, trial: int) -> dict[str, list[float]]:
    """Each final metric of a trial's seeds, read from their metrics.json."""
    records = [
        json.loads((folder / f"trial-{trial:03d}-seed-{seed}" / "metrics.json").read_text())
        for seed in range(2)
    ]
    return {key: [r["metrics"][key] for r in records] for key in records[0]["metrics"]}


def table_rows(report: str) -> dict[str, dict[str, str]]:
    """The configurations table of ``report.md``: each configuration's cells by column name."""
    lines = report.split("## Configurations", 1)[1].split("## ", 1)[0].splitlines()
    table = [line for line in lines if line.startswith("|")]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in table]
    rows = [dict(zip(cells[0], row)) for row in cells[2:]]
    return {row["optimizer.lr"]: row for row in rows}


def test_the_configurations_table_gives_each_final_metric_over_seeds(sweep):
    rows = table_rows((sweep / "report.md").read_text())
    assert set(rows) == {"slow", "fast"}
    for trial, label in enumerate(LABELS.values()):
        metrics = final_metrics(sweep, trial)
        assert set(metrics) == {"val/accuracy", "test/accuracy"}
        for key, values in metrics.items():
            column = "val/accuracy (objective)" if key == "val/accuracy" else key
            mean, std = (float(x) for x in rows[label][column].split(" ± "))
            assert mean == pytest.approx(statistics.fmean(values), rel=1e-5)
            assert std == pytest.approx(statistics.stdev(values), rel=1e-2, abs=1e-9)
        assert rows[label]["seeds"] == "2"
    accuracies = [v for t in range(2) for v in final_metrics(sweep, t)["test/accuracy"]]
    assert len(set(accuracies)) > 1  # the seeds and configurations differ, so the check can fail


def test_the_curves_have_a_line_per_configuration_named_by_its_label(sweep):
    _, rows, monitor, _ = sweep_report.trial_rows(sweep)
    figure = sweep_report.sweep_curves_figure(rows, monitor)
    titles = [axes.get_title() for axes in figure.axes]
    assert titles == ["training loss", "val/accuracy (objective)"]
    for axes in figure.axes:
        assert [line.get_label() for line in axes.get_lines()] == ["slow", "fast"]
        assert len(axes.collections) == 2  # a band per configuration
    (legend,) = figure.legends
    assert [text.get_text() for text in legend.get_texts()] == ["slow", "fast"]
    assert figure.get_size_inches()[0] * figure.dpi >= 900


def test_a_seed_stopped_early_counts_up_to_its_last_step():
    steps, mean, low, high = sweep_report.seed_band([([3, 6], [0.5, 1.0]), ([3], [0.7])])
    assert steps == [3, 6] and mean == pytest.approx([0.6, 1.0])
    assert low == [0.5, 1.0] and high == [0.7, 1.0]


def test_the_mean_line_is_the_mean_of_the_seeds_curves(sweep):
    _, rows, monitor, _ = sweep_report.trial_rows(sweep)
    figure = sweep_report.sweep_curves_figure(rows, monitor)
    evaluation = figure.axes[1]
    for row, line in zip(rows, evaluation.get_lines()):
        logs = [
            [json.loads(x) for x in (run.dir / "log.jsonl").read_text().splitlines()]
            for run in row["runs"].values()
        ]
        by_step: dict[int, list[float]] = {}
        for log in logs:
            for record in log:
                if monitor in record:
                    by_step.setdefault(record["step"], []).append(record[monitor])
        steps = sorted(by_step)
        assert list(line.get_xdata()) == steps
        expected = [statistics.fmean(by_step[s]) for s in steps]
        assert list(line.get_ydata()) == pytest.approx(expected)
