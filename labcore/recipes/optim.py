"""Optimizers by name from ``torch.optim`` and learning-rate schedules, both configured by recipe.

The ``[optimizer]`` section names an optimizer and its hyperparameters; the accepted keys are the
optimizer's own keyword arguments (read from its signature), so every torch option is available
under its torch name. ``[optimizer.<name>]`` sub-tables override them for the model's optimizer of
that name. The ``[schedule]`` section sets a per-step learning-rate schedule for every optimizer.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import torch

from labcore.schema import SchemaError, build, hp, unknown_key_message

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
    "adadelta": torch.optim.Adadelta,
}

_SKIPPED_ARGS = {"params", "foreach", "maximize", "capturable", "differentiable", "fused"}


def optimizer_schema(name: str) -> type:
    """A dataclass of the keyword arguments of ``torch.optim`` optimizer ``name``."""
    if name not in OPTIMIZERS:
        raise SchemaError(
            f"optimizer.name: unknown optimizer {name!r}; available: {', '.join(OPTIMIZERS)}"
        )
    cls = OPTIMIZERS[name]
    fields = []
    for arg in inspect.signature(cls).parameters.values():
        if arg.name in _SKIPPED_ARGS or arg.default is inspect.Parameter.empty:
            continue
        default = arg.default
        if isinstance(default, torch.Tensor):
            default = float(default)
        if isinstance(default, bool):
            tp: Any = bool
        elif isinstance(default, (int, float)):
            tp = float
        elif isinstance(default, tuple):
            tp = tuple[(float,) * len(default)]  # as many values as torch's default has
        else:
            continue
        fields.append((arg.name, tp, dataclasses.field(default=default)))
    return dataclasses.make_dataclass(f"{cls.__name__}Config", fields)


# What torch's Optimizer says when it reaches the parameters, after the options passed its checks.
_NO_PARAMETERS = "optimizer got an empty parameter list"


def _torch_rejects(kind: str, kwargs: Mapping[str, Any]) -> str | None:
    """torch's own complaint about these options, or None, without building an optimizer.

    Every ``torch.optim`` optimizer checks its options in ``__init__`` before it looks at the
    parameters, so given none it stops either at its complaint or, for accepted options, at the
    empty parameter list. Building one for real would import ``torch._dynamo`` (about 1.5 s),
    which every command that reads a recipe would pay.
    """
    try:
        OPTIMIZERS[kind]([], **kwargs)
    except (ValueError, TypeError, RuntimeError) as exc:
        return None if str(exc) == _NO_PARAMETERS else str(exc)
    return None


def _check_accepted(
    kind: str, kwargs: Mapping[str, Any], given: Mapping[str, Any], path: str
) -> None:
    """Raise SchemaError naming the key when torch would refuse the options (``lr = -1``).

    torch checks its options only when the optimizer is built, after the run has started; here
    they are tried before anything trains. The key is found by trying each value the recipe gave
    alone with torch's defaults.
    """
    problem = _torch_rejects(kind, kwargs)
    if problem is None:
        return
    defaults = dataclasses.asdict(optimizer_schema(kind)())
    for key in given:
        if key in defaults and _torch_rejects(kind, {**defaults, key: kwargs[key]}) is not None:
            raise SchemaError(f"{path}.{key}: {kwargs[key]!r} is not accepted: {problem}")
    raise SchemaError(f"[{path}]: these options are not accepted together: {problem}")


class OptimizerFactory:
    """Builds the model's named optimizers from the recipe's ``[optimizer]`` section.

    Called by the model's ``configure_optimizers`` as ``make(name, params)``.
    """

    def __init__(self, section: Mapping[str, Any]) -> None:
        self.base = {k: v for k, v in section.items() if not isinstance(v, Mapping)}
        self.overrides = {k: v for k, v in section.items() if isinstance(v, Mapping)}
        self.used: set[str] = set()
        self.base.setdefault("name", "adam")
        for name in ("", *self.overrides):  # validate every table before anything trains
            self.options(name)

    def options(self, name: str) -> tuple[str, dict[str, Any]]:
        merged = {**self.base, **self.overrides.get(name, {})}
        kind = merged.pop("name")
        if not isinstance(kind, str):
            raise SchemaError(
                f"optimizer.name: expected the name of an optimizer as a string, got {kind!r}; "
                f"available: {', '.join(OPTIMIZERS)}"
            )
        path = f"optimizer.{name}" if name in self.overrides else "optimizer"
        config = build(optimizer_schema(kind), merged, path)
        kwargs = dataclasses.asdict(config)
        _check_accepted(kind, kwargs, merged, path)
        return kind, kwargs

    def __call__(self, name: str, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
        self.used.add(name)
        kind, kwargs = self.options(name)
        return OPTIMIZERS[kind](params, **kwargs)

    def check_all_used(self, model_name: str) -> None:
        """Every ``[optimizer.<name>]`` table must name one of the model's optimizers."""
        for name in self.overrides:
            if name not in self.used:
                raise SchemaError(
                    unknown_key_message("optimizer", name, self.used)
                    + f" (model {model_name!r} has optimizers: {', '.join(sorted(self.used))})"
                )


