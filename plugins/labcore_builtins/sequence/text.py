"""Character-level text for language modelling: any local UTF-8 file, or an embedded corpus.

The embedded corpus is the help text of Python's own keywords and topics (the ``pydoc_data``
package of the standard library, what ``help("if")`` shows): about 465,000 characters of English
prose and code examples that ship with every Python, so the default recipe needs no download. Its
exact content follows the Python version.

The text is split into contiguous parts (train first, then val, then test) and each part is cut
into non-overlapping chunks of ``seq_len`` characters with the next character as target
(:func:`chunk`).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import torch

import labcore

EMBEDDED = "pydoc-topics"


def embedded_corpus() -> str:
    """The help text of every pydoc topic of this Python, in sorted topic order."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key].strip() for key in sorted(topics)) + "\n"


def read_text(path: str) -> str:
    """The UTF-8 text at ``path``, or the embedded corpus when ``path`` is empty."""
    if not path:
        return embedded_corpus()
    file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(
            f"text file {file} does not exist; set data.path to a UTF-8 file "
            "or leave it empty for the embedded corpus"
        )
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{file} is not UTF-8 text ({exc}); convert it to UTF-8") from exc


def chunk(ids: torch.Tensor, length: int) -> labcore.TensorSplit:
    """Non-overlapping chunks of a token stream ``(M,)``: ``x`` and ``y`` of shape ``(n, length)``.

    ``y`` is ``x`` shifted one character ahead, :math:`y_{i,t} = x_{i,t+1}`, with
    :math:`n = \\lfloor (M - 1) / \\text{length} \\rfloor`; the remainder is dropped.
    """
    n = (len(ids) - 1) // length
    return labcore.TensorSplit(
        x=ids[: n * length].reshape(n, length), y=ids[1 : n * length + 1].reshape(n, length)
    )


def unigram_bits_per_char(train: torch.Tensor, targets: torch.Tensor, vocab_size: int) -> float:
    """Bits per character of the unigram model of ``train`` on ``targets`` (token ids).

    .. math:: \\text{bpc} = -\\frac{1}{|D|} \\sum_{c \\in D} \\log_2 \\frac{n_c + 1}{N + V}

    with :math:`n_c` the count of character :math:`c` among the :math:`N` training characters and
    add-one (Laplace) smoothing over the :math:`V` characters of the vocabulary. It is the
    baseline a model that ignores context cannot beat.
    """
    counts = torch.bincount(train.reshape(-1), minlength=vocab_size).double()
    log_probs = torch.log2((counts + 1) / (counts.sum() + vocab_size))
    return float(-log_probs[targets.reshape(-1)].mean())


@dataclasses.dataclass
class TextConfig:
    """Hyperparameters of the ``text`` dataset."""

    path: str = labcore.hp(
        "", f"a UTF-8 text file; empty: the embedded corpus ({EMBEDDED})", path=True
    )
    seq_len: int = labcore.hp(128, "characters per chunk (the BPTT length)")
    val_fraction: float = labcore.hp(0.05, "share of the text in the validation split")
    test_fraction: float = labcore.hp(0.05, "share of the text in the test split (at the end)")
    max_chars: int = labcore.hp(0, "use only the first max_chars characters; 0: all")

    def __post_init__(self) -> None:
        if self.seq_len < 1 or self.max_chars < 0:
            raise ValueError("seq_len must be >= 1 and max_chars >= 0")
        if not (
            0 <= self.val_fraction < 1
            and 0 <= self.test_fraction < 1
            and self.val_fraction + self.test_fraction < 1
        ):
            raise ValueError("val_fraction and test_fraction must be in [0, 1) and sum below 1")


class Text(labcore.Dataset):
    """Character-level language modelling on a local UTF-8 file or the embedded pydoc corpus.

    ``info``: ``vocab`` (the characters, in id order), ``vocab_size``, ``seq_len``,
    ``start_token`` (the newline's id) and ``unigram_bpc`` (the unigram baseline on the test
    split, else on val).
    """

    name = "text"
    Config = TextConfig

    def load(self) -> labcore.DataBundle:
        c = self.config
        text = read_text(c.path)
        if c.max_chars:
            text = text[: c.max_chars]
        vocab = "".join(sorted(set(text)))
        index = {char: i for i, char in enumerate(vocab)}
        ids = torch.tensor([index[char] for char in text], dtype=torch.long)
        n_test = math.floor(c.test_fraction * len(ids))
        n_val = math.floor(c.val_fraction * len(ids))
        n_train = len(ids) - n_val - n_test
        parts = {
            "train": ids[:n_train],
            "val": ids[n_train : n_train + n_val],
            "test": ids[n_train + n_val :],
        }
        splits = {}
        for name, part in parts.items():
            if name != "train" and len(part) == 0:
                continue
            if len(part) < c.seq_len + 1:
                raise ValueError(
                    f"the {name} split has {len(part)} characters, fewer than seq_len + 1 = "
                    f"{c.seq_len + 1}; lower data.seq_len or use more text"
                )
            splits[name] = chunk(part, c.seq_len)
        scored = splits.get("test", splits.get("val", splits["train"]))
        info = {
            "task": "language-model",
            "vocab": vocab,
            "vocab_size": len(vocab),
            "seq_len": c.seq_len,
            "shape": (c.seq_len,),
            "start_token": index.get("\n", 0),
            "unigram_bpc": unigram_bits_per_char(parts["train"], scored["y"], len(vocab)),
        }
        return labcore.DataBundle(splits=splits, info=info)
