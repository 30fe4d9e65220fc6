"""Training curves as PNG figures, for one run or several overlaid.

Plots use matplotlib, already a labcore dependency and the plotting library the model families
use for their own figures. Figures are made with :class:`matplotlib.figure.Figure` and the Agg
canvas directly, never through ``pyplot``: no display, no global figure state, and no backend to
switch, so reports can be written from the trainer, from tests and from worker processes alike.

Three rules keep every line readable:

- one panel per quantity. A run's learning rates share a "learning rate" panel; with several runs
  each ``lr/<optimizer>`` has a panel of its own, the runs overlaid in it. A training value that
  runs of different models (runs logging different sets of training values) log under one name,
  a GAN's ``g_loss`` and a WGAN's on different scales, gets one panel per model;
- lines that coincide stay visible: a run's identical learning rates are drawn once and labelled
  together ("generator, discriminator (same)"); an overlaid run's line that lies on an earlier
  one is drawn dashed and thinner over it;
- a panel whose values span more than :data:`LOG_DECADES` decades is drawn on a log scale
  (``symlog`` when some values are zero or negative), and its axis label says so.

Every panel of a figure spans the same steps, so that an evaluation made once or twice sits
where it was made in training, and tick labels have the digits that tell them apart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import Formatter, MaxNLocator, SymmetricalLogLocator

Series = dict[str, tuple[list[int], list[float]]]

LR_PREFIX = "lr/"
COLUMNS = 3
PANEL_SIZE = (3.7, 2.5)  # inches, at 100 dpi
COLORS = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22",
]  # fmt: skip
#: Line styles of a run's distinct learning rates, after their colours.
LINE_STYLES = ["-", "--", ":", "-."]
#: A panel whose magnitudes span more than this many decades is drawn on a log scale.
LOG_DECADES = 2.0
#: The linear range of a symlog axis reaches at least this fraction of the largest magnitude.
SYMLOG_FLOOR = 1e-4
LINE_WIDTH = 1.3


def panels(keys: list[str]) -> list[tuple[str, list[str]]]:
    """Group one run's series keys into panels: every ``lr/*`` key in one "learning rate" panel
    (one line per optimizer), every other key in a panel of its own, in the given order."""
    out: list[tuple[str, list[str]]] = []
    rates = [k for k in keys if k.startswith(LR_PREFIX)]
    for key in keys:
        if key.startswith(LR_PREFIX):
            if key == rates[0]:
                out.append(("learning rate", rates))
        else:
            out.append((key, [key]))
    return out


def is_evaluation(key: str) -> bool:
    """Whether ``key`` is a periodic evaluation's ``split/metric`` (not a learning rate)."""
    return "/" in key and not key.startswith(LR_PREFIX)


def training_keys(series: Series) -> frozenset[str]:
    """The training values a run logs (no learning rates, no evaluations): what tells its model
    apart from other models in a comparison."""
    return frozenset(k for k in series if not k.startswith(LR_PREFIX) and not is_evaluation(k))


def comparison_panels(runs: Mapping[str, Series]) -> list[tuple[str, str, list[str]]]:
    """The panels of several runs overlaid, as ``(title, key, run labels)``: one per quantity.

    Each key is one quantity (learning rates included, one panel per optimizer), except a
    training value logged by runs that log different sets of training values, that is by
    different models: it gets a panel per set, titled with the runs it holds, since a GAN's
    ``g_loss`` and a WGAN's share a name and nothing else.
    """
    keys = list(dict.fromkeys(k for series in runs.values() for k in series))
    out = []
    for key in keys:
        holders = [label for label, series in runs.items() if key in series]
        name = f"learning rate {key.removeprefix(LR_PREFIX)}" if key.startswith(LR_PREFIX) else key
        if key.startswith(LR_PREFIX) or is_evaluation(key):
            out.append((name, key, holders))
            continue
        models: dict[frozenset[str], list[str]] = {}
        for label in holders:
            models.setdefault(training_keys(runs[label]), []).append(label)
        if len(models) == 1:
            out.append((name, key, holders))
        else:
            out += [(f"{name} · {', '.join(group)}", key, group) for group in models.values()]
    return out


