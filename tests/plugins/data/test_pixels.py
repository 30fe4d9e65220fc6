"""Pixels of one image file: bit depth, palettes, and files that must not be read as they are."""

import os
import signal
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from labcore.data import DataError
from labcore_builtins.data import load_image_folder
from labcore_builtins.data.pixels import image_array, read_image


def png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def bomb_png(side: int = 40_000) -> bytes:
    """A PNG whose header claims side x side 8-bit grey pixels (far past pillow's limit of
    ``Image.MAX_IMAGE_PIXELS``), with a few bytes of data: what a decompression bomb looks
    like before it is decompressed."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\0" * (side + 1))
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data)
            + png_chunk(b"IEND", b""))


def test_sixteen_bit_png_is_scaled_by_its_bit_depth(tmp_path):
    (tmp_path / "a").mkdir()
    values = np.array([[40000, 1000], [65535, 0]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "a" / "deep.png")
    x, _, _ = load_image_folder(tmp_path)
    expected = torch.from_numpy(values.astype(np.float64) / 65535).float()
    assert x.shape == (1, 1, 2, 2) and torch.allclose(x[0, 0], expected, rtol=0, atol=1e-7)
    rgb, _, _ = load_image_folder(tmp_path, color="rgb")
    assert rgb.shape == (1, 3, 2, 2) and torch.equal(rgb[0, 1], x[0, 0])


def test_sixteen_bit_png_resizes_in_floats(tmp_path):
    (tmp_path / "a").mkdir()
    values = np.linspace(0, 65535, 64, dtype=np.float64).reshape(8, 8).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "a" / "deep.png")
    x, _, _ = load_image_folder(tmp_path, resize=4)
    reference = Image.fromarray(values.astype(np.float32) / 65535, "F").resize(
        (4, 4), Image.Resampling.BILINEAR
    )
    assert torch.allclose(x[0, 0], torch.from_numpy(np.array(reference)), atol=1e-6)
    assert 0.2 < float(x.mean()) < 0.8  # not saturated at 1


def palette_image(colours: list[tuple[int, int, int]]) -> Image.Image:
    indices = np.array([[0, 1, 2, 3]] * 4, dtype=np.uint8)
    image = Image.fromarray(indices, "P")
    image.putpalette([value for colour in colours for value in colour] + [0] * (768 - 12))
    return image


def test_a_grey_palette_reads_as_grey_and_a_colour_palette_through_its_colours(tmp_path):
    (tmp_path / "a").mkdir()
    palette_image([(0, 0, 0), (60, 60, 60), (200, 200, 200), (255, 255, 255)]).save(
        tmp_path / "a" / "grey.png"
    )
    x, _, _ = load_image_folder(tmp_path)
    assert x.shape == (1, 1, 4, 4)
    assert torch.allclose(x[0, 0, 0] * 255, torch.tensor([0.0, 60, 200, 255]))

    colours = [(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)]
    palette_image(colours).save(tmp_path / "a" / "grey.png")
    x, _, _ = load_image_folder(tmp_path, resize=2)
    rgb = Image.fromarray(np.array([colours] * 4, dtype=np.uint8), "RGB")
    expected = np.asarray(rgb.resize((2, 2), Image.Resampling.BILINEAR), np.float32) / 255
    assert x.shape == (1, 3, 2, 2)
    assert torch.allclose(x[0], torch.from_numpy(expected).permute(2, 0, 1))


def test_a_decompression_bomb_is_named(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "bomb.png").write_bytes(bomb_png())
    with pytest.raises(DataError, match=r"bomb\.png.*decompression bomb"):
        load_image_folder(tmp_path)


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", b"not an image"])
def test_a_corrupt_image_is_named(content, tmp_path):
    path = tmp_path / "broken.png"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(path)
    path.write_bytes(content or path.read_bytes()[:30])
    with pytest.raises(DataError, match=r"cannot read image .*broken\.png"):
        read_image(path)


def test_float_images_outside_the_unit_range_are_refused(tmp_path):
    path = tmp_path / "float.tif"
    Image.fromarray(np.array([[0.5, 3.0]], np.float32), "F").save(path)
    with pytest.raises(DataError, match=r"float\.tif is a float image with values outside"):
        read_image(path)
    Image.fromarray(np.array([[0.5, 0.25]], np.float32), "F").save(path)
    assert image_array(read_image(path), "grayscale")[0, :, 0].tolist() == [0.5, 0.25]


def test_a_fifo_in_an_image_folder_is_skipped_without_opening_it(tmp_path):
    (tmp_path / "a").mkdir()
    Image.fromarray(np.full((2, 2), 7, np.uint8)).save(tmp_path / "a" / "real.png")
    os.mkfifo(tmp_path / "a" / "pipe.png")

    def hung(signum, frame):
        raise TimeoutError("reading the image folder blocked on the FIFO")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(10)
    try:
        x, _, _ = load_image_folder(tmp_path)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert x.shape == (1, 1, 2, 2)
    with pytest.raises(DataError, match="pipe.png is not a regular file"):
        read_image(tmp_path / "a" / "pipe.png")


def test_transparent_palette_rgba_and_la_images_drop_their_alpha(tmp_path):
    (tmp_path / "a").mkdir()
    image = palette_image([(255, 0, 0), (0, 0, 255), (9, 9, 9), (20, 40, 60)])
    image.info["transparency"] = 0
    image.save(tmp_path / "a" / "p.png", transparency=0)
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, np.arange(16, dtype=np.uint8).reshape(4, 4) * 17
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a" / "rgba.png")
    Image.fromarray(rgba[..., [0, 3]], "LA").save(tmp_path / "a" / "la.png")
    x, _, _ = load_image_folder(tmp_path, color="rgb")
    assert x.shape == (3, 3, 4, 4)
    la, p, rgb = x  # sorted file names: la.png, p.png, rgba.png
    assert torch.equal(p[:, 0, 0] * 255, torch.tensor([255.0, 0, 0]))  # the transparent entry
    assert torch.equal(p[:, 0, 3] * 255, torch.tensor([20.0, 40, 60]))
    assert torch.equal(rgb * 255, torch.tensor([200.0, 0, 0])[:, None, None].expand(3, 4, 4))
    assert torch.equal(la * 255, torch.full((3, 4, 4), 200.0))
