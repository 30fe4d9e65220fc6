"""Fixtures of the sequence tests: stand-ins for the trainer's contexts, to drive models."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
import torch

from labcore.testing import EvalContext


class StepRecorder:
    """A training context that applies each ``ctx.step`` with ``optimizer`` (or only records it)."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer | None = None,
        on_step: Callable[[torch.Tensor], None] | None = None,
        clip: float = 0.0,
    ) -> None:
        self.optimizer = optimizer
        self.on_step = on_step
        self.clip = clip
        self.device = torch.device("cpu")
        self.global_step = 0
        self.max_steps = 0
        self.losses: list[float] = []

    def autocast(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def step(self, name: str, loss: torch.Tensor) -> None:
        assert name == "main"
        self.losses.append(float(loss.detach()))
        if self.on_step is not None:
            self.on_step(loss)
        if self.optimizer is not None:
            self.optimizer.zero_grad()
            loss.backward()
            if self.clip:
                params = [p for group in self.optimizer.param_groups for p in group["params"]]
                torch.nn.utils.clip_grad_norm_(params, self.clip)
            self.optimizer.step()


def train(
    model: torch.nn.Module,
    split: Any,
    steps: int,
    batch_size: int = 32,
    lr: float = 3e-3,
    clip: float = 1.0,
    seed: int = 0,
) -> StepRecorder:
    """``steps`` steps of Adam on random batches of a TensorSplit, gradient norms clipped."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    ctx = StepRecorder(torch.optim.Adam(model.parameters(), lr=lr), clip=clip)
    for _ in range(steps):
        index = torch.randint(0, len(split), (batch_size,), generator=generator)
        model.training_step(split.batch(index), ctx)
    return ctx


@pytest.fixture
def step_recorder():
    """``step_recorder(optimizer=None, on_step=None)``: a training context (see StepRecorder)."""
    return StepRecorder


@pytest.fixture
def eval_context():
    """``eval_context(batch_size)``: an evaluation context on the CPU."""
    return EvalContext


@pytest.fixture
def train_model():
    """``train_model(model, split, steps, batch_size, lr, clip, seed)``: see :func:`train`."""
    return train