def scale_of(values: list[float]) -> tuple[str, float]:
    """The y scale for ``values``: ``("linear", 0)``, ``("log", 0)`` when they are positive and
    span more than :data:`LOG_DECADES` decades, or ``("symlog", linthresh)`` when their nonzero
    magnitudes do so but some are zero or negative (linear within ``+-linthresh``)."""
    magnitudes = [abs(v) for v in values if v != 0 and math.isfinite(v)]
    if not magnitudes or math.log10(max(magnitudes) / min(magnitudes)) <= LOG_DECADES:
        return "linear", 0.0
    if all(v > 0 for v in values):
        return "log", 0.0
    return "symlog", max(min(magnitudes), max(magnitudes) * SYMLOG_FLOOR)


class DistinctTicks(Formatter):
    """Plain tick labels with as few significant digits as keep them apart: three where they
    suffice, more where close ticks (19.85, 19.9) would otherwise read alike."""

    def __init__(self) -> None:
        self.digits = 3

    def set_locs(self, locs: list[float]) -> None:
        self.digits = next(
            (
                digits
                for digits in range(3, 10)
                if len({f"{v:.{digits}g}" for v in locs}) == len(set(locs))
            ),
            10,
        )

    def __call__(self, value: float, pos: int | None = None) -> str:
        return f"{value:.{self.digits}g}"


class SymlogTicks(SymmetricalLogLocator):
    """A symlog axis' decades, without the ones inside the linear range around zero, where they
    would crowd the zero tick."""

    def __init__(self, linthresh: float) -> None:
        super().__init__(base=10, linthresh=linthresh)
        self.linear_range = linthresh

    def tick_values(self, vmin: float, vmax: float) -> list[float]:
        ticks = super().tick_values(vmin, vmax)
        return [t for t in ticks if t == 0 or abs(t) >= self.linear_range * (1 - 1e-9)]


def _style(axes: Axes, title: str, values: list[float]) -> None:
    """Title, integer steps, the y scale, plain tick labels, and a visible band around a
    constant value."""
    axes.set_title(title, fontsize=10)
    axes.set_xlabel("step", fontsize=8)
    axes.tick_params(labelsize=8)
    axes.grid(True, alpha=0.3)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    scale, linthresh = scale_of(values)
    if scale == "log":
        axes.set_yscale("log")
        axes.set_ylabel("log scale", fontsize=8)
    elif scale == "symlog":
        axes.set_yscale("symlog", linthresh=linthresh)
        axes.yaxis.set_major_locator(SymlogTicks(linthresh))
        axes.set_ylabel(f"symlog scale (linear within ±{linthresh:.2g})", fontsize=8)
    axes.yaxis.set_major_formatter(DistinctTicks())
    if scale == "linear" and values and min(values) == max(values):
        middle = values[0]
        half = abs(middle) * 0.5 or 1.0
        axes.set_ylim(middle - half, middle + half)


def _marker(key: str, steps: list[int]) -> str | None:
    """Evaluations have few points: drawn with markers, as is any single point."""
    return "o" if is_evaluation(key) or len(steps) == 1 else None


def _draw_run(axes: Axes, series: Series, members: list[str]) -> list[float]:
    """One run's members of a panel, a colour and line style each; identical lines (the same
    learning rate for every optimizer) are drawn once and labelled together. Returns the values
    drawn."""
    lines: dict[tuple, list[str]] = {}
    for key in members:
        if key in series:
            steps, values = series[key]
            lines.setdefault((tuple(steps), tuple(values)), []).append(key)
    drawn: list[float] = []
    several = len(members) > 1
    for index, ((steps, values), keys) in enumerate(lines.items()):
        names = [k.removeprefix(LR_PREFIX) if several else k for k in keys]
        label = f"{', '.join(names)} (same)" if len(names) > 1 else names[0]
        axes.plot(
            steps,
            values,
            color=COLORS[index % len(COLORS)],
            linestyle=LINE_STYLES[index % len(LINE_STYLES)],
            marker=_marker(keys[0], list(steps)),
            markersize=3,
            linewidth=LINE_WIDTH,
            label=label,
        )
        drawn += values
    if several:
        axes.legend(fontsize=7, frameon=False)
    return drawn


