import pytest
import torch

from labcore_builtins.sequence.synthetic import (
    Adding,
    Copy,
    CopyConfig,
    SyntheticConfig,
    adding_problem,
    copy_task,
)
from labcore_builtins.sequence.tasks import IGNORE


def test_adding_marks_one_step_in_each_half_and_sums_their_values():
    x, y = adding_problem(500, 40, torch.Generator().manual_seed(0))
    assert x.shape == (500, 40, 2) and y.shape == (500,)
    markers = x[..., 1]
    assert torch.equal(markers.sum(1), torch.full((500,), 2.0))
    assert torch.equal(markers[:, :20].sum(1), torch.ones(500))
    expected = torch.stack([row[m == 1].sum() for row, m in zip(x[..., 0], markers)])
    assert torch.allclose(y, expected)
    assert x[..., 0].min() >= 0 and x[..., 0].max() <= 1


def test_always_answering_one_scores_a_sixth():
    _, y = adding_problem(50000, 10, torch.Generator().manual_seed(0))
    assert ((y - 1.0) ** 2).mean().item() == pytest.approx(1 / 6, abs=0.005)


def test_adding_dataset_is_fixed_by_its_seed_and_its_splits_differ():
    a = Adding(SyntheticConfig(seq_len=12, num_train=50, num_val=10, num_test=10, seed=4)).load()
    b = Adding(SyntheticConfig(seq_len=12, num_train=50, num_val=10, num_test=10, seed=4)).load()
    assert torch.equal(a.splits["test"]["x"], b.splits["test"]["x"])
    assert not torch.equal(a.splits["val"]["x"], a.splits["test"]["x"])
    assert a.info["task"] == "regress" and a.info["num_features"] == 2 and a.info["seq_len"] == 12


def test_copy_sequences_hold_symbols_delimiter_and_scored_recall():
    x, y = copy_task(100, delay=15, num_symbols=4, alphabet=6, generator=torch.Generator())
    assert x.shape == y.shape == (100, 15 + 8)
    symbols = x[:, :4]
    assert symbols.min() >= 1 and symbols.max() <= 6
    assert torch.all(x[:, 4 + 14] == 7)  # the delimiter closes the delay of 15 steps
    assert torch.all(x[:, 4:18] == 0) and torch.all(x[:, 19:] == 0)
    assert torch.equal(y[:, -4:], symbols - 1)
    assert torch.all(y[:, :-4] == IGNORE)


def test_copy_dataset_declares_per_step_classification():
    bundle = Copy(CopyConfig(seq_len=5, num_train=8, num_val=0, num_test=4)).load()
    assert set(bundle.splits) == {"train", "test"}
    info = bundle.info
    assert info["task"] == "classify" and info["per_step"] and info["seq_len"] == 25
    assert info["vocab_size"] == 10 and info["num_classes"] == 8


def test_bad_sizes_are_rejected():
    with pytest.raises(ValueError, match="num_train"):
        SyntheticConfig(num_train=0)
    with pytest.raises(ValueError, match="seq_len >= 2"):
        adding_problem(3, 1, torch.Generator())
