"""The metric contract: state, ``update``, ``compute``, ``reset``, in the manner of torchmetrics.

A metric accumulates state from batches of features (or logits) through ``update`` and reports
through ``compute``. Every piece of state is declared with :meth:`Metric.add_state` together with
how it reduces across processes: ``"sum"`` (running sums, e.g. FID's first and second moments) or
``"cat"`` (concatenation, e.g. the features a nearest-neighbour metric needs). :meth:`Metric.merge`
applies these reductions to fold another instance's state into this one, and :meth:`Metric.sync`
applies them across the processes of a distributed run; the result never depends on how the data
was batched or shared out.

Two-sample metrics (FID, KID, 1-NN, precision/recall) compare real against generated data:
``update(x, real=True)`` feeds the real side, ``update(x, real=False)`` the generated side. The real
side's state (and anything derived from it alone, such as FID's covariance factor or the k-NN radii)
is what :meth:`Metric.reference_state` returns, so that it can be cached with the reference
statistics of a dataset split and restored with :meth:`Metric.load_reference_state`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Literal

import torch

from labcore import distributed
from labcore.components import Component

Reduction = Literal["sum", "cat"]

SIDE_NAMES = {"real": "real", "fake": "generated"}
"""How messages name the two sides of a two-sample metric."""


class Metric(Component):
    """Base class of metric components.

    Subclasses set ``name``, ``Config`` (options named as the ``[evaluate]`` keys that set them),
    ``input`` (the extractor output they read: ``"features"`` or ``"logits"``), ``two_sample``,
    ``higher_is_better`` (per output key) and ``state_version``, declare their state in
    ``__init__`` with :meth:`add_state`, and implement :meth:`update` and :meth:`compute`.
    ``compute`` returns a dict of floats; facts worth recording beside the values (a resolved
    bandwidth, an effective subset size, warnings) go to ``self.notes``.
    """

    kind: ClassVar[str] = "metric"
    input: ClassVar[str] = "features"
    two_sample: ClassVar[bool] = True
    higher_is_better: ClassVar[dict[str, bool | None]] = {}
    """Per output key of ``compute()``: True when higher values are better, False when lower,
    None when neither (a standard deviation; a score whose ideal lies in the middle)."""
    state_version: ClassVar[int] = 1
    """Raise it whenever the meaning or layout of the real side's state changes: the reference
    cache keys each metric's state with it (and with the state names), so stale state is never
    reused."""

    def __init__(self, config: Any = None) -> None:
        self.config = config if config is not None else self.Config()
        self._defaults: dict[str, torch.Tensor | list] = {}
        self._reductions: dict[str, Reduction] = {}
        self._derived: dict[str, Any] = {}
        self.notes: dict[str, Any] = {}

    # -- state -------------------------------------------------------------------------------

    def add_state(self, name: str, default: torch.Tensor | list, reduce: Reduction) -> None:
        """Declare state ``name``: a tensor reduced by ``"sum"`` or a list reduced by ``"cat"``."""
        if reduce == "sum" and not isinstance(default, torch.Tensor):
            raise TypeError(f"state {name!r}: a 'sum' state needs a tensor default")
        if reduce == "cat" and default != []:
            raise TypeError(f"state {name!r}: a 'cat' state starts as an empty list")
        if reduce not in ("sum", "cat"):
            raise ValueError(f"state {name!r}: reduce must be 'sum' or 'cat', got {reduce!r}")
        self._defaults[name] = default
        self._reductions[name] = reduce
        setattr(self, name, self._fresh(name))

    def _fresh(self, name: str) -> torch.Tensor | list:
        default = self._defaults[name]
        return default.clone() if isinstance(default, torch.Tensor) else []

    @property
    def reductions(self) -> dict[str, Reduction]:
        """How each state reduces across processes, by state name."""
        return dict(self._reductions)

    def states(self) -> dict[str, torch.Tensor | list]:
        return {name: getattr(self, name) for name in self._defaults}

    def reset(self) -> None:
        """Forget everything seen: every state back to its default."""
        for name in self._defaults:
            setattr(self, name, self._fresh(name))
        self._derived = {}
        self.notes = {}

    def merge(self, other: Metric) -> None:
        """Fold ``other``'s state into this one (sums add, lists concatenate, in that order)."""
        if type(other) is not type(self):
            raise TypeError(f"cannot merge {type(other).__name__} into {type(self).__name__}")
        for name in self._defaults:
            mine, theirs = getattr(self, name), getattr(other, name)
            if isinstance(mine, torch.Tensor):
                theirs = theirs.to(mine.device) if isinstance(theirs, torch.Tensor) else theirs
            setattr(self, name, mine + theirs)
        self._derived = {}

    def sync(self, side: str = "fake") -> None:
        """Reduce ``side``'s state over the processes of a distributed run, each having fed its
        share of the samples: sums are all-reduced, lists gathered in rank order (so a rank's
        contiguous block of samples keeps its place). Nothing changes in one process."""
        for name, reduce in self._reductions.items():
            if not name.startswith(f"{side}_"):
                continue
            value = getattr(self, name)
            if reduce == "sum":
                setattr(self, name, distributed.sum_over_ranks(value))
            else:
                rows = distributed.gather_rows(torch.cat(value) if value else None)
                setattr(self, name, [] if rows is None else [rows])
        if side == "real":
            self._derived = {}

    def side(self, real: bool) -> str:
        """The state prefix of the side an update feeds: ``"real"`` or ``"fake"``.

        Feeding the real side forgets what was derived from it (see :meth:`derived_reference`).
        """
        if real and not self.two_sample:
            raise ValueError(f"metric {self.name!r} measures generated samples only (real=False)")
        if real:
            self._derived = {}
        return "real" if real else "fake"

    def check_rows(self, x: torch.Tensor, side: str, what: str = "features") -> None:
        """A ValueError naming the metric and ``side`` unless ``x`` is ``(N, D)`` and finite.

        Non-finite values would otherwise give silent numbers (k-NN metrics) or fail deep in a
        linear-algebra routine (FID).
        """
        if x.dim() != 2:
            raise ValueError(
                f"{self.name}: expects {what} of shape (N, D), got {tuple(x.shape)} on the "
                f"{SIDE_NAMES[side]} side"
            )
        bad_rows = (~torch.isfinite(x)).any(1)
        if bool(bad_rows.any()):
            first = bad_rows.nonzero()[:5, 0].tolist()
            raise ValueError(
                f"{self.name}: {int(bad_rows.sum())} of the {x.shape[0]} {SIDE_NAMES[side]} "
                f"{what} vectors hold NaN or infinite values (rows {first} of this batch); "
                "the samples or the extractor produced them: fix those first"
            )

    def cat(self, name: str) -> torch.Tensor:
        """The concatenation of the ``cat`` state ``name``, or a ValueError when it is empty."""
        parts = getattr(self, name)
        if not parts:
            side = name.split("_")[0]
            raise ValueError(f"metric {self.name!r} has no {side} samples; call update() first")
        return torch.cat(parts) if len(parts) > 1 else parts[0]

    # -- reference side -----------------------------------------------------------------------

    def reference_layout(self) -> dict[str, Any]:
        """What the cached real side of this metric depends on besides the data and the options:
        the class, its ``state_version`` and the names and reductions of its ``real_`` states."""
        cls = type(self)
        return {
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "state_version": self.state_version,
            "real_states": {n: r for n, r in self._reductions.items() if n.startswith("real_")},
        }

    def reference_state(self) -> dict[str, Any]:
        """The real side's state and what is derived from it alone, to cache with the split."""
        state: dict[str, Any] = {}
        for name in self._defaults:
            if name.startswith("real_"):
                value = getattr(self, name)
                state[name] = list(value) if isinstance(value, list) else value
        state.update(self.derived_reference())
        return state

    def load_reference_state(self, state: dict[str, Any]) -> None:
        """Restore a real side saved by :meth:`reference_state`."""
        for name, value in state.items():
            if name in self._defaults:
                setattr(self, name, list(value) if isinstance(value, list) else value)
            else:
                self._derived[name] = value

    def derived_reference(self) -> dict[str, Any]:
        """Quantities computed from the real side alone, worth caching (none by default)."""
        return {}

    # -- the work ------------------------------------------------------------------------------

    def update(self, x: torch.Tensor, real: bool = False) -> None:
        raise NotImplementedError

    def compute(self) -> dict[str, float]:
        raise NotImplementedError

    def options(self) -> dict[str, Any]:
        """The metric's options, as recorded in metrics.json."""
        return dataclasses.asdict(self.config)


