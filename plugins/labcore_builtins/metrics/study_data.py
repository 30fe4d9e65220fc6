"""The real images a metric study corrupts, and how each repeat splits them.

Each repeat draws a random split of the data into three disjoint sets:

- the **reference** set: the data an imagined generator was trained on (its training split),
  which every metric compares against;
- the **held-out** set, of the same size: a perfect generator's output (real samples it never
  saw), which the corruptions degrade;
- the **spare** set, every image left: fresh samples of the kept classes when classes are dropped.

Two disjoint real sets of one distribution, reference against held-out, give each metric's noise
floor.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from labcore.data import DataError
from labcore_builtins.recipes import FOLDER as RECIPES_FOLDER

DATASETS = {"digits": "lenet5-digits", "mnist": "lenet5-mnist"}
"""Each dataset the study reads, with the shipped extractor trained on its domain."""
DEFAULT_MNIST_ROOT = (RECIPES_FOLDER / "../../shared/data/mnist").resolve()
"""Where the bundled MNIST recipes read the IDX files (``../shared/data/mnist`` beside the
repository)."""
MIN_SIZE = 100
"""The smallest set size: FID needs more samples than the extractor's 84 features."""


@dataclasses.dataclass
class RealData:
    """Images ``(N, 1, H, W)`` in ``[0, 1]``, their labels ``(N,)`` and where they came from."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor
    source: str

    @property
    def num_classes(self) -> int:
        return int(self.labels.max()) + 1

    @property
    def extractor(self) -> str:
        return DATASETS[self.name]


@dataclasses.dataclass
class Split:
    """Index sets into a :class:`RealData` (module docstring)."""

    reference: torch.Tensor
    held_out: torch.Tensor
    spare: torch.Tensor


def load_real(name: str, root: str | Path | None = None) -> RealData:
    """``digits`` (scikit-learn's 8x8 digits) or ``mnist`` (the 10,000 t10k images under
    ``root``, by default :data:`DEFAULT_MNIST_ROOT`).

    Raises DataError naming the folder and the fix when the MNIST files are missing or unreadable.
    """
    if name == "digits":
        from labcore_builtins.data.digits import load_digits

        images, labels = load_digits()
        return RealData(name, images, labels, "scikit-learn's 8x8 digits (all 1,797)")
    if name == "mnist":
        from labcore_builtins.data.idx import load_idx_images

        folder = Path(root) if root is not None else DEFAULT_MNIST_ROOT
        try:
            images, labels = load_idx_images(folder, "t10k", 10)
        except FileNotFoundError as exc:
            raise DataError(f"{exc}; give the folder with --data-root DIR") from None
        return RealData(name, images, labels, f"MNIST t10k images in {folder}")
    raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")


def check_size(data: RealData, size: int) -> None:
    """A ValueError naming the limits unless ``size`` samples fit twice (reference and held-out)
    with spare images left, and is at least :data:`MIN_SIZE`."""
    largest = (len(data.labels) - 1) // 2
    if not MIN_SIZE <= size <= largest:
        raise ValueError(
            f"--size {size}: choose between {MIN_SIZE} and {largest} (the {data.name} data has "
            f"{len(data.labels)} images, and the reference and held-out sets take {size} each)"
        )


def split(data: RealData, size: int, seed: int) -> Split:
    """The random split of repeat ``seed``: reference and held-out sets of ``size`` samples, the
    rest spare.

    Plain random subsets, not stratified ones: a generator's samples are independent draws, and
    two stratified sets would hold fewer same-class pairs within each set than across them, which
    biases the kernel MMD of two real sets below 0.
    """
    check_size(data, size)
    order = torch.randperm(len(data.labels), generator=torch.Generator().manual_seed(seed))
    return Split(order[:size], order[size : 2 * size], order[2 * size :])
