"""The model contract: what the trainer calls on a model, and what it hands to it.

A model is a ``torch.nn.Module`` and a component. The trainer knows nothing else about it:

``configure_optimizers(make)``
    Returns the named optimizers. ``make(name, params)`` builds one from the recipe's
    ``[optimizer]`` section, overridden by ``[optimizer.<name>]`` (so a GAN's recipe can give the
    generator and the discriminator their own learning rates). The default is one optimizer,
    ``main``, over all parameters.

``training_step(batch, ctx)``
    Does one training step and returns a dict of scalars to log. For every optimizer update it calls
    ``ctx.step(name, loss)``: the trainer then scales the loss (mixed precision), backpropagates,
    clips gradients and steps that optimizer. n-critic schedules, gradient penalties and alternating
    updates therefore stay in the model; precision, clipping and DDP stay in the trainer.

``evaluate(split, ctx)`` (optional)
    The model's natural evaluation on a split (accuracy, ELBO, ...), as a dict of floats.

``sample(n, *, generator, condition=None)`` (generative models)
    ``n`` samples as a tensor in the data's value range, drawn with the given ``torch.Generator``.

``sample_grid(generator, bundle)`` (optional)
    The images of the periodic sample grid, see :meth:`Model.sample_grid`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar, Protocol

import torch
from torch import nn

from labcore.components import Component

OptimizerFactory = Callable[[str, Iterable[nn.Parameter]], torch.optim.Optimizer]


class StepContext(Protocol):
    """What a model sees of the trainer during ``training_step``."""

    device: torch.device
    global_step: int
    max_steps: int

    def step(self, name: str, loss: torch.Tensor) -> None:
        """Backpropagate ``loss`` and update optimizer ``name`` (zeroing its gradients first)."""

    def autocast(self) -> Any:
        """The mixed-precision context of the run (a no-op context in full precision)."""


class EvalContext(Protocol):
    """What a model sees during evaluation."""

    device: torch.device
    batch_size: int

    def batches(self, split: Any) -> Iterator[Any]:
        """The split's batches in order, on the device (no shuffling, nothing dropped)."""


class Model(nn.Module, Component):
    """Base class of every model component.

    Subclasses set ``name`` and ``Config`` and implement ``__init__(config, info)`` (``info`` is the
    dataset's :attr:`~labcore.data.DataBundle.info`) and ``training_step``.
    """

    kind: ClassVar[str] = "model"
    grid_caption: ClassVar[str] = "Every grid of a run comes from the same fixed noise."
    """What the periodic sample grids show, written under them in the run's report."""

    def __init__(self, config: Any, info: dict[str, Any]) -> None:
        super().__init__()
        self.config = config
        self.info = info

    def configure_optimizers(self, make: OptimizerFactory) -> dict[str, torch.optim.Optimizer]:
        return {"main": make("main", self.parameters())}

    def training_step(self, batch: Any, ctx: StepContext) -> dict[str, Any]:
        raise NotImplementedError(f"model {self.name!r} does not implement training_step")

    @property
    def can_sample(self) -> bool:
        return type(self).sample is not Model.sample

    @property
    def samples_from_ema(self) -> bool:
        """Whether :meth:`sample` draws from a moving average of the weights (recorded beside
        every output of `labcore sample`)."""
        return False

    @property
    def can_evaluate(self) -> bool:
        return type(self).evaluate is not Model.evaluate

    def evaluate(self, split: Any, ctx: EvalContext) -> dict[str, float]:
        raise NotImplementedError(f"model {self.name!r} has no evaluate()")

    def sample_grid(
        self, generator: torch.Generator, bundle: Any
    ) -> tuple[torch.Tensor, int] | None:
        """Images for the periodic sample grid and the number per row, or None.

        The default draws 64 samples, 8 per row. Conditional models override it (one row per
        class); image-to-image models show input | output | target triplets from ``bundle``.
        """
        if not self.can_sample:
            return None
        return self.sample(64, generator=generator), 8

    def sample(
        self, n: int, *, generator: torch.Generator, condition: torch.Tensor | None = None
    ) -> torch.Tensor:
        raise NotImplementedError(
            f"model {self.name!r} cannot sample: it is not a generative model"
        )
