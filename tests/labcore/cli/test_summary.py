"""`labcore summary`: output shapes, parameters and FLOPs per layer, against counts by hand."""

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from labcore.cli.summary import (
    SummaryError,
    format_summary,
    summarize,
    summarize_recipe,
    summary_calls,
)
from labcore.plugins import get_manager
from labcore.recipes import recipe as recipe_module

ROOT = Path(__file__).resolve().parents[3]

# LeNet-5 on a 32x32 image without normalisation, by hand: (weights + biases) per layer and
# the multiply-adds of one image (output positions x output channels x inputs per output).
LENET5_PARAMETERS = (25 + 1) * 6 + (6 * 25 + 1) * 16 + (400 + 1) * 120 + (120 + 1) * 84 + 85 * 10
LENET5_MULTIPLY_ADDS = 28 * 28 * 6 * 25 + 10 * 10 * 16 * (6 * 25) + 400 * 120 + 120 * 84 + 84 * 10


def number(text: str) -> int:
    return int(text.replace(",", ""))


def test_lenet5_matches_a_count_by_hand(labcore_cli):
    result = labcore_cli(
        "summary", "lenet5-digits", "--set", 'model.norm="none"', cwd=ROOT, check=0
    )
    lines = result.stdout.splitlines()
    pattern = r"total: ([\d,]+) parameters .*?, ([\d,]+) FLOPs \(([\d,]+) multiply"
    total = re.search(pattern, result.stdout)
    assert total, result.stdout
    assert number(total[1]) == LENET5_PARAMETERS == 61706
    assert number(total[3]) == LENET5_MULTIPLY_ADDS == 416520
    assert number(total[2]) == 2 * LENET5_MULTIPLY_ADDS
    rows = {line.split()[0]: line.split() for line in lines if line.startswith("    body.")}
    assert rows["body.1"][1:] == ["Conv2d", "(1,", "6,", "28,", "28)", "156", "235,200"]
    assert rows["body.5"][-2:] == ["2,416", str(f"{2 * 10 * 10 * 16 * 150:,}")]
    assert rows["body.8"][2:6] == ["(1,", "16,", "5,", "5)"]


def test_depth_limits_the_rows_not_the_totals():
    summary = summarize_recipe(load("lenet5-digits"))
    lines = format_summary(summary, max_depth=0)
    assert [line.split()[:2] for line in lines[2:-3]] == [["lenet5", "LeNet5"]]
    assert lines[-3].startswith("total: 61,750 parameters")  # with the batch normalisation
    assert len(format_summary(summary, max_depth=1)) == len(lines) + 2  # body and head


def test_recipe_errors_exit_with_2(labcore_cli):
    result = labcore_cli("summary", "lenet5-digits", "--set", "model.widht=3", cwd=ROOT)
    assert result.returncode == 2, result.stderr
    assert "model.widht" in result.stderr and "Traceback" not in result.stderr


def load(name, *overrides):
    return recipe_module.load(name, get_manager(), list(overrides), ROOT / "outputs")


def test_a_gan_without_summary_inputs_runs_one_training_step():
    summary = summarize_recipe(load("gan-digits"))
    rows = {row.name: row for row in summary.rows}
    assert summary.input == "one training step on the first training example"
    assert rows["generator"].output == "(1, 1, 8, 8)" and rows["generator"].calls == 1
    assert rows["discriminator"].calls >= 2  # on real and on generated images
    assert rows["generator"].flops > 0 and rows["discriminator"].flops > 0
    assert rows["ema_generator"].output == "-"  # not used by a training step
    recipe = load("gan-digits")
    model = recipe.model_cls(recipe.model_config, {"shape": (1, 8, 8), "value_range": (-1, 1)})
    assert summary.parameters == sum(p.numel() for p in model.parameters())
    assert rows["generator"].flops + rows["discriminator"].flops == summary.flops


def test_a_graph_model_runs_on_the_whole_graph():
    summary = summarize_recipe(load("gcn-karate"))
    rows = {row.name: row for row in summary.rows}
    assert summary.input == "one training step on the whole training batch (a graph)"
    assert rows["net"].output == "(34, 4)" and rows["net"].flops == summary.flops > 0


class Twice(nn.Module):
    """A module used twice: shared parameters are counted once, FLOPs of both calls."""

    name = "twice"

    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(3, 4, bias=False)
        self.unused = nn.Linear(2, 2)

    def forward(self, x):
        return self.layer(x) + self.layer(x)

    def summary_inputs(self):
        return {"": (torch.ones(5, 3),)}


def test_modules_called_twice_and_unused_ones():
    model = Twice()
    summary = summarize(model, *summary_calls(model, None))
    rows = {row.name: row for row in summary.rows}
    assert rows["layer"].calls == 2 and rows["layer"].flops == 2 * (2 * 5 * 3 * 4)
    assert rows["unused"].output == "-" and rows["unused"].parameters == 6
    assert summary.parameters == 12 + 6 and summary.flops == rows[""].flops
    text = "\n".join(format_summary(summary))
    assert "(5, 4) x2" in text and "twice" in text


def test_summary_inputs_naming_a_missing_submodule_is_refused():
    model = Twice()
    model.summary_inputs = lambda: {"encoder": (torch.ones(1, 3),)}
    with pytest.raises(SummaryError, match="'encoder', which is not a submodule"):
        summary_calls(model, None)
    model.summary_inputs = lambda: [torch.ones(1, 3)]
    with pytest.raises(SummaryError, match="must return a dict"):
        summary_calls(model, None)


def test_a_model_failing_on_its_input_is_reported_and_left_in_its_mode():
    model = Twice().train()
    model.summary_inputs = lambda: {"": (torch.ones(1, 7),)}
    with pytest.raises(SummaryError, match="failed on its summary input"):
        summarize(model, *summary_calls(model, None))
    assert model.training
    assert not model.layer._forward_hooks and not model.layer._forward_pre_hooks
