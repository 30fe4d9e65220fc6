"""Fixtures of the classifier tests: the trainer's contexts, to drive models directly."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import torch

from labcore.train.batching import eval_batches


class StepContext:
    """A training context that applies ``ctx.step("main", loss)`` with one Adam optimizer."""

    device = torch.device("cpu")
    global_step = 0
    max_steps = 0

    def __init__(self, model: torch.nn.Module, lr: float = 1e-3) -> None:
        self.optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        self.calls: list[str] = []

    def autocast(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def step(self, name: str, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.calls.append(name)


class EvalContext:
    """The evaluation context: a split's batches in order on the CPU."""

    device = torch.device("cpu")

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    def batches(self, split: Any) -> Iterator[Any]:
        return eval_batches(split, self.batch_size, self.device)


@pytest.fixture
def step_context():
    """``step_context(model, lr=1e-3)``: a training context with one Adam optimizer."""
    return StepContext


@pytest.fixture
def eval_context():
    """``eval_context(batch_size)``: an evaluation context on the CPU."""
    return EvalContext
