"""Image folders given to `labcore metrics`: pixels scaled by bit depth, FIFOs never opened."""

import os

import numpy as np
import torch
from PIL import Image

from labcore_builtins.metrics.inputs import load_set


def test_sixteen_bit_images_keep_their_values_and_fifos_are_skipped(tmp_path):
    values = np.array([[40000, 1000], [65535, 0]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "a.png")
    Image.fromarray(np.full((2, 2), 51, np.uint8)).save(tmp_path / "b.png")
    os.mkfifo(tmp_path / "c.png")
    loaded = load_set(tmp_path)
    images = loaded["images"]
    assert images.shape == (2, 1, 2, 2) and loaded["value_range"] == (0.0, 1.0)
    expected = torch.from_numpy(values.astype(np.float64) / 65535).float()
    assert torch.allclose(images[0, 0], expected, rtol=0, atol=1e-7)
    assert torch.allclose(images[1, 0], torch.full((2, 2), 0.2))
