"""The SNGAN, projection, WGAN-GP and DCGAN recipes at 32 px: MNIST 32x32 end to end, CIFAR-10's
models trained a few steps on CIFAR-shaped data (the archive is the user's to supply)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import tomllib

import pytest
import torch

from labcore.testing import StepContext, check_recipe

TINY = ["train.max_steps=5", "train.log_every=5", "train.sample_every=5", "train.batch_size=16",
        "model.g_width=8", "model.d_width=8", "evaluate.num_samples=64", "data.train_size=200",
        "data.test_size=100",
        'evaluate.metrics=["fid"]']  # fmt: skip
MNIST32 = ["sngan-mnist32", "sngan-projection-mnist32", "wgan-gp-mnist32", "dcgan-mnist32"]
CIFAR10 = ["sngan-cifar10", "sngan-projection-cifar10", "wgan-gp-cifar10", "dcgan-cifar10"]


@pytest.mark.parametrize("recipe", MNIST32)
def test_mnist32_recipes_train_and_measure_on_the_central_28x28(
    recipe, shared_data, tmp_path, labcore_cli, run_folder
):
    mnist_root = tmp_path / "mnist"
    shutil.copytree(shared_data("mnist"), mnist_root)
    settings = [*TINY, f"data.root={json.dumps(str(mnist_root))}"]
    arguments = [a for s in settings for a in ("--set", s)]
    labcore_cli("run", recipe, *arguments, "--out", tmp_path / "out", check=0)
    run = run_folder(tmp_path / "out")
    saved = tomllib.loads((run / "recipe.toml").read_text())
    assert saved["evaluate"]["extractor"] == {"name": "lenet5-mnist", "center_crop": True}
    record = json.loads((run / "metrics.json").read_text())
    assert record["metrics"]["fid"] > 0
    if saved["model"]["name"] == "cgan":
        assert "## Samples of each requested class" in (run / "report.md").read_text()


@pytest.mark.parametrize("recipe", CIFAR10)
def test_cifar10_recipes_resolve_and_their_models_train(recipe):
    resolved = check_recipe(recipe)
    sections = resolved.sections
    assert sections["data"]["name"] == "cifar10"
    assert sections["evaluate"]["extractor"]["name"] == "inception-v3-fid"
    assert sections["schedule"]["name"] == "linear" or recipe == "dcgan-cifar10"
    config = dataclasses.replace(resolved.model_config, g_width=8, d_width=8)
    info = {"shape": (3, 32, 32), "value_range": (-1.0, 1.0), "num_classes": 10}
    torch.manual_seed(0)
    model = resolved.model_cls(config, info)
    ctx = StepContext(model, sections["optimizer"])
    batch = {"x": torch.rand(4, 3, 32, 32) * 2 - 1, "y": torch.arange(4)}
    for step in range(5):
        ctx.global_step = step
        logs = model.training_step(batch, ctx)
        assert all(torch.isfinite(torch.as_tensor(v)) for v in logs.values())
    assert "generator" in ctx.calls