class FeatureSetsMetric(Metric):
    """A two-sample metric that keeps the features of both sides (states ``real_x``, ``fake_x``)."""

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self.add_state("real_x", [], "cat")
        self.add_state("fake_x", [], "cat")

    def update(self, x: torch.Tensor, real: bool = False) -> None:
        side = self.side(real)
        self.check_rows(x, side)
        getattr(self, f"{side}_x").append(x.detach())

    def min_samples(self) -> int:
        """Samples each side needs at least (leave-one-out statistics need two)."""
        return 2

    def sides(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The real and the generated features, ``(N, D)`` and ``(M, D)`` on the real side's
        device, or a ValueError when a side has too few samples or the widths differ."""
        real, fake = self.cat("real_x"), self.cat("fake_x")
        for side, x in (("real", real), ("fake", fake)):
            if x.shape[0] < self.min_samples():
                raise ValueError(
                    f"{self.name}: needs at least {self.min_samples()} samples per side, the "
                    f"{SIDE_NAMES[side]} side has {x.shape[0]}"
                )
        if real.shape[1] != fake.shape[1]:
            raise ValueError(
                f"{self.name}: the real features are {real.shape[1]}-dimensional, the generated "
                f"ones {fake.shape[1]}-dimensional; both sides need the same extractor"
            )
        self.notes.update(num_real=real.shape[0], num_fake=fake.shape[0])
        return real, fake.to(real.device)
