"""Optimizers checked and built from the recipe, and the learning-rate schedules."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from labcore.recipes.optim import OPTIMIZERS, OptimizerFactory, ScheduleConfig, lr_factor
from labcore.schema import SchemaError


def test_linear_decay_falls_in_a_straight_line_to_the_final_ratio():
    config = ScheduleConfig(name="linear")
    assert [lr_factor(config, s, 100) for s in (0, 25, 50, 100, 150)] == [1.0, 0.75, 0.5, 0.0, 0.0]
    floor = ScheduleConfig(name="linear", min_lr_ratio=0.2)
    assert lr_factor(floor, 50, 100) == pytest.approx(0.6)
    assert lr_factor(floor, 100, 100) == pytest.approx(0.2)


def test_linear_decay_starts_after_the_warm_up():
    config = ScheduleConfig(name="linear", warmup_steps=10)
    assert lr_factor(config, 4, 110) == pytest.approx(0.5)
    assert lr_factor(config, 10, 110) == 1.0
    assert lr_factor(config, 60, 110) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"name": "sgd", "lr": -0.1}, r"^optimizer\.lr: -0\.1 is not accepted: Invalid learning"),
        (
            {"name": "adam", "betas": [1.5, 0.9]},
            r"^optimizer\.betas: \(1\.5, 0\.9\) is not accepted: Invalid beta parameter at index 0",
        ),
        ({"name": "adadelta", "rho": 2.0}, r"^optimizer\.rho: 2\.0 is not accepted: Invalid rho"),
        (
            {"name": "sgd", "momentum": 0.9, "dampening": 0.5, "nesterov": True},
            r"^optimizer\.nesterov: True is not accepted: Nesterov momentum requires a momentum",
        ),
        (
            {"name": "adam", "gen": {"lr": -1.0}},
            r"^optimizer\.gen\.lr: -1\.0 is not accepted: Invalid learning rate",
        ),
    ],
)
def test_options_torch_refuses_name_the_key(section, message):
    with pytest.raises(SchemaError, match=message):
        OptimizerFactory(section)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_accepted_options_build_the_optimizer_with_them(name):
    make = OptimizerFactory({"name": name, "lr": 0.25, "weight_decay": 0.5})
    optimizer = make("main", [torch.zeros(2, requires_grad=True)])
    assert isinstance(optimizer, OPTIMIZERS[name])
    assert optimizer.param_groups[0]["lr"] == 0.25
    assert optimizer.param_groups[0]["weight_decay"] == 0.5


def test_checking_options_does_not_import_torch_dynamo():
    """Building an optimizer imports torch._dynamo (seconds); every recipe check would pay it."""
    code = (
        "import sys\n"
        "from labcore.recipes.optim import OPTIMIZERS, OptimizerFactory\n"
        "from labcore.schema import SchemaError\n"
        "for name in OPTIMIZERS:\n"
        "    OptimizerFactory({'name': name, 'lr': 0.5})\n"
        "    try:\n"
        "        OptimizerFactory({'name': name, 'lr': -1.0})\n"
        "    except SchemaError:\n"
        "        pass\n"
        "    else:\n"
        "        raise SystemExit(name + ' accepted lr = -1')\n"
        "assert 'torch._dynamo' not in sys.modules, 'torch._dynamo was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
