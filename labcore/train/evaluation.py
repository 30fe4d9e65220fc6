"""The final evaluation of a run: the model's own metrics and, for generative models, the
sample-based metrics of the recipe's ``[evaluate]`` section."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from labcore import distributed
from labcore.data import DataBundle
from labcore.model import Model
from labcore.recipes.recipe import RecipeError
from labcore.runfolder import utc_now
from labcore.train.batching import eval_batches

TRAINING = "training"
"""``evaluated.by`` of the final evaluation at the end of training."""
RE_EVALUATION = "labcore evaluate"
"""``evaluated.by`` of an evaluation made later by ``labcore evaluate``."""


class SplitBatches:
    """The :class:`labcore.model.EvalContext` of an evaluation: a split's batches in order."""

    def __init__(self, batch_size: int = 64, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self.batch_size = batch_size

    def batches(self, split: Any) -> Iterator[Any]:
        return eval_batches(split, self.batch_size, self.device)


def model_metrics(
    model: Model, bundle: DataBundle, split: str, batch_size: int, device: torch.device
) -> dict[str, float]:
    """``model.evaluate`` on one split, keys prefixed with the split's name."""
    if not model.can_evaluate or split not in bundle.splits:
        return {}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            result = model.evaluate(bundle.split(split), SplitBatches(batch_size, device))
    finally:
        model.train(was_training)
    return {f"{split}/{k}": float(v) for k, v in result.items()}


def check_evaluation(model: Model, config: Any, registry: Any) -> None:
    """Fail before training when the ``[evaluate]`` metrics cannot run at its end: a model that
    cannot sample, or a feature extractor that cannot be built (e.g. a wrong classifier run)."""
    if not config.metrics:
        return
    if not model.can_sample:
        raise RecipeError(
            f"evaluate.metrics {config.metrics} need samples, but model {model.name!r} cannot "
            "sample; remove them from the [evaluate] section"
        )
    from labcore.metrics.generative import build_extractor

    try:
        build_extractor(config.extractor, "cpu", registry)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        raise RecipeError(
            f"[evaluate.extractor] {dict(config.extractor)}: {str(exc).strip(chr(34) + chr(39))}"
        ) from exc


def final_evaluation(
    model: Model, bundle: DataBundle, config: Any, device: torch.device
) -> dict[str, Any]:
    """Sample-based metrics named in ``config.metrics`` (empty when none are named)."""
    if not config.metrics:
        return {"metrics": {}, "details": {}}
    if not model.can_sample:
        raise ValueError(
            f"evaluate.metrics {config.metrics} need samples, but model {model.name!r} cannot "
            "sample; remove them from the [evaluate] section"
        )
    from labcore.metrics.generative import evaluate_generative

    metrics, details = evaluate_generative(model, bundle, config, device)
    floor = details.get("noise_floor", {}).pop("values", None)
    return {"metrics": metrics, "details": details, "noise_floor": floor}


def evaluation_stamp(
    result: dict[str, Any],
    by: str,
    checkpoint_name: str,
    config: Any,
    overrides: list[str] | tuple[str, ...] = (),
) -> dict[str, Any]:
    """What an evaluation record keeps besides the values: the noise floor of the two-sample
    metrics (when measured), and ``evaluated``: when (UTC), by what (``"training"`` or
    ``"labcore evaluate"``), from which checkpoint file, with which ``--set`` overrides and the
    whole ``[evaluate]`` section it ran with."""
    evaluated = {
        "time": utc_now(),
        "by": by,
        "checkpoint": checkpoint_name,
        "overrides": list(overrides),
        "evaluate": dataclasses.asdict(config),
    }
    floor = result.get("noise_floor")
    return {**({"noise_floor": floor} if floor else {}), "evaluated": evaluated}


def evaluate_run(run_dir: Path, device: torch.device, manager: Any, overrides: list[str]) -> dict:
    """Recompute a finished run's final metrics from the checkpoint its final evaluation uses
    (``best.pt`` or the newest, see ``train.final``), with the ``--set evaluate.*`` ``overrides``;
    the record becomes the latest (metrics.json) and joins the run's history of evaluations
    (evaluations.jsonl, see :meth:`labcore.runfolder.Run.add_evaluation`).

    Every process of a distributed run takes part (see
    :func:`~labcore.metrics.generative.evaluate_generative`); rank 0 writes.
    """
    from labcore import checkpoint
    from labcore.recipes import recipe as recipe_module
    from labcore.runfolder import open_run

    run = open_run(run_dir)
    recipe = recipe_module.resolve(
        recipe_module.apply_overrides(run.recipe, overrides),
        manager,
        run.dir / "recipe.toml",
        out=run.dir.parent.parent,
    )
    bundle = recipe.dataset_cls(recipe.dataset_config).load()
    model = recipe.model_cls(recipe.model_config, bundle.info)
    state, path = checkpoint.load_final(run.checkpoints, recipe.train.final)
    checkpoint.load_weights(model, state, path)
    model.to(device).eval()
    torch.manual_seed(recipe.run.seed)
    metrics: dict[str, float] = {}
    for split in ("val", "test"):
        metrics.update(model_metrics(model, bundle, split, recipe.evaluate.batch_size, device))
    result = final_evaluation(model, bundle, recipe.evaluate, device)
    metrics.update(result["metrics"])
    record = {"step": int(state["step"]), "metrics": metrics, "evaluation": result["details"]}
    if distributed.rank() == 0:  # only rank 0 reads and writes the run's evaluations
        previous = run.metrics()
        record.update({k: previous[k] for k in ("weights", "stopped_early") if k in previous})
        stamp = evaluation_stamp(result, RE_EVALUATION, path.name, recipe.evaluate, overrides)
        record.update(stamp)
        run.add_evaluation(record)
        manager.hook.labcore_evaluation_done(run=run, step=record["step"], metrics=metrics)
    return record
