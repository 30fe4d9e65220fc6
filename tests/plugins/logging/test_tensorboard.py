"""The TensorBoard logging plugin: event files written from the trainer's event hooks."""

import json
from pathlib import Path

import pytest

from labcore.runfolder import Run
from labcore_builtins.logging import plugin

TOY_DIR = Path(__file__).parents[2] / "labcore" / "toy_plugins"


def read_events(folder: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    return events


def scalars(events, tag: str) -> list[tuple[int, float]]:
    return [(e.step, pytest.approx(e.value)) for e in events.Scalars(tag)]


@pytest.fixture
def run(tmp_path) -> Run:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "status.json").write_text(json.dumps({"status": "running", "step": 0}))
    recipe = {"run": {"name": "toy"}, "model": {"name": "toy-mlp", "hidden": 16}}
    return Run(dir=folder, recipe=recipe)


def test_hooks_write_every_logged_value_evaluation_and_the_recipe(run):
    pytest.importorskip("tensorboard")
    plugin.labcore_run_start(run)
    for step, loss in ((5, 0.9), (10, 0.5), (15, 0.25)):
        logs = {"step": step, "time": step / 10, "loss": loss, "lr/main": 0.1}
        plugin.labcore_step_end(run, step, logs)
    plugin.labcore_evaluation_done(run, 10, {"val/accuracy": 0.75})
    plugin.labcore_evaluation_done(run, 15, {"val/accuracy": 0.875, "test/accuracy": 0.8})
    plugin.labcore_run_end(run, "finished")
    assert not plugin._writers, "the run's writer is closed at its end"

    events = read_events(run.dir / plugin.LOG_DIR)
    tags = events.Tags()
    assert sorted(tags["scalars"]) == ["loss", "lr/main", "test/accuracy", "val/accuracy"]
    assert scalars(events, "loss") == [(5, 0.9), (10, 0.5), (15, 0.25)]
    assert scalars(events, "val/accuracy") == [(10, 0.75), (15, 0.875)]
    assert scalars(events, "test/accuracy") == [(15, 0.8)]
    text_tags = tags["tensors"]
    assert {"recipe/text_summary", "status/text_summary"} <= set(text_tags)
    recipe = events.Tensors("recipe/text_summary")[0].tensor_proto.string_val[0].decode()
    assert 'name = "toy-mlp"' in recipe


def test_without_tensorboard_the_hooks_do_nothing(run, monkeypatch):
    monkeypatch.setattr(plugin, "available", lambda: False)
    plugin.labcore_run_start(run)
    plugin.labcore_step_end(run, 5, {"step": 5, "loss": 1.0})
    plugin.labcore_evaluation_done(run, 5, {"val/accuracy": 0.5})
    plugin.labcore_run_end(run, "finished")
    assert not (run.dir / plugin.LOG_DIR).exists()


def test_a_real_run_writes_event_files(labcore_cli, run_folder, tmp_path):
    pytest.importorskip("tensorboard")
    listing = labcore_cli("plugins", check=0).stdout
    assert "logging  (" in listing, "the logging plugin is not registered (entry point `logging`)"
    toy = TOY_DIR / "toy.toml"
    labcore_cli("--plugins-dir", TOY_DIR, "run", toy, "--out", tmp_path, check=0)
    folder = run_folder(tmp_path)
    events = read_events(folder / plugin.LOG_DIR)
    assert [step for step, _ in scalars(events, "loss")] == [5, 10, 15, 20]
    final = json.loads((folder / "metrics.json").read_text())["metrics"]
    assert scalars(events, "test/accuracy") == [(20, final["test/accuracy"])]
