"""Every shipped recipe runs end to end through the command line (two steps, small data)."""

import json
import shutil

import pytest

from labcore.plugins import PluginManager
from labcore.runfolder import Run
from labcore_builtins.sequence import plugin

SMALL = {
    "lstm-seq-digits": [],
    "lstm-seq-mnist": [],
    "rnn-adding": ["data.num_train=100", "data.num_val=50", "data.num_test=50"],
    "lstm-adding": ["data.num_train=100", "data.num_val=50", "data.num_test=50"],
    "tcn-adding": ["data.num_train=100", "data.num_val=50", "data.num_test=50"],
    "lstm-copy": ["data.num_train=100", "data.num_val=50", "data.num_test=50"],
    "char-lstm": ["data.max_chars=20000", "model.sample_length=20", "model.hidden_size=32"],
    "char-transformer": [
        "data.max_chars=20000",
        "model.sample_length=20",
        "model.d_model=32",
        "model.num_layers=1",
    ],
}


def test_every_shipped_recipe_is_covered_and_registered():
    shipped = {path.stem for path in plugin.labcore_recipes()}
    assert shipped == set(SMALL)
    manager = PluginManager()
    assert not [p for p in manager.problems() if "sequence" in p]
    assert shipped <= set(manager.recipes)
    assert {"rnn", "lstm", "gru", "tcn", "transformer"} <= set(manager.names("model"))
    assert {"seq-digits", "seq-mnist", "adding", "copy", "text"} <= set(manager.names("dataset"))


def test_report_hook_skips_other_models_and_runs_without_a_checkpoint(tmp_path):
    assert plugin.labcore_report_sections(Run(tmp_path, {"model": {"name": "dcgan"}})) == []
    assert plugin.labcore_report_sections(Run(tmp_path, {"model": {"name": "lstm"}})) == []


@pytest.mark.parametrize("recipe", sorted(SMALL))
def test_recipe_runs_and_reports(recipe, tmp_path, labcore_cli, run_folder, shared_data):
    overrides = [*SMALL[recipe], "train.max_steps=2", "train.batch_size=8"]
    if recipe == "lstm-seq-mnist":
        root = tmp_path / "mnist"
        shutil.copytree(shared_data("mnist"), root)
        overrides.append(f"data.root='{root}'")
    args = ["run", recipe, "--out", tmp_path / "out"]
    for override in overrides:
        args += ["--set", override]
    labcore_cli(*args, check=0)
    run = run_folder(tmp_path / "out")
    metrics = json.loads((run / "metrics.json").read_text())["metrics"]
    report = (run / "report.md").read_text()
    if recipe.startswith("char-"):
        assert "test/bits_per_char" in metrics and "Generated text" in report
        result = labcore_cli(
            "generate", run, "--prompt", "def ", "--length", "15", "--num", "2", check=0
        )
        first, second = result.stdout.splitlines()[0], result.stdout.split("-" * 40 + "\n")[1]
        assert first.startswith("def ") and second.startswith("def ")
    elif recipe.endswith("-adding"):
        assert "test/mse" in metrics and "Gradient flow through time" in report
        assert (run / "report" / "gradient_flow.png").is_file()
    else:
        assert "test/accuracy" in metrics
    if recipe == "lstm-seq-digits":
        result = labcore_cli("generate", run, check=2)
        assert "needs a sequence model trained as a character language model" in result.stderr
