"""Image grids: the layout chosen for n images, labels drawn outside the images, pictures back
to tensors."""

import numpy as np
import pytest
import torch

from labcore.images import grid_columns, grid_picture, make_grid, picture_tensor, to_uint8


@pytest.mark.parametrize(
    ("n", "columns"),
    [(1, 1), (4, 2), (7, 7), (10, 5), (12, 4), (13, 4), (64, 8), (100, 10), (1000, 40)],
)
def test_grid_columns_fill_every_row_when_a_balanced_divisor_exists(n, columns):
    assert grid_columns(n) == columns


def test_grid_columns_stay_near_square():
    for n in range(1, 400):
        columns = grid_columns(n)
        rows = -(-n // columns)
        assert columns * rows - n < columns  # at most the last row is short
        if n % columns:  # ragged only when no divisor gives a grid at most 2.5 times as wide
            assert n > 10 and not any(
                n % c == 0 and 2 * c <= 5 * (n // c) for c in range(columns, n + 1)
            )
        assert columns <= max(10, 2.5 * rows + 1)


def test_labels_go_around_the_grid_and_leave_the_images_intact():
    images = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    plain = np.asarray(grid_picture(images, 3, scale=4))
    labelled = np.asarray(grid_picture(images, 3, scale=4, column_labels=["in", "out", "target"],
                                       row_labels=["first", "second"]))  # fmt: skip
    top = labelled.shape[0] - plain.shape[0]
    left = labelled.shape[1] - plain.shape[1]
    assert top > 8 and left > 8
    np.testing.assert_array_equal(labelled[top:, left:], plain)
    assert (labelled[:top, left:] < 128).any() and (labelled[top:, :left] < 128).any()
    assert (labelled[:top, :left] == 255).all()  # nothing in the corner


def test_a_picture_converts_back_to_the_images_it_shows():
    images = torch.rand(4, 3, 5, 5, generator=torch.Generator().manual_seed(1))
    picture = make_grid(images, 2, (0.0, 1.0), padding=0)
    tensor = picture_tensor(picture, (0.0, 1.0))
    assert tensor.shape == (1, 3, 10, 10)
    np.testing.assert_array_equal(to_uint8(tensor, (0.0, 1.0))[0], np.asarray(picture))
