"""Fixtures of the VAE tests: the digits and stand-ins for the trainer's contexts."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from labcore.testing import EvalContext, StepContext
from labcore_builtins.data import Digits


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
    """``eval_context(batch_size)``: an evaluation context on the CPU."""
    return EvalContext


@pytest.fixture
def train_model():
    """``train_model(model, split, steps, batch_size=64, seed=0)``: see :func:`train`."""
    return train
