"""The VAE family's figures and report sections, drawn from small models on the digits."""

import base64
import io
import re

import numpy as np
import pytest
import torch
from PIL import Image

from labcore.images import to_uint8
from labcore.report.document import Document, to_html
from labcore_builtins.vae import figures
from labcore_builtins.vae.report import bounds_section, figure_sections
from labcore_builtins.vae.vae import VAE
from labcore_builtins.vae.vaegan import VAEGAN

SCALE = 8  # 8x8 digits are enlarged to 64 pixels a side
TILE = 8 + 2  # an image and the grid's padding


def model_for(cls, digits, **overrides):
    torch.manual_seed(0)
    return cls(cls.Config(**{"z_dim": 4, "hidden": 16, "layers": 1, **overrides}), digits.info)


def grid_size(columns: int, rows: int) -> tuple[int, int]:
    """Width and height in pixels of a grid of 8x8 images drawn at SCALE, labels left out."""
    return (2 + columns * TILE) * SCALE, (2 + rows * TILE) * SCALE


def labels_band(path, columns: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The pixels left of the grid (row labels) and above it (column labels)."""
    pixels = np.asarray(Image.open(path))
    width, height = grid_size(columns, rows)
    left, top = pixels.shape[1] - width, pixels.shape[0] - height
    return pixels[top:, :left], pixels[:top, left:]


def tile(path, row: int, col: int, columns: int, rows: int) -> np.ndarray:
    """The 8x8 image at (row, col) of a grid PNG of ``columns x rows`` drawn at SCALE, with its
    labels above and left of it."""
    pixels = np.asarray(Image.open(path))
    width, height = grid_size(columns, rows)
    pixels = pixels[pixels.shape[0] - height :, pixels.shape[1] - width :][::SCALE, ::SCALE]
    top, left = 2 + row * TILE, 2 + col * TILE
    return pixels[top : top + 8, left : left + 8]


def test_reconstructions_pair_input_rows_with_reconstruction_rows(digits, tmp_path):
    model = model_for(VAE, digits).eval()
    path = figures.reconstructions(model, digits, tmp_path / "rec.png", n=16)
    x = digits.split("test")["x"][:16]
    recon = model.reconstruct(x)
    value_range = digits.info["value_range"]
    width, height = Image.open(path).size
    assert height == grid_size(8, 4)[1] and width > grid_size(8, 4)[0]
    for row, images in ((0, x[:8]), (1, recon[:8]), (2, x[8:]), (3, recon[8:])):
        expected = to_uint8(images, value_range)[..., 0]
        for col in (0, 7):
            np.testing.assert_array_equal(tile(path, row, col, 8, 4), expected[col])
    row_labels, _ = labels_band(path, 8, 4)
    for row in range(4):  # input / reconstruction written beside every row
        middle = (2 + row * TILE + 4) * SCALE
        assert (row_labels[middle - 6 : middle + 6] < 128).any()


def test_interpolations_run_from_one_image_to_another(digits, tmp_path):
    model = model_for(VAEGAN, digits).eval()
    path = figures.interpolations(model, digits, tmp_path / "interp.png", pairs=3, steps=5)
    x = digits.split("test")["x"][:6]
    value_range = digits.info["value_range"]
    width, height = Image.open(path).size
    assert width == grid_size(7, 3)[0] and height > grid_size(7, 3)[1]
    _, headers = labels_band(path, 7, 3)
    for col in range(7):  # a, the values of t, b over every column
        centre = (2 + col * TILE + 4) * SCALE
        assert (headers[:, centre - 10 : centre + 10] < 128).any()
    ends = to_uint8(x, value_range)[..., 0]
    with torch.no_grad():
        mu = model.encode(x)[0]
        start, stop = to_uint8(model.decode(mu[[0, 3]]), value_range)[..., 0]
    np.testing.assert_array_equal(tile(path, 0, 0, 7, 3), ends[0])
    np.testing.assert_array_equal(tile(path, 0, 6, 7, 3), ends[3])
    np.testing.assert_array_equal(tile(path, 0, 1, 7, 3), start)  # t = 0: decoded mean of x_a
    np.testing.assert_array_equal(tile(path, 0, 5, 7, 3), stop)  # t = 1: decoded mean of x_b


def test_prior_samples_are_seeded(digits, tmp_path):
    model = model_for(VAE, digits).eval()
    a = figures.prior_samples(model, digits, tmp_path / "a.png", n=16, seed=3)
    b = figures.prior_samples(model, digits, tmp_path / "b.png", n=16, seed=3)
    assert np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))


def test_latent_map_needs_two_latent_dimensions(digits, tmp_path):
    model = model_for(VAE, digits, z_dim=2).eval()
    path = figures.latent_map(model, digits, tmp_path / "map.png", lattice=5)
    assert Image.open(path).size == (1100, 500)
    with pytest.raises(ValueError, match="z_dim = 2"):
        figures.latent_map(model_for(VAE, digits), digits, tmp_path / "no.png")


def test_figure_sections_add_the_latent_map_for_2d_codes(digits, tmp_path):
    sections = figure_sections(model_for(VAE, digits, z_dim=2).eval(), digits, tmp_path)
    assert [s.title for s in sections] == [
        "Prior samples", "Reconstructions", "Interpolations", "Latent space"
    ]  # fmt: skip
    assert all(path.is_file() for s in sections for _, path in s.images)
    assert len(figure_sections(model_for(VAEGAN, digits).eval(), digits, tmp_path / "g")) == 3


def test_the_html_report_shows_each_figure_whole_with_digits_of_32_pixels_or_more(
    digits, tmp_path
):
    sections = figure_sections(model_for(VAE, digits).eval(), digits, tmp_path)
    page = to_html(Document("VAE", "", sections, tmp_path))
    for slug, columns in (("prior-samples", 8), ("reconstructions", 8), ("interpolations", 10)):
        html = re.search(rf'<section id="{slug}">(.*?)</section>', page, re.S).group(1)
        assert "strip" not in html  # shown at its own size, not as a thumbnail
        (uri,) = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
        width = Image.open(io.BytesIO(base64.b64decode(uri))).size[0]
        assert width / columns >= 32 + 2 * SCALE  # an 8x8 digit and its border


def test_bounds_section_shows_the_gap():
    section = bounds_section({"test/iwae": -20.5, "test/elbo": -21.25}, k=100)
    assert "| IWAE, k = 100 (Burda et al. 2016) | -20.500 |" in section.markdown
    assert "| IWAE − ELBO | 0.750 |" in section.markdown
    assert bounds_section({"test/elbo": -21.0}, k=100) is None
