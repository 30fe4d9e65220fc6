"""Long-memory benchmarks generated from a seed: the adding problem and the copy task.

Both put the information a model needs far from the step where it is asked for, ``T`` steps
apart, so they measure how well gradients (and memory) survive across ``T`` steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch

import labcore
from labcore_builtins.sequence.tasks import IGNORE


def adding_problem(n: int, length: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """``n`` adding-problem sequences of ``length`` steps (Hochreiter and Schmidhuber 1997, 5.4).

    Each step holds two features, a value :math:`u_t \\sim U(0, 1)` and a marker
    :math:`m_t \\in \\{0, 1\\}`; exactly two steps are marked, one uniformly in the first half
    and one in the second (the form of Arjovsky et al. 2016, section 4.2). The target is the sum
    of the two marked values, :math:`y = \\sum_t m_t u_t`. Always answering 1 (the target's mean)
    has mean squared error :math:`\\operatorname{Var}(u + u') = 1/6 \\approx 0.167`.

    Returns ``x`` ``(n, length, 2)`` float32 and ``y`` ``(n,)`` float32.
    """
    if length < 2:
        raise ValueError(f"the adding problem needs seq_len >= 2, got {length}")
    half = length // 2
    values = torch.rand(n, length, generator=generator)
    first = torch.randint(0, half, (n,), generator=generator)
    second = torch.randint(half, length, (n,), generator=generator)
    markers = torch.zeros(n, length)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack([values, markers], dim=-1)
    return x, (values * markers).sum(dim=1)


def copy_task(
    n: int, delay: int, num_symbols: int, alphabet: int, generator: torch.Generator
) -> tuple[torch.Tensor, ...]:
    """``n`` copy-task sequences (Hochreiter and Schmidhuber 1997; form of Arjovsky et al. 2016).

    Input tokens: ``num_symbols`` symbols drawn uniformly from ``1..alphabet``, ``delay - 1``
    blanks (0), a delimiter (``alphabet + 1``), then ``num_symbols`` blanks, in which the model
    must repeat the symbols in order: length ``delay + 2 * num_symbols``. Targets are the class of
    each repeated symbol (symbol - 1) at the last ``num_symbols`` steps and ``-100`` (not scored)
    elsewhere, so a memoryless guess scores :math:`1/\\text{alphabet}` and a cross-entropy of
    :math:`\\ln(\\text{alphabet})`.

    Returns ``x`` ``(n, L)`` int64 tokens and ``y`` ``(n, L)`` int64 labels.
    """
    if delay < 1 or num_symbols < 1 or alphabet < 2:
        raise ValueError("the copy task needs seq_len >= 1, num_symbols >= 1 and alphabet >= 2")
    length = delay + 2 * num_symbols
    symbols = torch.randint(1, alphabet + 1, (n, num_symbols), generator=generator)
    x = torch.zeros(n, length, dtype=torch.long)
    x[:, :num_symbols] = symbols
    x[:, num_symbols + delay - 1] = alphabet + 1
    y = torch.full((n, length), IGNORE, dtype=torch.long)
    y[:, -num_symbols:] = symbols - 1
    return x, y


@dataclasses.dataclass
class SyntheticConfig:
    """Sizes and seed of a generated dataset."""

    seq_len: int = labcore.hp(100, "T: the steps between the information and the question")
    num_train: int = labcore.hp(10000, "training sequences")
    num_val: int = labcore.hp(1000, "validation sequences")
    num_test: int = labcore.hp(1000, "test sequences")
    seed: int = labcore.hp(0, "seed of the generator (train, val and test are drawn in turn)")

    def __post_init__(self) -> None:
        if self.num_train < 1 or min(self.num_val, self.num_test) < 0:
            raise ValueError("num_train must be >= 1 and num_val, num_test >= 0")


Generate = Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor]]


def generated_splits(config: SyntheticConfig, make: Generate) -> dict[str, labcore.TensorSplit]:
    """Train, val and test drawn in that order from one generator seeded with ``config.seed``."""
    generator = torch.Generator().manual_seed(config.seed)
    sizes = {"train": config.num_train, "val": config.num_val, "test": config.num_test}
    splits = {}
    for name, size in sizes.items():
        x, y = make(size, generator)
        if size:
            splits[name] = labcore.TensorSplit(x=x, y=y)
    return splits


class Adding(labcore.Dataset):
    """The adding problem: regress the sum of the two marked values of a length-T sequence."""

    name = "adding"
    Config = SyntheticConfig

    def load(self) -> labcore.DataBundle:
        length = self.config.seq_len
        splits = generated_splits(self.config, lambda n, g: adding_problem(n, length, g))
        info = {
            "task": "regress",
            "num_features": 2,
            "num_outputs": 1,
            "seq_len": length,
            "shape": (length, 2),
        }
        return labcore.DataBundle(splits=splits, info=info)


@dataclasses.dataclass
class CopyConfig(SyntheticConfig):
    """The copy task's sizes: ``seq_len`` is the delay T between reading and repeating."""

    num_symbols: int = labcore.hp(10, "symbols to remember and repeat")
    alphabet: int = labcore.hp(8, "distinct symbols")


class Copy(labcore.Dataset):
    """The copy task: repeat a sequence of symbols after a delay of T blank steps."""

    name = "copy"
    Config = CopyConfig

    def load(self) -> labcore.DataBundle:
        c = self.config
        splits = generated_splits(
            c, lambda n, g: copy_task(n, c.seq_len, c.num_symbols, c.alphabet, g)
        )
        length = c.seq_len + 2 * c.num_symbols
        info = {
            "task": "classify",
            "per_step": True,
            "vocab_size": c.alphabet + 2,
            "num_classes": c.alphabet,
            "seq_len": length,
            "shape": (length,),
        }
        return labcore.DataBundle(splits=splits, info=info)
