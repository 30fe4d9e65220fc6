"""Checks between loading the data and training: the splits the recipe names exist, and the model
can be built without exhausting memory or failing with a bare traceback.

A hyperparameter such as ``g_width = 1000000`` asks for more parameters than any machine holds;
allocating them fails deep inside torch (or, worse, swaps the machine to a halt). The model is
therefore first built on the ``meta`` device, which records shapes without allocating, and its
parameter and buffer memory is compared with the memory of the device it will train on. A model
whose construction fails for its hyperparameters (a negative width) is reported as a recipe error
naming the suspect keys.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import torch

from labcore.data import DataError
from labcore.recipes.recipe import RecipeError

GIB = 1024**3


def device_memory_bytes(device: torch.device) -> int:
    """Total memory of ``device``: the GPU's, or the machine's physical memory."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def state_bytes(module: torch.nn.Module) -> int:
    """Bytes held by the parameters and buffers of ``module`` (meta tensors included)."""
    tensors = [*module.parameters(), *module.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)


def _hyperparameters(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else {}


def _defaults(config: Any) -> dict[str, Any]:
    defaults = {}
    for field in dataclasses.fields(config) if dataclasses.is_dataclass(config) else ():
        if field.default is not dataclasses.MISSING:
            defaults[field.name] = field.default
    return defaults


def _numbers(values: dict[str, Any]) -> dict[str, float]:
    return {
        k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
    }


def _grown_keys(config: Any, section: str = "model") -> list[str]:
    """``section.key = value`` for each number larger than its default, largest growth first."""
    values, defaults = _numbers(_hyperparameters(config)), _numbers(_defaults(config))
    grown = [
        (v / max(abs(defaults[k]), 1), k, v)
        for k, v in values.items()
        if k in defaults and v > defaults[k]
    ]
    return [f"{section}.{k} = {v}" for _, k, v in sorted(grown, reverse=True)]


def _negative_keys(config: Any, section: str = "model") -> list[str]:
    values = _numbers(_hyperparameters(config))
    return [f"{section}.{k} = {v}" for k, v in values.items() if v < 0]


def load_data(recipe: Any) -> Any:
    """The recipe's dataset loaded; a load that fails for its hyperparameters (a negative or
    impossibly large size) becomes a RecipeError naming the suspect keys."""
    config = recipe.dataset_config
    try:
        return recipe.dataset_cls(config).load()
    except (RecipeError, DataError):
        raise
    except (RuntimeError, ValueError, TypeError, MemoryError, OverflowError, IndexError) as exc:
        suspects = _negative_keys(config, "data") or _grown_keys(config, "data")
        hint = f" (check {', '.join(suspects[:3])})" if suspects else ""
        text = " ".join(str(exc).split())
        raise RecipeError(
            f"[data]: dataset {recipe.dataset_cls.name!r} cannot be loaded with these "
            f"hyperparameters{hint}: {type(exc).__name__}: {text[:300]}"
        ) from None


def check_model_size(model_cls: type, config: Any, info: dict[str, Any], device: torch.device):
    """Raise RecipeError when the model's parameters alone exceed the memory of ``device``.

    Models that cannot be built on the ``meta`` device (their constructor reads tensor values)
    are not estimated; their real construction is still guarded by :func:`build_model`.
    """
    try:
        with torch.device("meta"):
            model = model_cls(config, info)
    except Exception:
        return
    needed, available = state_bytes(model), device_memory_bytes(device)
    if needed <= available:
        return
    suspects = _grown_keys(config)
    hint = f"; reduce {', '.join(suspects[:3])}" if suspects else ""
    raise RecipeError(
        f"[model]: model {model_cls.name!r} would need {needed / GIB:.3g} GiB for its parameters "
        f"alone, more than the {available / GIB:.3g} GiB of memory of the {device.type} "
        f"device{hint}"
    )


def build_model(
    model_cls: type, config: Any, info: dict[str, Any], device: torch.device
) -> torch.nn.Module:
    """``model_cls(config, info)`` after :func:`check_model_size`; a construction that fails
    for the hyperparameters becomes a RecipeError naming the suspect keys."""
    check_model_size(model_cls, config, info, device)
    try:
        return model_cls(config, info)
    except (RuntimeError, ValueError, TypeError, MemoryError, OverflowError) as exc:
        suspects = _negative_keys(config) or _grown_keys(config)
        hint = f" (check {', '.join(suspects[:3])})" if suspects else ""
        text = " ".join(str(exc).split())
        raise RecipeError(
            f"[model]: model {model_cls.name!r} cannot be built from these hyperparameters"
            f"{hint}: {type(exc).__name__}: {text[:300]}"
        ) from None


def check_splits(recipe: Any, splits: Any) -> None:
    """Raise RecipeError when the recipe names a split the dataset lacks (caught before training
    rather than at the first periodic or final evaluation)."""
    named = []
    if recipe.train.eval_every:
        named.append(("train.eval_split", recipe.train.eval_split))
    if recipe.evaluate.metrics:
        named.append(("evaluate.split", recipe.evaluate.split))
    for key, split in named:
        if split not in splits:
            raise RecipeError(
                f"{key}: dataset {recipe.dataset_cls.name!r} has no split {split!r}; "
                f"it has: {', '.join(splits)}"
            )
