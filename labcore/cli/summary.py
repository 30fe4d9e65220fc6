"""``labcore summary RECIPE``: a model's layers with their output shapes, parameters and FLOPs.

The recipe's dataset is loaded (for its ``info`` and, where needed, one example) and its model
built on the CPU; nothing is trained. The model then runs once on a representative input while a
forward hook on every module records its output shape and ``torch.utils.flop_counter``'s
``FlopCounterMode`` counts the floating-point operations. The input is either

- what the model's optional ``summary_inputs()`` returns: a dict mapping the name of a
  submodule (``""`` for the model itself, ``"generator"``, ``"discriminator"``) to the tuple of
  positional arguments of one forward call; each is called in turn, without gradients; or
- one training step on the first example of the train split (the whole batch of a graph
  dataset), with a context whose ``step`` updates nothing, for models without that method.

FLOPs follow torch's counter: two per multiply-add of matrix products and convolutions (bias
additions, normalisation, activations and pooling count zero). A module called several times
(a discriminator on real and generated images) shows the shape of its first call and the FLOPs
of all its calls.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from labcore.data import FullBatch
from labcore.recipes.recipe import Recipe
from labcore.train import preflight
from labcore.train.batching import eval_batches

CPU = torch.device("cpu")


class SummaryError(ValueError):
    """The model could not be run on its summary input; the message says why and what to fix."""


@dataclasses.dataclass
class LayerRow:
    """One module of the model: its qualified name (``""`` for the model), class name, nesting
    depth, output shape (``"-"`` when it was not called), parameters (its own and its
    submodules') and FLOPs (summed over its calls)."""

    name: str
    kind: str
    depth: int
    output: str
    parameters: int
    flops: int
    calls: int


@dataclasses.dataclass
class Summary:
    """The rows of every module, the input that was used, and the totals: ``parameters`` sums
    each parameter tensor once over all modules; ``flops`` is the counter's total."""

    model: str
    input: str
    rows: list[LayerRow]
    parameters: int
    trainable: int
    flops: int


class NullStepContext:
    """A training context whose ``step`` neither backpropagates nor updates anything."""

    device = CPU
    global_step = 0
    max_steps = 1

    def step(self, name: str, loss: torch.Tensor) -> None:
        """Accept the loss of optimizer ``name`` and do nothing with it."""

    def autocast(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()


def shape_text(value: Any) -> str:
    """The shape of a module output: ``(1, 6, 28, 28)`` for a tensor, the shapes of the items
    of a tuple, list or dict, the ``x`` of an object that has one (a graph), or its type."""
    if isinstance(value, torch.Tensor):
        return "(" + ", ".join(str(size) for size in value.shape) + ")"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(shape_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {shape_text(item)}" for key, item in value.items()) + "}"
    if isinstance(getattr(value, "x", None), torch.Tensor):
        return shape_text(value.x)
    return type(value).__name__


def _own_parameters(module: nn.Module, seen: set[int]) -> tuple[int, int]:
    """The parameters held directly by ``module`` not yet in ``seen``: (all, trainable)."""
    total = trainable = 0
    for parameter in module.parameters(recurse=False):
        if id(parameter) in seen:
            continue
        seen.add(id(parameter))
        total += parameter.numel()
        trainable += parameter.numel() if parameter.requires_grad else 0
    return total, trainable


def summary_calls(model: nn.Module, bundle: Any) -> tuple[str, list[Callable[[], Any]]]:
    """What to run for the summary: a description of the input and the calls to make."""
    make_inputs = getattr(model, "summary_inputs", None)
    if make_inputs is None:
        batch = next(iter(eval_batches(bundle.split("train"), 1, CPU)), None)
        if batch is None:
            raise SummaryError("the train split is empty: there is no example to run the model on")
        context = NullStepContext()
        whole = isinstance(bundle.split("train"), FullBatch)
        example = "the whole training batch (a graph)" if whole else "the first training example"
        return f"one training step on {example}", [
            lambda: model.training_step(batch, context)
        ]
    inputs = make_inputs()
    if not isinstance(inputs, dict) or not all(isinstance(a, tuple) for a in inputs.values()):
        raise SummaryError(
            f"{type(model).__name__}.summary_inputs() returned {type(inputs).__name__}; it must "
            "return a dict mapping submodule names ('' for the model) to tuples of arguments"
        )
    calls, described = [], []
    for name, arguments in inputs.items():
        try:
            module = model.get_submodule(name)
        except AttributeError:
            raise SummaryError(
                f"{type(model).__name__}.summary_inputs() names {name!r}, which is not a "
                "submodule of the model; use a name of model.named_modules()"
            ) from None
        calls.append(functools.partial(_call_without_grad, module, arguments))
        shapes = ", ".join(shape_text(argument) for argument in arguments)
        described.append(f"{name or 'model'} {shapes}")
    return "; ".join(described), calls


def _call_without_grad(module: nn.Module, arguments: tuple[Any, ...]) -> Any:
    with torch.no_grad():
        return module(*arguments)


def summarize(model: nn.Module, description: str, calls: list[Callable[[], Any]]) -> Summary:
    """Run ``calls`` on ``model`` in eval mode and gather a :class:`Summary` of it."""
    modules = list(model.named_modules())
    outputs: dict[int, str] = {}
    flops: dict[int, int] = {}
    counts: dict[int, int] = {}
    started: list[int] = []
    counter = FlopCounterMode(display=False)

    def before(module: nn.Module, args: Any) -> None:
        started.append(counter.get_total_flops())

    def after(module: nn.Module, args: Any, output: Any) -> None:
        key = id(module)
        outputs.setdefault(key, shape_text(output))
        flops[key] = flops.get(key, 0) + counter.get_total_flops() - started.pop()
        counts[key] = counts.get(key, 0) + 1

    handles = []
    for _, module in modules:
        handles.append(module.register_forward_pre_hook(before))
        handles.append(module.register_forward_hook(after))
    was_training = model.training
    model.eval()
    try:
        with counter:
            for call in calls:
                call()
    except (RuntimeError, ValueError, TypeError, IndexError, KeyError) as exc:
        text = " ".join(str(exc).split())[:300]
        raise SummaryError(
            f"model {getattr(model, 'name', type(model).__name__)!r} failed on its summary input "
            f"({description}): {type(exc).__name__}: {text}"
        ) from None
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    seen: set[int] = set()
    total = trainable = 0
    rows = []
    for name, module in modules:
        own, own_trainable = _own_parameters(module, seen)
        total, trainable = total + own, trainable + own_trainable
        key = id(module)
        rows.append(
            LayerRow(
                name=name,
                kind=type(module).__name__,
                depth=name.count(".") + 1 if name else 0,
                output=outputs.get(key, "-"),
                parameters=sum(p.numel() for p in module.parameters()),
                flops=flops.get(key, 0),
                calls=counts.get(key, 0),
            )
        )
    name = getattr(model, "name", type(model).__name__)
    return Summary(name, description, rows, total, trainable, counter.get_total_flops())


def summarize_recipe(recipe: Recipe) -> Summary:
    """Load the recipe's data, build its model on the CPU and summarise it."""
    bundle = preflight.load_data(recipe)
    model = preflight.build_model(recipe.model_cls, recipe.model_config, bundle.info, CPU)
    description, calls = summary_calls(model, bundle)
    return summarize(model, description, calls)


def format_summary(summary: Summary, max_depth: int | None = None) -> list[str]:
    """The summary as the lines of a table, modules nested deeper than ``max_depth`` left out
    (their parameters and FLOPs are in their parents' rows and in the totals)."""
    shown = [r for r in summary.rows if max_depth is None or r.depth <= max_depth]
    names = ["  " * row.depth + (row.name or summary.model) for row in shown]
    outputs = [row.output + (f" x{row.calls}" if row.calls > 1 else "") for row in shown]
    header = ("layer", "type", "output", "parameters", "FLOPs")
    widths = [
        max(len(header[0]), *map(len, names)),
        max(len(header[1]), *(len(row.kind) for row in shown)),
        min(48, max(len(header[2]), *map(len, outputs))),
    ]
    numbers = [(f"{row.parameters:,}", f"{row.flops:,}") for row in shown]
    widths += [
        max(len(header[3]), *(len(p) for p, _ in numbers)),
        max(len(header[4]), *(len(f) for _, f in numbers)),
    ]

    def line(cells: tuple[str, ...]) -> str:
        left = [cell.ljust(width) for cell, width in zip(cells[:3], widths[:3], strict=True)]
        right = [cell.rjust(width) for cell, width in zip(cells[3:], widths[3:], strict=True)]
        return "  ".join(left + right).rstrip()

    lines = [f"input: {summary.input}", line(header)]
    for name, row, output, (parameters, flops) in zip(names, shown, outputs, numbers, strict=True):
        lines.append(line((name, row.kind, output, parameters, flops)))
    lines += [
        f"total: {summary.parameters:,} parameters ({summary.trainable:,} trainable), "
        f"{summary.flops:,} FLOPs ({summary.flops // 2:,} multiply-adds)",
        "FLOPs as torch.utils.flop_counter counts them: 2 per multiply-add of matrix products",
        "and convolutions; elementwise operations, normalisation and pooling count 0",
    ]
    return lines