def coincides(steps: list[int], values: list[float], other: tuple[list[int], list[float]]) -> bool:
    """Whether the line ``(steps, values)`` lies on the line ``other`` for half or more of its
    points within ``other``'s steps (``other`` interpolated linearly between its points)."""
    other_steps, other_values = other
    inside = [(s, v) for s, v in zip(steps, values) if other_steps[0] <= s <= other_steps[-1]]
    if not inside or 2 * len(inside) < len(steps):
        return False
    at = np.interp([s for s, _ in inside], other_steps, other_values)
    span = max(map(abs, [*values, *other_values])) or 1.0
    close = np.abs(np.array([v for _, v in inside]) - at) <= 1e-6 * span
    return 2 * int(close.sum()) >= len(steps)


def _overlay(
    axes: Axes, runs: Mapping[str, Series], key: str, labels: list[str], colors: dict[str, str]
) -> list[float]:
    """``key`` of each run in ``labels``, one colour per run; a line that lies on earlier runs'
    lines (see :func:`coincides`) is drawn dashed and thinner on top of them, so every run stays
    visible. Returns the values drawn."""
    earlier: list[tuple[list[int], list[float]]] = []
    drawn: list[float] = []
    for label in labels:
        steps, values = runs[label][key]
        repeats = sum(coincides(steps, values, other) for other in earlier)
        earlier.append((steps, values))
        axes.plot(
            steps,
            values,
            color=colors[label],
            linestyle="-" if repeats == 0 else (0, (6, 4)),
            marker=_marker(key, steps),
            markersize=3,
            linewidth=2 * LINE_WIDTH if repeats == 0 else LINE_WIDTH / repeats,
            label=label,
        )
        drawn += values
    return drawn


def curves_figure(runs: Mapping[str, Series]) -> Figure | None:
    """Every series of every run against the step, as a figure (None when no run logged
    anything).

    ``runs`` maps a label to a run's :func:`labcore.report.logs.series`. One run: a panel per
    quantity (:func:`panels`). Several: the panels of :func:`comparison_panels`, each run one colour
    in every panel, named by the figure's legend. Evaluation series (``split/metric``) are drawn
    with markers, since they have few points.
    """
    keys = list(dict.fromkeys(k for series in runs.values() for k in series))
    if not keys:
        return None
    several = len(runs) > 1
    count = len(comparison_panels(runs)) if several else len(panels(keys))
    ncols = min(COLUMNS, count)
    nrows = math.ceil(count / ncols)
    legend_rows = math.ceil(len(runs) / 3) if several else 0
    height = nrows * PANEL_SIZE[1] + 0.3 * legend_rows
    figure = Figure(figsize=(ncols * PANEL_SIZE[0], height), dpi=100)
    FigureCanvasAgg(figure)
    if several:
        colors = {label: COLORS[i % len(COLORS)] for i, label in enumerate(runs)}
        for index, (title, key, labels) in enumerate(comparison_panels(runs)):
            axes = figure.add_subplot(nrows, ncols, index + 1)
            _style(axes, title, _overlay(axes, runs, key, labels, colors))
        handles = [Line2D([], [], color=c, linewidth=2 * LINE_WIDTH) for c in colors.values()]
        figure.legend(
            handles, list(colors), loc="upper center", ncol=min(3, len(runs)), fontsize=8,
            frameon=False,
        )  # fmt: skip
    else:
        (series,) = runs.values()
        for index, (title, members) in enumerate(panels(keys)):
            axes = figure.add_subplot(nrows, ncols, index + 1)
            _style(axes, title, _draw_run(axes, series, members))
    share_steps(figure.axes, runs)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.3 * legend_rows / height))
    return figure


def share_steps(axes: list[Axes], runs: Mapping[str, Series]) -> None:
    """Give every panel the step range of all the series of ``runs`` (with a small margin), so
    that a quantity logged at a few steps only, a periodic evaluation, sits at its place in
    training rather than spread over an axis of its own."""
    steps = [s for series in runs.values() for points, _ in series.values() for s in points]
    low, high = min(steps), max(steps)
    if low == high:
        return
    margin = 0.03 * (high - low)
    for panel in axes:
        panel.set_xlim(low - margin, high + margin)


def plot_curves(runs: Mapping[str, Series], path: str | Path) -> Path | None:
    """Save :func:`curves_figure` of ``runs`` as a PNG at ``path`` and return ``path``; ``None``
    (and nothing written) when no run logged anything."""
    figure = curves_figure(runs)
    if figure is None:
        return None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path
