"""Fixtures of the VAE tests: the digits and stand-ins for the trainer's contexts."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import torch

from labcore.batching import eval_batches
from labcore.optim import OptimizerFactory
from labcore_builtins.data import Digits

ADAM = {"name": "adam", "lr": 1e-3}


class StepContext:
    """A training context that applies ``ctx.step(name, loss)`` with the model's own optimizers."""

    def __init__(self, model: torch.nn.Module, optimizer: dict[str, Any] | None = None) -> None:
        self.device = torch.device("cpu")
        self.global_step = 0
        self.max_steps = 0
        self.optimizers = model.configure_optimizers(OptimizerFactory(optimizer or ADAM))

    def autocast(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def step(self, name: str, loss: torch.Tensor) -> None:
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


class EvalContext:
    """The evaluation context: a split's batches in order on the CPU."""

    device = torch.device("cpu")

    def __init__(self, batch_size: int = 128) -> None:
        self.batch_size = batch_size

    def batches(self, split: Any) -> Iterator[Any]:
        return eval_batches(split, self.batch_size, self.device)


def train(model: torch.nn.Module, split: Any, steps: int, batch_size: int = 64, seed: int = 0):
    """``steps`` Adam steps on random batches of a TensorSplit; returns the logs."""
    ctx = StepContext(model)
    generator = torch.Generator().manual_seed(seed)
    logs = []
    model.train()
    for step in range(steps):
        ctx.global_step = step
        index = torch.randint(0, len(split), (batch_size,), generator=generator)
        logs.append(model.training_step(split.batch(index), ctx))
    return logs


@pytest.fixture(scope="session")
def digits():
    """The digits in [-1, 1] (the data plugin's default split)."""
    return Digits(Digits.Config()).load()


@pytest.fixture
def eval_context():
    return EvalContext


@pytest.fixture
def train_model():
    """``train_model(model, split, steps, batch_size=64, seed=0)``: see :func:`train`."""
    return train
