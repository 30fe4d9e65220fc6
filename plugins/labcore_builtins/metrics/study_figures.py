"""The figures of a metric study: each metric's response to one corruption, and an overview.

Drawn like :mod:`labcore.report.plots`, with :class:`matplotlib.figure.Figure` and the Agg
canvas, never ``pyplot``.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from labcore.report.plots import COLORS

COLUMNS = 4
PANEL_SIZE = (3.2, 2.4)  # inches, at 100 dpi
DETECTED_COLOR = COLORS[1]
MISSED_COLOR = COLORS[0]
SCORE_LIMIT = 10.0
"""The overview's colour scale ends at this many noise spreads either way."""


def direction_label(higher_is_better: bool | None) -> str:
    if higher_is_better is None:
        return "(0.5 ideal)"
    return "(higher is better)" if higher_is_better else "(lower is better)"


def plot_corruption(
    results: dict[str, Any], corruption: str, found: dict[str, dict[str, Any]], path: Path
) -> Path:
    """One panel per metric value: each repeat (thin), their mean (markers), and the noise floor
    (its mean, dashed, in a band of its spread). Detecting panels are drawn in red."""
    series = results["values"][corruption]
    strengths = results["strengths"]
    keys = list(series)
    ncols = min(COLUMNS, len(keys))
    nrows = math.ceil(len(keys) / ncols)
    figure = Figure(figsize=(ncols * PANEL_SIZE[0], nrows * PANEL_SIZE[1] + 0.4), dpi=100)
    FigureCanvasAgg(figure)
    for index, key in enumerate(keys):
        axes = figure.add_subplot(nrows, ncols, index + 1)
        verdict = found[key]
        color = DETECTED_COLOR if verdict["detected"] else MISSED_COLOR
        floor = results["noise_floor"][key]
        middle, half = statistics.fmean(floor), verdict["noise_spread"]
        axes.axhspan(middle - half, middle + half, color="0.85", linewidth=0)
        axes.axhline(middle, color="0.45", linestyle="--", linewidth=1)
        for row in series[key]:
            axes.plot(strengths, row, color=color, alpha=0.3, linewidth=0.8)
        means = [statistics.fmean(column) for column in zip(*series[key])]
        axes.plot(strengths, means, color=color, marker="o", markersize=3, linewidth=1.6)
        word = "detects" if verdict["detected"] else "improves" if verdict["improved"] else "no"
        higher = results["higher_is_better"][key]
        axes.set_title(f"{key} {direction_label(higher)}: {word}", fontsize=9, color=color)
        axes.set_xlabel("strength", fontsize=8)
        axes.tick_params(labelsize=7)
        axes.grid(True, alpha=0.3)
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.4g}"))
    figure.suptitle(
        f"{corruption}: {results['corruptions'][corruption]} "
        "(grey: noise floor, mean and 2 sd; thin lines: repeats)",
        fontsize=10,
    )
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.4 / figure.get_figheight()))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


def plot_overview(results: dict[str, Any], found: dict[str, dict[str, Any]], path: Path) -> Path:
    """Metric values x corruptions: the change at full strength in noise spreads, worse
    direction positive (red), better negative (blue), clipped at :data:`SCORE_LIMIT`."""
    corruptions = list(found)
    keys = list(results["noise_floor"])
    figure = Figure(figsize=(1.2 * len(corruptions) + 2.2, 0.42 * len(keys) + 1.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    grid = [[_clipped(found[c][key]["score"]) for c in corruptions] for key in keys]
    image = axes.imshow(grid, cmap="RdBu_r", vmin=-SCORE_LIMIT, vmax=SCORE_LIMIT, aspect="auto")
    for row, key in enumerate(keys):
        for column, corruption in enumerate(corruptions):
            verdict = found[corruption][key]
            score = verdict["score"]
            text = "-" if score is None else f"{score:.1f}"
            weight = "bold" if verdict["detected"] else "normal"
            dark = abs(_clipped(score)) > 0.6 * SCORE_LIMIT
            axes.text(
                column, row, text, ha="center", va="center", fontsize=8, weight=weight,
                color="white" if dark else "black",
            )
    axes.set_xticks(range(len(corruptions)), corruptions, rotation=30, ha="right", fontsize=8)
    axes.set_yticks(range(len(keys)), keys, fontsize=8)
    axes.set_title("change at full strength / noise spread (worse > 0; bold: detects)", fontsize=9)
    figure.colorbar(image, ax=axes, shrink=0.8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


def _clipped(score: float | None) -> float:
    if score is None:
        return 0.0
    return max(-SCORE_LIMIT, min(SCORE_LIMIT, score))
