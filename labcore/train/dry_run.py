"""``labcore run RECIPE --dry-run``: build what a run would build, train nothing, say the sizes.

The dataset is loaded, the model and its optimizers are built and the ``[evaluate]`` metrics are
checked exactly as the trainer does before its first step, so a recipe that passes a dry run
starts training; nothing is written.
"""

from __future__ import annotations

from typing import Any

import torch

from labcore.data import FullBatch
from labcore.plugins import PluginManager
from labcore.recipes.recipe import Recipe, RecipeError
from labcore.train import preflight
from labcore.train.batching import Batcher
from labcore.train.evaluation import check_evaluation


def _split_size(split: Any) -> str:
    if isinstance(split, FullBatch):
        return "one graph" if hasattr(split.data, "edge_index") else "one batch"
    return f"{len(split):,}"


def _short(value: Any) -> bool:
    """Whether an ``info`` value fits in the summary line (not a table or a long list)."""
    if isinstance(value, dict):
        return False
    return not isinstance(value, (list, tuple)) or len(value) <= 4


def describe_build(recipe: Recipe, manager: PluginManager) -> list[str]:
    """Build the recipe's dataset, model and optimizers on the CPU; one line on each."""
    device = torch.device("cpu")
    bundle = preflight.load_data(recipe)
    preflight.check_splits(recipe, bundle.splits)
    model = preflight.build_model(recipe.model_cls, recipe.model_config, bundle.info, device)
    check_evaluation(model, recipe.evaluate, manager)
    factory = recipe.optimizer_factory()
    optimizers = model.configure_optimizers(factory)
    factory.check_all_used(recipe.model_cls.name)
    cfg = recipe.train
    try:
        batcher = Batcher(bundle.split("train"), cfg.batch_size, recipe.run.seed, device)
    except ValueError as exc:
        raise RecipeError(f"[train]: {exc}") from None
    steps = cfg.max_steps or cfg.epochs * batcher.batches_per_epoch
    splits = ", ".join(f"{name} {_split_size(split)}" for name, split in bundle.splits.items())
    info = ", ".join(f"{k} {v}" for k, v in bundle.info.items() if _short(v))
    parameters = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    per_epoch = batcher.batches_per_epoch
    full = isinstance(bundle.split("train"), FullBatch)
    batch = "the whole training split" if full else f"batch {cfg.batch_size}"
    lines = [
        f"dataset {recipe.dataset_cls.name}: {splits}" + (f" ({info})" if info else ""),
        f"model {recipe.model_cls.name}: {parameters:,} parameters ({trainable:,} trainable); "
        f"optimizers: {', '.join(optimizers)}",
        f"training: {steps:,} steps of {batch} ({per_epoch:,} "
        f"step{'s' if per_epoch != 1 else ''} per epoch)",
    ]
    if recipe.evaluate.metrics:
        lines.append(
            f"final evaluation: {', '.join(recipe.evaluate.metrics)} on "
            f"{recipe.evaluate.num_samples:,} samples against the {recipe.evaluate.split} split"
        )
    return lines
