"""Fixed stratified splits: exact sizes, disjoint, reproducible, class proportions kept."""

import pytest
import torch

from labcore_builtins.data.splits import fraction_sizes, stratified_split


def imbalanced_labels() -> torch.Tensor:
    counts = [500, 200, 100, 37, 3]
    labels = torch.cat([torch.full((n,), k) for k, n in enumerate(counts)])
    return labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(1))]


def test_sizes_are_exact_and_splits_disjoint_and_complete():
    labels = imbalanced_labels()
    splits = stratified_split(labels, {"test": 168, "val": 84, "train": None}, seed=0)
    assert [len(v) for v in splits.values()] == [168, 84, len(labels) - 252]
    everything = torch.cat(list(splits.values()))
    assert torch.equal(everything.sort().values, torch.arange(len(labels)))


def test_each_split_keeps_the_class_proportions():
    labels = imbalanced_labels()
    splits = stratified_split(labels, {"test": 168, "val": 84, "train": None}, seed=3)
    share = torch.bincount(labels).double() / len(labels)
    for index in splits.values():
        counts = torch.bincount(labels[index], minlength=len(share)).double()
        assert (counts - share * len(index)).abs().max() <= 2, counts


def test_the_same_seed_gives_the_same_split_and_another_seed_another():
    labels = imbalanced_labels()
    sizes = {"test": 100, "train": None}
    first = stratified_split(labels, sizes, seed=7)
    assert torch.equal(first["test"], stratified_split(labels, sizes, seed=7)["test"])
    assert not torch.equal(first["test"], stratified_split(labels, sizes, seed=8)["test"])


def test_a_smaller_train_size_takes_a_prefix_and_leaves_test_alone():
    labels = imbalanced_labels()
    small = stratified_split(labels, {"test": 100, "train": 50}, seed=0)
    full = stratified_split(labels, {"test": 100, "train": None}, seed=0)
    assert torch.equal(small["test"], full["test"])
    assert torch.equal(small["train"], full["train"][:50])


def test_sizes_beyond_the_data_are_refused():
    with pytest.raises(ValueError, match="exceed"):
        stratified_split(torch.zeros(10, dtype=torch.long), {"test": 6, "train": 6}, seed=0)
    with pytest.raises(ValueError, match="last"):
        stratified_split(torch.zeros(10, dtype=torch.long), {"train": None, "test": 2}, seed=0)


def test_fraction_sizes_round_and_validate():
    assert fraction_sizes(1797, 0.1, 0.2) == {"test": 359, "val": 180, "train": None}
    with pytest.raises(ValueError, match="test_fraction"):
        fraction_sizes(100, 0.5, 0.5)
