"""Scatter plots and files of generated points."""

import csv

import numpy as np
import pytest
import torch

from labcore.points import clip_to_frame, frame, save_points_csv, save_scatter


def test_the_frame_holds_the_real_points_with_a_margin():
    real = torch.tensor([[0.0, 0.0], [4.0, 1.0], [2.0, -1.0]])
    x_low, x_high, y_low, y_high = frame(real, margin=0.25)
    assert x_high - x_low == np.float64(y_high - y_low)  # square
    assert x_low == pytest.approx(-1.0, abs=1e-5) and x_high == pytest.approx(5.0, abs=1e-5)
    assert y_low < -1.0 and y_high > 1.0


def test_points_outside_the_frame_are_moved_onto_its_edge():
    limits = (0.0, 1.0, 0.0, 1.0)
    points = np.array([[0.5, 0.5], [2.0, 0.5], [-3.0, -4.0]])
    inside, border = clip_to_frame(points, limits)
    np.testing.assert_array_equal(inside, [[0.5, 0.5]])
    np.testing.assert_array_equal(border, [[1.0, 0.5], [0.0, 0.0]])


def test_scatter_and_csv_files(tmp_path):
    real, fake = torch.randn(100, 2), torch.randn(50, 2) + 30
    path = save_scatter(real, fake, tmp_path / "plots" / "scatter.png", title="t")
    assert path.is_file() and path.stat().st_size > 1000
    labels = torch.arange(50) % 3
    save_points_csv(fake, tmp_path / "p.csv", labels)
    rows = list(csv.reader((tmp_path / "p.csv").read_text().splitlines()))
    assert rows[0] == ["x", "y", "class"] and len(rows) == 51
    np.testing.assert_allclose(np.array(rows[1:], dtype=float)[:, :2], fake.numpy(), rtol=1e-7)
    assert [int(r[2]) for r in rows[1:]] == labels.tolist()