@dataclasses.dataclass
class ScheduleConfig:
    """The ``[schedule]`` section: a learning-rate multiplier as a function of the step."""

    name: Literal["none", "step", "cosine", "linear"] = hp(
        "none", "none | step | cosine | linear (to min_lr_ratio at the last step)"
    )
    warmup_steps: int = hp(0, "linear warm-up from 0 over this many steps")
    step_size: int = hp(
        1000,
        "step: multiply the rate by gamma every step_size steps",
        applies=lambda c: c.name == "step",
    )
    gamma: float = hp(
        0.1, "step: the factor applied every step_size steps", applies=lambda c: c.name == "step"
    )
    min_lr_ratio: float = hp(
        0.0,
        "cosine, linear: final rate as a fraction of the initial rate",
        applies=lambda c: c.name in ("cosine", "linear"),
    )

    def __post_init__(self) -> None:
        if self.warmup_steps < 0:
            raise ValueError(f"schedule.warmup_steps must be >= 0, got {self.warmup_steps}")
        if self.step_size < 1:
            raise ValueError(f"schedule.step_size must be at least 1, got {self.step_size}")
        if not self.gamma >= 0:
            raise ValueError(f"schedule.gamma must be >= 0, got {self.gamma}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(
                f"schedule.min_lr_ratio must lie between 0 and 1, got {self.min_lr_ratio}"
            )


def lr_factor(config: ScheduleConfig, step: int, max_steps: int) -> float:
    """The multiplier of the initial learning rate after ``step`` optimizer steps.

    ``linear`` falls in a straight line from 1 after the warm-up to ``min_lr_ratio`` at
    ``max_steps``: the decay to 0 of the ResNet GANs on CIFAR-10 (Gulrajani et al. 2017; the
    SNGAN and projection discriminator experiments of Miyato et al. 2018 and Miyato and
    Koyama 2018).
    """
    if config.warmup_steps and step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    if config.name == "step":
        return config.gamma ** (step // config.step_size)
    if config.name == "cosine":
        span = max(max_steps - config.warmup_steps, 1)
        progress = min((step - config.warmup_steps) / span, 1.0)
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        return config.min_lr_ratio + (1 - config.min_lr_ratio) * cosine
    if config.name == "linear":
        span = max(max_steps - config.warmup_steps, 1)
        progress = min((step - config.warmup_steps) / span, 1.0)
        return 1.0 - (1 - config.min_lr_ratio) * progress
    return 1.0


class Schedule:
    """Sets every optimizer's learning rate from its initial rate and :func:`lr_factor`.

    It holds no state of its own beyond the initial rates, so resuming at step N is exact. Create
    it before loading optimizer states, so that it reads the configured initial rates.
    """

    def __init__(self, config: ScheduleConfig, optimizers: Mapping[str, torch.optim.Optimizer],
                 max_steps: int) -> None:
        self.config = config
        self.optimizers = optimizers
        self.max_steps = max_steps
        self.initial = {
            name: [group["lr"] for group in opt.param_groups] for name, opt in optimizers.items()
        }

    def apply(self, step: int) -> None:
        factor = lr_factor(self.config, step, self.max_steps)
        for name, opt in self.optimizers.items():
            for group, lr in zip(opt.param_groups, self.initial[name]):
                group["lr"] = lr * factor

    def rates(self) -> dict[str, float]:
        return {name: opt.param_groups[0]["lr"] for name, opt in self.optimizers.items()}
