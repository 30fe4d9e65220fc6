"""``check_metric``: does a metric component keep the metric contract on given inputs?

labcore feeds a metric in batches of its own choosing, folds the shares of several processes
together, restores the real side from the reference cache and compares values across runs by the
metric's declared direction. Each of these only works when the metric's state reduces exactly and
its real side is complete in :meth:`~labcore.metrics.Metric.reference_state`. The checker feeds the
same features in the ways labcore does and demands the same value each time, and the value of an
independent reference computation; a failure names the property that broke and how to fix it.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch

from labcore.components import ContractError
from labcore.metrics.base import Metric

Reference = Callable[[torch.Tensor | None, torch.Tensor], Mapping[str, float]]


def _fail(name: str, prop: str, message: str) -> None:
    raise ContractError(f"metric {name!r}, {prop}: {message}")


@contextlib.contextmanager
def _property(name: str, prop: str) -> Iterator[None]:
    """Report an exception raised while checking ``prop`` as a failure of that property."""
    try:
        yield
    except ContractError:
        raise
    except Exception as exc:
        _fail(name, prop, f"raised {type(exc).__name__}: {' '.join(str(exc).split())}")


def _batches(x: torch.Tensor | None, size: int | None) -> list[torch.Tensor]:
    if x is None:
        return []
    if size is None:
        return [x]
    return [x[i : i + size] for i in range(0, x.shape[0], size)]


def _feed(
    metric: Metric, real: torch.Tensor | None, fake: torch.Tensor | None, size: int | None = None
) -> Metric:
    """Feed ``real`` and ``fake`` (either may be None) in batches of ``size`` rows (None: whole),
    alternating between the sides."""
    real_batches, fake_batches = _batches(real, size), _batches(fake, size)
    for index in range(max(len(real_batches), len(fake_batches))):
        if index < len(real_batches):
            metric.update(real_batches[index], real=True)
        if index < len(fake_batches):
            metric.update(fake_batches[index], real=False)
    return metric


def _differences(
    expected: Mapping[str, float], got: Mapping[str, float], rtol: float, atol: float
) -> list[str]:
    lines = []
    for key, value in expected.items():
        other = got.get(key)
        if other is None:
            lines.append(f"{key!r} is missing")
        elif not (
            (math.isnan(value) and math.isnan(other))
            or math.isclose(value, other, rel_tol=rtol, abs_tol=atol)
        ):
            lines.append(f"{key!r} is {other!r} instead of {value!r}")
    lines += [f"{key!r} is unexpected" for key in got if key not in expected]
    return lines


def _values(metric: Metric, prop: str) -> dict[str, float]:
    values = metric.compute()
    if not isinstance(values, Mapping) or not all(isinstance(k, str) for k in values):
        _fail(metric.name, prop, f"compute() returned {values!r}; return a dict of floats by name")
    bad = {k: v for k, v in values.items() if isinstance(v, bool) or not isinstance(v, int | float)}
    if bad:
        _fail(metric.name, prop, f"compute() gave non-float values {bad}; return Python floats")
    return {key: float(value) for key, value in values.items()}


def _check_declarations(metric: Metric, values: Mapping[str, float]) -> None:
    name = metric.name
    undeclared = sorted(set(values) - set(metric.higher_is_better))
    if undeclared:
        _fail(
            name,
            "direction",
            f"outputs {undeclared} have no entry in higher_is_better; declare True (higher is "
            "better), False (lower is better) or None (neither) for each key compute() returns",
        )
    sides = ("real_", "fake_") if metric.two_sample else ("fake_",)
    stray = [state for state in metric.reductions if not state.startswith(sides)]
    if stray:
        _fail(
            name,
            "state names",
            f"states {stray} start with neither of {list(sides)}: sync() would not reduce them "
            "and the reference cache would not store them; name each state after its side",
        )


def _round_trip(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` saved and loaded as the reference cache saves and loads it (``torch.save``,
    ``torch.load(weights_only=True)``)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, map_location="cpu", weights_only=True)


def check_metric(
    make_metric: Callable[[], Metric],
    real: torch.Tensor | None,
    fake: torch.Tensor,
    reference: Reference | None = None,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    batch_sizes: Sequence[int] = (1, 7),
) -> dict[str, float]:
    """Check that the metric ``make_metric()`` builds keeps the metric contract on these inputs.

    Args:
        make_metric: returns a fresh metric (a metric class, or a function setting its options).
        real: the real side's features (or logits), ``(N, D)``; ``None`` for a metric of the
            generated side only (``two_sample = False``).
        fake: the generated side's, ``(M, D)``.
        reference: an independent computation ``reference(real, fake)`` of the values, a dict by
            output name (keys it leaves out are not compared), ideally in float64 with numpy or
            scipy.
        rtol, atol: how close two values must be.
        batch_sizes: rows per ``update`` call in the batched feedings.

    Every value must be the same (within ``rtol``, ``atol``) when the sides are fed whole, in
    batches of each of ``batch_sizes`` (the sides alternating), after ``reset`` and a second
    feeding, as two uneven parts whose metrics are folded together with ``merge``, and when the
    real side is restored from its ``reference_state`` saved and loaded as the reference cache
    does; each output key must have a ``higher_is_better`` entry and each state a ``real_`` or
    ``fake_`` name; and the values must equal ``reference``'s.

    Returns:
        the values of the whole feeding.

    Raises:
        ContractError: naming the metric and the property that broke (``whole``, ``direction``,
            ``state names``, ``batching``, ``reset``, ``merge``, ``reference state``,
            ``reference``).
    """
    first = make_metric()
    name = first.name
    if first.two_sample and real is None:
        raise ValueError(f"metric {name!r} compares two samples: give the real features")
    if not first.two_sample and real is not None:
        raise ValueError(f"metric {name!r} measures generated samples only: give real=None")
    with _property(name, "whole"):
        whole = _values(_feed(first, real, fake), "whole")
    _check_declarations(first, whole)

    def same(prop: str, how: str, run: Callable[[], Metric], fix: str) -> None:
        with _property(name, prop):
            got = _values(run(), prop)
        lines = _differences(whole, got, rtol, atol)
        if lines:
            _fail(name, prop, f"{how}, {'; '.join(lines)} (rtol {rtol}, atol {atol}); {fix}")

    reduce_fix = (
        "state must reduce exactly (sums of per-row terms with 'sum', rows with 'cat'), never a "
        "mean or a value of the last batch"
    )
    for size in batch_sizes:
        how = f"fed in batches of {size} rather than whole"
        same("batching", how, lambda size=size: _feed(make_metric(), real, fake, size), reduce_fix)

    def after_reset() -> Metric:
        metric = _feed(make_metric(), real, fake, 5)
        metric.reset()
        return _feed(metric, real, fake)

    same(
        "reset",
        "fed again after reset()",
        after_reset,
        "declare every piece of state with add_state(), so that reset() and merge() see it",
    )

    def merged() -> Metric:
        cut_fake = max(1, fake.shape[0] // 3)
        cut_real = max(1, real.shape[0] // 3) if real is not None else 0
        head = _feed(make_metric(), real[:cut_real] if real is not None else None, fake[:cut_fake])
        tail = _feed(make_metric(), real[cut_real:] if real is not None else None, fake[cut_fake:])
        head.merge(tail)
        return head

    same(
        "merge",
        "fed as two uneven parts folded together with merge()",
        merged,
        f"{reduce_fix}; merge() and sync() combine each state as add_state() declared it",
    )

    def restored() -> Metric:
        state = _feed(make_metric(), real, None).reference_state()
        try:
            state = _round_trip(state)
        except Exception as exc:
            refused = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
            why = f"it holds a {refused[1]}" if refused else " ".join(str(exc).split())[:300]
            raise ValueError(
                "reference_state() cannot be saved and loaded as the reference cache does "
                f"(torch.save, then torch.load with weights_only=True): {why}"
            ) from exc
        metric = make_metric()
        metric.load_reference_state(state)
        return _feed(metric, None, fake)

    if first.two_sample:
        same(
            "reference state",
            "with the real side restored from reference_state() saved and loaded as the "
            "reference cache does",
            restored,
            "keep the real side in states named real_... (and what derives from it alone in "
            "derived_reference()), as tensors, lists of tensors or plain Python values",
        )

    if reference is not None:
        expected = {key: float(value) for key, value in reference(real, fake).items()}
        lines = [
            line
            for line in _differences(expected, whole, rtol, atol)
            if not line.endswith("is unexpected")
        ]
        if lines:
            _fail(
                name,
                "reference",
                f"against the reference computation, {'; '.join(lines)} (rtol {rtol}, atol "
                f"{atol}); the metric or the reference is wrong",
            )
    return whole
