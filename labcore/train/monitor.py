"""The monitored metric: which evaluation was the best so far, and when to stop waiting for a
better one.

``[train] monitor = "val/accuracy"`` names a metric of the periodic evaluation (every
``train.eval_every`` steps, on ``train.eval_split``). At each evaluation the trainer hands the
metrics to :class:`Monitor`; a new best is kept as ``checkpoints/best.pt``, and after ``patience``
evaluations without one the run stops early. The monitor's state is part of every checkpoint, so a
resumed run keeps the best value and the count of evaluations without improvement exactly.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from labcore.measurement import Mode


@dataclasses.dataclass
class Monitor:
    """The best value of ``metric`` so far and the evaluations since it.

    A value counts as an improvement when it beats the best by more than ``min_delta`` in the
    direction of ``mode``; a NaN never does. ``patience`` (0: never) evaluations in a row without
    improvement exhaust the monitor.
    """

    metric: str
    mode: Mode
    patience: int = 0
    min_delta: float = 0.0
    best: float | None = None
    best_step: int = 0
    bad_evaluations: int = 0
    last_step: int = 0

    def value_of(self, metrics: dict[str, float]) -> float:
        """The monitored value among ``metrics``; a ValueError naming the ones there are."""
        if self.metric not in metrics:
            there = ", ".join(sorted(metrics)) or "none"
            raise ValueError(
                f"train.monitor = {self.metric!r}: the periodic evaluation gives no such metric "
                f"(it gives: {there}); set train.monitor to one of them"
            )
        return float(metrics[self.metric])

    def is_improvement(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.best is None:
            return True
        if self.mode == "max":
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def update(self, step: int, metrics: dict[str, float]) -> bool:
        """Count the evaluation at ``step``; True when it is the new best."""
        value = self.value_of(metrics)
        self.last_step = step
        if self.is_improvement(value):
            self.best, self.best_step, self.bad_evaluations = value, step, 0
            return True
        self.bad_evaluations += 1
        return False

    @property
    def exhausted(self) -> bool:
        return self.patience > 0 and self.bad_evaluations >= self.patience

    def stop_reason(self) -> str:
        return (
            f"no improvement of {self.metric} in {self.bad_evaluations} evaluations "
            f"(patience {self.patience}); best {self.best:.6g} at step {self.best_step}"
        )

    def state_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "best": self.best,
            "best_step": self.best_step,
            "bad_evaluations": self.bad_evaluations,
            "last_step": self.last_step,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take over a checkpoint's state; one of another metric (the recipe changed) is left."""
        if state.get("metric") != self.metric:
            return
        self.best = state["best"]
        self.best_step = int(state["best_step"])
        self.bad_evaluations = int(state["bad_evaluations"])
        self.last_step = int(state.get("last_step", 0))


def selection_note(record: dict[str, Any]) -> str:
    """A sentence for the report: which weights the final evaluation used, and why training
    stopped early if it did (from ``metrics.json``)."""
    weights = record.get("weights") or {}
    parts = []
    if weights.get("final") == "best":
        parts.append(
            f"The final evaluation used the best weights of {weights['monitor']} "
            f"({weights['value']:.6g} at step {weights['step']}), kept as `checkpoints/best.pt`."
        )
    elif weights.get("monitor"):
        parts.append(
            f"The final evaluation used the last weights (best {weights['monitor']}: "
            f"{weights['value']:.6g} at step {weights['step']}, kept as `checkpoints/best.pt`)."
        )
    if record.get("stopped_early"):
        parts.append(f"Training stopped early at step {record['step']}: {record['stopped_early']}.")
    return " ".join(parts)
