"""Fixed, stratified train/val/test splits drawn with a seed."""

from __future__ import annotations

from collections.abc import Mapping

import torch

import labcore


def stratified_split(
    labels: torch.Tensor, sizes: Mapping[str, int | None], seed: int
) -> dict[str, torch.Tensor]:
    """Disjoint index sets of the requested sizes, each with the class proportions of ``labels``.

    The examples of each class are shuffled with ``seed`` and spread evenly over ``[0, 1]``: the
    k-th of the ``n_c`` examples of class ``c`` gets the key ``(k + 1/2) / n_c``. Sorting by the key
    interleaves the classes, and the splits are consecutive slices of that order, taken in the
    order of ``sizes``. A slice of ``m`` examples therefore holds ``m * n_c / N`` examples of class
    ``c``, give or take one or two, and the same ``seed`` always gives the same splits.

    Args:
        labels: ``(N,)`` integer class labels.
        sizes: split name -> number of examples; the last may be ``None`` for all that remain.
        seed: the seed of the shuffle.

    Returns:
        split name -> ``(size,)`` int64 indices into ``labels``.
    """
    labels = torch.as_tensor(labels, dtype=torch.long)
    n = labels.shape[0]
    names = list(sizes)
    if any(size is None for size in list(sizes.values())[:-1]):
        raise ValueError("only the last split may take 'all that remain' (size None)")
    fixed = sum(size for size in sizes.values() if size is not None)
    if any(size is not None and size < 0 for size in sizes.values()) or fixed > n:
        raise ValueError(f"cannot split {n} examples into {dict(sizes)}: sizes exceed the data")
    generator = torch.Generator().manual_seed(seed)
    shuffle = torch.randperm(n, generator=generator)
    shuffled = labels[shuffle]
    by_class = torch.argsort(shuffled, stable=True)
    counts = torch.bincount(shuffled)
    class_start = torch.cumsum(counts, 0) - counts
    rank = torch.empty(n, dtype=torch.long)
    rank[by_class] = torch.arange(n) - class_start[shuffled[by_class]]
    key = (rank.double() + 0.5) / counts[shuffled].double()
    order = shuffle[torch.argsort(key, stable=True)]
    splits, start = {}, 0
    for name in names:
        size = sizes[name] if sizes[name] is not None else n - start
        splits[name] = order[start : start + size]
        start += size
    return splits


def tensor_splits(
    indices: dict[str, torch.Tensor], **tensors: torch.Tensor
) -> dict[str, labcore.TensorSplit]:
    """``TensorSplit``s of ``tensors`` at ``indices``, ordered train, val, test; empty val and
    test splits are left out. Raises ValueError when the train split is empty."""
    if len(indices["train"]) == 0:
        raise ValueError("no examples are left for the train split; lower the val and test sizes")
    return {
        name: labcore.TensorSplit(**{key: t[indices[name]] for key, t in tensors.items()})
        for name in ("train", "val", "test")
        if name in indices and len(indices[name]) > 0
    }


def check_fractions(val_fraction: float, test_fraction: float) -> None:
    """Raise ValueError unless both fractions are in ``[0, 1)`` and leave examples for training."""
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(
            f"val_fraction ({val_fraction}) and test_fraction ({test_fraction}) must each be in "
            "[0, 1) and leave some examples for training"
        )


def fraction_sizes(n: int, val_fraction: float, test_fraction: float) -> dict[str, int | None]:
    """Split sizes for ``n`` examples: test and val rounded from their fractions, train the rest."""
    check_fractions(val_fraction, test_fraction)
    return {"test": round(test_fraction * n), "val": round(val_fraction * n), "train": None}
