"""Training curves as PNG figures, for one run or several overlaid.

Plots use matplotlib, already a labcore dependency and the plotting library the model families
use for their own figures. Figures are made with :class:`matplotlib.figure.Figure` and the Agg
canvas directly, never through ``pyplot``: no display, no global figure state, and no backend to
switch, so reports can be written from the trainer, from tests and from worker processes alike.
"""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

Series = dict[str, tuple[list[int], list[float]]]

LR_PREFIX = "lr/"
COLUMNS = 3
PANEL_SIZE = (3.7, 2.5)  # inches, at 100 dpi
COLORS = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22",
]  # fmt: skip


def panels(keys: list[str]) -> list[tuple[str, list[str]]]:
    """Group series keys into panels: every ``lr/*`` key in one "learning rate" panel (one line
    per optimizer), every other key in a panel of its own, in the given order."""
    out: list[tuple[str, list[str]]] = []
    rates = [k for k in keys if k.startswith(LR_PREFIX)]
    for key in keys:
        if key.startswith(LR_PREFIX):
            if key == rates[0]:
                out.append(("learning rate", rates))
        else:
            out.append((key, [key]))
    return out


def _is_evaluation(key: str) -> bool:
    return "/" in key and not key.startswith(LR_PREFIX)


def _style(axes, title: str, values: list[float]) -> None:
    """Title, integer steps, plain tick labels, and a visible band around a constant value."""
    axes.set_title(title, fontsize=10)
    axes.set_xlabel("step", fontsize=8)
    axes.tick_params(labelsize=8)
    axes.grid(True, alpha=0.3)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    if values and min(values) == max(values):
        middle = values[0]
        half = abs(middle) * 0.5 or 1.0
        axes.set_ylim(middle - half, middle + half)


def plot_curves(runs: dict[str, Series], path: str | Path) -> Path | None:
    """Plot every series of every run against the step, one panel per quantity, and save a PNG.

    ``runs`` maps a label to a run's :func:`labcore.logs.series`; with several runs each run has
    one colour in every panel and the legend names them. Evaluation series (``split/metric``)
    are drawn with markers, since they have few points. Returns ``None`` (and writes nothing)
    when no run logged anything.
    """
    keys = list(dict.fromkeys(k for series in runs.values() for k in series))
    if not keys:
        return None
    groups = panels(keys)
    ncols = min(COLUMNS, len(groups))
    nrows = math.ceil(len(groups) / ncols)
    several = len(runs) > 1
    legend_rows = math.ceil(len(runs) / 3) if several else 0
    height = nrows * PANEL_SIZE[1] + 0.3 * legend_rows
    figure = Figure(figsize=(ncols * PANEL_SIZE[0], height), dpi=100)
    FigureCanvasAgg(figure)
    handles = {}
    for index, (title, members) in enumerate(groups):
        axes = figure.add_subplot(nrows, ncols, index + 1)
        drawn: list[float] = []
        for run_index, (label, series) in enumerate(runs.items()):
            for member_index, key in enumerate(members):
                if key not in series:
                    continue
                steps, values = series[key]
                drawn += values
                color_index = run_index if several else member_index
                marker = "o" if _is_evaluation(key) or len(steps) == 1 else None
                name = key.removeprefix(LR_PREFIX) if len(members) > 1 else key
                line_label = f"{label} {name}" if several and len(members) > 1 else label
                (line,) = axes.plot(
                    steps,
                    values,
                    color=COLORS[color_index % len(COLORS)],
                    marker=marker,
                    markersize=3,
                    linewidth=1.3,
                    label=name if not several else line_label,
                )
                handles.setdefault(label, line)
        _style(axes, title, drawn)
        if len(members) > 1 and not several:
            axes.legend(fontsize=7, frameon=False)
    top = 1.0
    if several:
        top = 1 - 0.3 * legend_rows / height
        figure.legend(
            list(handles.values()),
            list(handles),
            loc="upper center",
            ncol=min(3, len(handles)),
            fontsize=8,
            frameon=False,
        )
    figure.tight_layout(rect=(0, 0, 1, top))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path
