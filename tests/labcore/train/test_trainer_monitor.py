"""The monitored metric: best.pt, the final evaluation on the best weights, early stopping."""

import json
from pathlib import Path

import pytest
import torch

from labcore.measurement import declared_mode
from labcore.train.monitor import Monitor

TOY_DIR = Path(__file__).parents[1] / "toy_plugins"
TOY = TOY_DIR / "toy.toml"
MONITORED = [
    "--set", "train.eval_every=2", "--set", 'train.monitor="val/accuracy"',
    "--set", "model.dropout=0.0", "--set", "optimizer.lr=0.02",
]  # fmt: skip


def toy_run(labcore_cli, out, *args, check=0):
    return labcore_cli("--plugins-dir", TOY_DIR, "run", TOY, *MONITORED, *args, "--out", out,
                       check=check)  # fmt: skip


def run_dir(out: Path) -> Path:
    (folder,) = out.glob("toy/*")
    return folder


def evaluations(folder: Path) -> dict[int, float]:
    records = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    return {r["step"]: r["val/accuracy"] for r in records if "val/accuracy" in r}


def test_best_checkpoint_and_patience_count_survive_a_resume(labcore_cli, tmp_path):
    patience = ["--set", "train.patience=50"]
    toy_run(labcore_cli, tmp_path / "straight", "--set", "train.max_steps=24", *patience)
    toy_run(labcore_cli, tmp_path / "resumed", "--set", "train.max_steps=12", *patience)
    resumed = run_dir(tmp_path / "resumed")
    labcore_cli("--plugins-dir", TOY_DIR, "resume", resumed, "--set", "train.max_steps=24",
                check=0)  # fmt: skip
    straight = run_dir(tmp_path / "straight")
    history = evaluations(straight)
    assert sorted(history) == list(range(2, 25, 2))
    best = max(history.values())
    best_step = min(s for s, v in history.items() if v == best)
    for folder in (straight, resumed):
        record = json.loads((folder / "metrics.json").read_text())
        assert record["weights"] == {
            "final": "best", "monitor": "val/accuracy", "value": best, "step": best_step
        }
        assert record["metrics"]["val/accuracy"] == pytest.approx(best)
        assert record["stopped_early"] is None
    one = torch.load(straight / "checkpoints" / "best.pt", weights_only=True)
    two = torch.load(resumed / "checkpoints" / "best.pt", weights_only=True)
    assert one["step"] == two["step"] == best_step
    for key, value in one["model"].items():
        assert torch.equal(two["model"][key], value), key
    last_one = torch.load(straight / "checkpoints" / "last.pt", weights_only=True)["monitor"]
    last_two = torch.load(resumed / "checkpoints" / "last.pt", weights_only=True)["monitor"]
    assert last_one == last_two
    assert last_one["bad_evaluations"] == sum(1 for s in history if s > best_step)


def test_patience_stops_the_run_and_says_why(labcore_cli, tmp_path):
    result = toy_run(labcore_cli, tmp_path, "--set", "train.max_steps=400",
                     "--set", "train.patience=3")  # fmt: skip
    folder = run_dir(tmp_path)
    history = evaluations(folder)
    last = max(history)
    best = max(history.values())
    best_step = min(s for s, v in history.items() if v == best)
    assert last < 400 and last == best_step + 3 * 2  # three evaluations without improvement
    status = json.loads((folder / "status.json").read_text())
    assert status["status"] == "finished" and status["step"] == last
    assert "no improvement of val/accuracy in 3 evaluations" in status["stop_reason"]
    assert f"stopped early at step {last}" in result.stderr
    record = json.loads((folder / "metrics.json").read_text())
    assert record["stopped_early"] == status["stop_reason"]
    assert record["metrics"]["val/accuracy"] == pytest.approx(best)
    assert "Training stopped early" in (folder / "report.md").read_text()


def test_final_last_evaluates_the_last_weights(labcore_cli, tmp_path):
    toy_run(labcore_cli, tmp_path, "--set", "train.max_steps=6", "--set", 'train.final="last"')
    record = json.loads((run_dir(tmp_path) / "metrics.json").read_text())
    assert record["weights"]["final"] == "last" and record["step"] == 6


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (["train.eval_every=0"], "set train.eval_every"),
        (['train.monitor="val/kl"'], 'train.monitor_mode = "max" or "min"'),
        (['train.monitor="accuracy"'], 'e.g. "val/accuracy"'),
        (["train.patience=3", 'train.monitor=""'], "set train.monitor"),
        (['train.monitor="val/elbo"'], "it gives: val/accuracy"),
    ],
)
def test_monitor_mistakes_are_usage_errors(labcore_cli, tmp_path, settings, message):
    extra = [arg for setting in settings for arg in ("--set", setting)]
    result = toy_run(labcore_cli, tmp_path, "--set", "train.max_steps=4", *extra, check=2)
    assert message in result.stderr and "Traceback" not in result.stderr


def test_direction_from_the_metric_name():
    assert declared_mode("val/accuracy") == "max" and declared_mode("val/elbo") == "max"
    assert declared_mode("val/loss") == "min" and declared_mode("val/reconstruction_nll") == "min"
    assert declared_mode("val/kl") is None


def test_min_delta_and_nan_are_not_improvements():
    monitor = Monitor("val/loss", "min", patience=2, min_delta=0.1)
    assert monitor.update(1, {"val/loss": 1.0})
    assert not monitor.update(2, {"val/loss": 0.95})  # better by less than min_delta
    assert not monitor.exhausted
    assert not monitor.update(3, {"val/loss": float("nan")})
    assert monitor.exhausted and monitor.best == 1.0 and monitor.best_step == 1
    assert monitor.update(4, {"val/loss": 0.5}) and monitor.bad_evaluations == 0
