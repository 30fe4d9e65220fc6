"""Pictures and files of generated points (samples of shape ``(N, D)``, not images).

The scatter plot keeps the real points visible under the generated ones (light grey beneath,
generated semi-transparent on top) and takes its frame from the real points alone, so the frames
of one run share their axes; a generated point outside the frame is drawn on its border with
another marker and counted in the legend.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SIZE_INCHES = 5.5
DPI = 100
"""A scatter plot is ``SIZE_INCHES * DPI`` = 550 pixels a side."""
MARGIN = 0.15
"""Margin around the real points' extent, as a share of its larger side."""


def frame(real: torch.Tensor | np.ndarray, margin: float = MARGIN) -> tuple[float, ...]:
    """``(x_low, x_high, y_low, y_high)``: a square around the real points' bounding box, widened
    by ``margin`` of its larger side on every edge."""
    real = np.asarray(real, dtype=np.float64)
    low, high = real[:, :2].min(axis=0), real[:, :2].max(axis=0)
    centre = (low + high) / 2
    half = (high - low).max() / 2 * (1 + 2 * margin) + 1e-6
    return centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half


def clip_to_frame(
    points: np.ndarray, limits: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """The points inside the frame, and those outside moved onto its border (nearest point)."""
    low = np.array([limits[0], limits[2]])
    high = np.array([limits[1], limits[3]])
    outside = ((points < low) | (points > high)).any(axis=1)
    return points[~outside], np.clip(points[outside], low, high)


def scatter_figure(
    real: torch.Tensor,
    fake: torch.Tensor,
    title: str = "",
    fake_label: str = "generated",
) -> Figure:
    """Real points (light grey) under generated ones (orange, semi-transparent), in the frame of
    :func:`frame` of the real points; only the first two coordinates are drawn."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    real = real.detach().double().cpu().numpy()[:, :2]
    fake = fake.detach().double().cpu().numpy()[:, :2]
    limits = frame(real)
    inside, border = clip_to_frame(fake, limits)
    fig = Figure(figsize=(SIZE_INCHES, SIZE_INCHES), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(real[:, 0], real[:, 1], s=10, c="0.72", linewidths=0, label=f"real ({len(real)})")
    ax.scatter(
        inside[:, 0], inside[:, 1], s=8, c="tab:orange", alpha=0.45, linewidths=0,
        label=f"{fake_label} ({len(fake)})",
    )  # fmt: skip
    ax.scatter(  # always in the legend, so that every frame has the same layout
        border[:, 0], border[:, 1], s=30, marker="x", c="tab:red", linewidths=1,
        clip_on=False, label=f"{fake_label} outside the frame, at its edge ({len(border)})",
    )  # fmt: skip
    ax.set_xlim(limits[0], limits[1])
    ax.set_ylim(limits[2], limits[3])
    ax.set_aspect("equal")
    ax.tick_params(labelsize=9)
    ax.grid(True, alpha=0.25)
    fig.legend(loc="outside lower center", ncols=2, fontsize=10, markerscale=2, frameon=False)
    if title:
        ax.set_title(title, fontsize=11)
    return fig


def scatter_picture(real: torch.Tensor, fake: torch.Tensor, title: str = "") -> np.ndarray:
    """The scatter plot as ``(H, W, 3)`` uint8 pixels."""
    fig = scatter_figure(real, fake, title)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def save_scatter(
    real: torch.Tensor, fake: torch.Tensor, path: str | Path, title: str = ""
) -> Path:
    """Save the scatter plot of :func:`scatter_figure` as a PNG at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scatter_figure(real, fake, title).savefig(path)
    return path


def save_points_csv(points: torch.Tensor, path: Path, labels: torch.Tensor | None = None) -> Path:
    """``(N, D)`` points as CSV: a header ``x,y`` (2-D) or ``x0,...`` and a ``class`` column
    when ``labels`` are given."""
    values = points.detach().double().cpu().numpy()
    dim = values.shape[1]
    header = ["x", "y"] if dim == 2 else [f"x{i}" for i in range(dim)]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*header, "class"] if labels is not None else header)
        for i, row in enumerate(values):
            cells = [repr(float(v)) for v in row]
            writer.writerow([*cells, int(labels[i])] if labels is not None else cells)
    return path
