"""Fixtures of the GAN tests: stand-ins for the trainer's contexts, to drive models directly."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from labcore.testing import EvalContext, StepContext

ADAM = {"name": "adam", "lr": 2e-4, "betas": [0.5, 0.999]}


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
    ctx = ctx or StepContext(model, optimizer or ADAM)
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
    return lambda model, optimizer=None: StepContext(model, optimizer or ADAM)


@pytest.fixture
def eval_context():
    """``eval_context(batch_size)``: an evaluation context on the CPU."""
    return EvalContext


@pytest.fixture
def train_model():
    """``train_model(model, split, steps, batch_size, seed, optimizer, ctx)``: see :func:`train`."""
    return train
