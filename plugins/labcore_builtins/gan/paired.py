"""Paired image datasets for image-to-image translation (pix2pix).

Both datasets give splits ``TensorSplit(condition=inputs, x=targets[, y=labels])``: ``condition``
is what the model translates, ``x`` what it should produce, both ``(N, C, H, W)`` float32 in the
recipe's value range. ``info`` holds ``shape`` (a target) and ``condition_shape`` (an input).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import labcore
from labcore.schema import build
from labcore_builtins.data import Digits, Mnist, resize_and_crop, stratified_split, tensor_splits
from labcore_builtins.data.image_folder import GREY_MODES, IMAGE_SUFFIXES, read_image
from labcore_builtins.data.pixels import image_array
from labcore_builtins.data.preprocess import ImageConfig, to_value_range
from labcore_builtins.data.splits import check_fractions, fraction_sizes

SOURCES = {"digits": Digits, "mnist": Mnist}
SPLITS = ("train", "val", "test")


def sobel_magnitude(images: torch.Tensor) -> torch.Tensor:
    """The Sobel gradient magnitude :math:`\\sqrt{G_x^2 + G_y^2}` of each channel.

    :math:`G_x = K * I`, :math:`G_y = K^\\top * I` with :math:`K = [1, 0, -1]^\\top [1, 2, 1]`
    (transposed), zero padding (the digits' background is 0). Shapes: ``(N, C, H, W)`` in
    ``[0, 1]`` -> ``(N, C, H, W)``.
    """
    kx = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    kernels = torch.stack([kx, kx.T]).unsqueeze(1).to(images)  # (2, 1, 3, 3)
    n, c, h, w = images.shape
    grads = F.conv2d(images.reshape(n * c, 1, h, w), kernels, padding=1)
    return grads.pow(2).sum(dim=1).sqrt().reshape(n, c, h, w)


def edge_maps(images: torch.Tensor, threshold: float) -> torch.Tensor:
    """Binary edge maps: 1 where the Sobel magnitude reaches ``threshold`` x the image's maximum.

    Shapes: ``(N, C, H, W)`` in ``[0, 1]`` -> ``(N, C, H, W)`` of 0.0 and 1.0.
    """
    magnitude = sobel_magnitude(images)
    peak = magnitude.flatten(1).amax(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
    return (magnitude >= threshold * peak).float()


@dataclasses.dataclass
class Edges2DigitsConfig:
    source: Literal["digits", "mnist"] = labcore.hp(
        "digits", "where the digits come from: digits (embedded) | mnist (local IDX files)"
    )
    source_options: dict[str, Any] = labcore.hp(
        {}, "hyperparameters of the source dataset, e.g. {root = 'data/mnist'} for mnist"
    )
    threshold: float = labcore.hp(
        0.3, "an edge is a Sobel magnitude of at least this share of the image's maximum"
    )

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        build(SOURCES[self.source].Config, self.source_options, "data.source_options")


class Edges2Digits(labcore.Dataset):
    """Edge maps of digits paired with the digits: a pix2pix task that needs no download.

    Input (``condition``): the thresholded Sobel magnitude of the digit (edges at the value
    range's top, background at its bottom); target (``x``): the digit; ``y``: its class. The
    splits are the source dataset's (``digits`` or ``mnist``).
    """

    name = "edges2digits"
    Config = Edges2DigitsConfig

    def load(self) -> labcore.DataBundle:
        cls = SOURCES[self.config.source]
        config = build(cls.Config, self.config.source_options, "data.source_options")
        bundle = cls(config).load()
        low, high = bundle.info["value_range"]
        splits = {}
        for name, split in bundle.splits.items():
            digits = split["x"]
            edges = edge_maps((digits - low) / (high - low), self.config.threshold)
            splits[name] = labcore.TensorSplit(
                condition=to_value_range(edges, (low, high)), x=digits, y=split["y"]
            )
        info = {**bundle.info, "condition_shape": tuple(bundle.info["shape"])}
        return labcore.DataBundle(splits=splits, info=info)


# -- paired folders ---------------------------------------------------------------------------

LAYOUTS = (
    "side-by-side: root/[train|val|test/]<name>.jpg, each image A|B (A left, B right), as the "
    "pix2pix datasets ship; folders: root/[train|val|test/]A/<name> and .../B/<name>"
)


def _images_in(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )  # fmt: skip


def list_pairs(folder: Path, layout: str) -> list[tuple[Path, Path | None]]:
    """``(A, B)`` file pairs in ``folder``; ``B`` is None for side-by-side images."""
    if layout == "side-by-side":
        files = _images_in(folder)
        if not files:
            raise FileNotFoundError(f"{folder} holds no images; expected {LAYOUTS}")
        return [(path, None) for path in files]
    a_files = {p.name: p for p in _images_in(folder / "A")}
    b_files = {p.name: p for p in _images_in(folder / "B")}
    if set(a_files) != set(b_files):
        only_a = sorted(set(a_files) - set(b_files))[:3]
        only_b = sorted(set(b_files) - set(a_files))[:3]
        raise FileNotFoundError(
            f"{folder}/A and {folder}/B must hold the same file names; only in A: {only_a}, "
            f"only in B: {only_b}"
        )
    if not a_files:
        raise FileNotFoundError(f"{folder}/A holds no images; expected {LAYOUTS}")
    return [(a_files[name], b_files[name]) for name in sorted(a_files)]


def read_pair(a: Path, b: Path | None) -> tuple[Image.Image, Image.Image]:
    """The two images of a pair; a side-by-side image is cut down the middle."""
    image = read_image(a)
    if b is not None:
        return image, read_image(b)
    width, height = image.size
    if width % 2:
        raise ValueError(
            f"{a} is {width} pixels wide; a side-by-side A|B image must have an even width"
        )
    half = width // 2
    return image.crop((0, 0, half, height)), image.crop((half, 0, width, height))


def images_to_tensor(images: list[Image.Image], color: str, files: list[Path]) -> torch.Tensor:
    """Same-size pillow images to ``(N, C, H, W)`` float32 in ``[0, 1]``."""
    if color == "auto":
        color = "grayscale" if all(im.mode in GREY_MODES for im in images) else "rgb"
    for path, image in zip(files, images, strict=True):
        if image.size != images[0].size:
            raise ValueError(
                f"{path} gives a {image.size[0]}x{image.size[1]} image, {files[0]} a "
                f"{images[0].size[0]}x{images[0].size[1]} one; set data.resize and data.crop"
            )
    pixels = torch.from_numpy(np.stack([image_array(im, color) for im in images]))
    return pixels.permute(0, 3, 1, 2).contiguous()


@dataclasses.dataclass(kw_only=True)
class PairedFolderConfig(ImageConfig):
    root: str = labcore.hp(doc=f"the folder of image pairs; layouts: {LAYOUTS}", path=True)
    layout: Literal["auto", "side-by-side", "folders"] = labcore.hp(
        "auto", "auto: folders when A/ and B/ sub-folders exist, else side-by-side"
    )
    direction: Literal["AtoB", "BtoA"] = labcore.hp("AtoB", "AtoB: translate A into B")
    resize: int = labcore.hp(0, "resize each image's shorter side to this; 0 keeps the size")
    crop: int = labcore.hp(0, "then centre-crop to crop x crop pixels; 0: no crop")
    color: Literal["auto", "grayscale", "rgb"] = labcore.hp(
        "auto", "colour mode of both sides; auto is grayscale when every image is"
    )
    val_fraction: float = labcore.hp(
        0.1, "without train/val/test sub-folders: share of the pairs in the val split"
    )
    test_fraction: float = labcore.hp(
        0.1, "without train/val/test sub-folders: share of the pairs in the test split"
    )
    split_seed: int = labcore.hp(0, "seed of the fixed split (without split sub-folders)")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fractions(self.val_fraction, self.test_fraction)
        if self.resize < 0 or self.crop < 0:
            raise ValueError("resize and crop must be 0 (off) or a positive number of pixels")


class PairedFolder(labcore.Dataset):
    """Image pairs from a folder: side-by-side A|B images (the pix2pix datasets) or A/ and B/.

    With ``train/``, ``val/`` and ``test/`` sub-folders those are the splits; otherwise the pairs
    are split by ``val_fraction`` and ``test_fraction`` with ``split_seed``.
    """

    name = "paired-folder"
    Config = PairedFolderConfig

    def _layout(self, folder: Path) -> str:
        if self.config.layout != "auto":
            return self.config.layout
        return "folders" if (folder / "A").is_dir() and (folder / "B").is_dir() else "side-by-side"

    def _read(self, folder: Path) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.config
        pairs = list_pairs(folder, self._layout(folder))
        a_images, b_images = [], []
        for a, b in pairs:
            image_a, image_b = read_pair(a, b)
            a_images.append(resize_and_crop(image_a, c.resize, c.crop))
            b_images.append(resize_and_crop(image_b, c.resize, c.crop))
        files = [a for a, _ in pairs]
        a_tensor = images_to_tensor(a_images, c.color, files)
        b_tensor = images_to_tensor(b_images, c.color, files)
        if a_tensor.shape[2:] != b_tensor.shape[2:]:
            raise ValueError(
                f"the A images in {folder} are {tuple(a_tensor.shape[2:])}, the B images "
                f"{tuple(b_tensor.shape[2:])}; set data.resize and data.crop"
            )
        a_tensor, b_tensor = (to_value_range(t, c.value_range) for t in (a_tensor, b_tensor))
        return (a_tensor, b_tensor) if c.direction == "AtoB" else (b_tensor, a_tensor)

    def load(self) -> labcore.DataBundle:
        c = self.config
        root = Path(c.root)
        if not root.is_dir():
            raise FileNotFoundError(f"paired folder {root} does not exist; expected {LAYOUTS}")
        split_dirs = {s: root / s for s in SPLITS if (root / s).is_dir()}
        if split_dirs:
            if "train" not in split_dirs:
                raise FileNotFoundError(
                    f"{root} has {', '.join(split_dirs)} sub-folders but no train/; add it"
                )
            splits = {}
            for name, folder in split_dirs.items():
                source, target = self._read(folder)
                splits[name] = labcore.TensorSplit(condition=source, x=target)
        else:
            source, target = self._read(root)
            n = source.shape[0]
            sizes = fraction_sizes(n, c.val_fraction, c.test_fraction)
            indices = stratified_split(torch.zeros(n, dtype=torch.long), sizes, c.split_seed)
            splits = tensor_splits(indices, condition=source, x=target)
        train = splits["train"]
        info = {
            "shape": tuple(train["x"].shape[1:]),
            "condition_shape": tuple(train["condition"].shape[1:]),
            "value_range": tuple(c.value_range),
        }
        for name, split in splits.items():
            if tuple(split["x"].shape[1:]) != info["shape"]:
                raise ValueError(
                    f"the {name} split's images are {tuple(split['x'].shape[1:])}, the train "
                    f"split's {info['shape']}; set data.resize and data.crop"
                )
        return labcore.DataBundle(splits=splits, info=info)
