"""Fixtures of the GAN tests: stand-ins for the trainer's contexts, to drive models directly."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import torch

from labcore.batching import eval_batches
from labcore.optim import OptimizerFactory

ADAM = {"name": "adam", "lr": 2e-4, "betas": [0.5, 0.999]}


class StepContext:
    """A training context that applies ``ctx.step(name, loss)`` with the model's own optimizers.

    ``calls`` records the optimizer names in the order the model stepped them.
    """

    def __init__(self, model: torch.nn.Module, optimizer: dict[str, Any] | None = None) -> None:
        self.device = torch.device("cpu")
        self.global_step = 0
        self.max_steps = 0
        self.optimizers = model.configure_optimizers(OptimizerFactory(optimizer or ADAM))
        self.calls: list[str] = []

    def autocast(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def step(self, name: str, loss: torch.Tensor) -> None:
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        self.calls.append(name)


class EvalContext:
    """The evaluation context: a split's batches in order on the CPU."""

    device = torch.device("cpu")

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    def batches(self, split: Any) -> Iterator[Any]:
        return eval_batches(split, self.batch_size, self.device)


def train(
    model: torch.nn.Module,
    split: Any,
    steps: int,
    batch_size: int = 32,
    seed: int = 0,
    optimizer: dict[str, Any] | None = None,
    ctx: StepContext | None = None,
) -> tuple[StepContext, list[dict[str, float]]]:
    """``steps`` training steps on random batches of a TensorSplit; returns the context and logs."""
    ctx = ctx or StepContext(model, optimizer)
    generator = torch.Generator().manual_seed(seed)
    logs = []
    model.train()
    for _ in range(steps):
        index = torch.randint(0, len(split), (batch_size,), generator=generator)
        logs.append(model.training_step(split.batch(index), ctx))
        ctx.global_step += 1
    return ctx, logs


@pytest.fixture
def step_context():
    """``step_context(model, optimizer=None)``: a training context over the model's optimizers."""
    return StepContext


@pytest.fixture
def eval_context():
    """``eval_context(batch_size)``: an evaluation context on the CPU."""
    return EvalContext


@pytest.fixture
def train_model():
    """``train_model(model, split, steps, batch_size, seed, optimizer, ctx)``: see :func:`train`."""
    return train
