import math
from collections import Counter

import pytest
import torch

from labcore_builtins.sequence.text import (
    Text,
    TextConfig,
    chunk,
    embedded_corpus,
    unigram_bits_per_char,
)


def decode(ids, vocab):
    return "".join(vocab[i] for i in ids.reshape(-1).tolist())


def test_chunks_are_consecutive_and_targets_are_the_next_character():
    split = chunk(torch.arange(23), 5)
    x, y = split["x"], split["y"]
    assert x.shape == y.shape == (4, 5)
    assert torch.equal(y[:, :-1], x[:, 1:])
    assert torch.equal(x[1:, 0], y[:-1, -1] + 0)  # chunk i + 1 starts where chunk i's targets end
    assert torch.equal(x.reshape(-1), torch.arange(20))


def test_embedded_corpus_ships_with_python_and_is_large():
    text = embedded_corpus()
    assert len(text) > 100_000
    assert "for" in text and "while" in text


def test_a_local_file_is_read_split_in_order_and_decodes_back(tmp_path):
    text = "".join(f"line {i}: the quick brown fox jumps over the lazy dog\n" for i in range(200))
    path = tmp_path / "corpus.txt"
    path.write_text(text, encoding="utf-8")
    config = TextConfig(path=str(path), seq_len=32, val_fraction=0.1, test_fraction=0.1)
    bundle = Text(config).load()
    info = bundle.info
    assert info["vocab"] == "".join(sorted(set(text)))
    assert info["task"] == "language-model" and info["vocab_size"] == len(info["vocab"])
    assert info["vocab"][info["start_token"]] == "\n"
    train = decode(bundle.splits["train"]["x"], info["vocab"])
    test = decode(bundle.splits["test"]["x"], info["vocab"])
    assert text.startswith(train)
    assert test in text[int(0.9 * len(text)) - 1 :]


def test_unigram_bits_per_char_matches_a_direct_count():
    train = torch.tensor([0, 0, 0, 1, 1, 2])
    targets = torch.tensor([0, 1, 2, 3, 0])
    counts = Counter(train.tolist())
    expected = -sum(math.log2((counts[t] + 1) / (6 + 4)) for t in targets.tolist()) / 5
    assert unigram_bits_per_char(train, targets, vocab_size=4) == pytest.approx(expected)


def test_the_dataset_reports_the_unigram_baseline_of_its_test_split():
    bundle = Text(TextConfig(max_chars=20000, seq_len=64)).load()
    y = bundle.splits["test"]["y"]
    assert 3.0 < bundle.info["unigram_bpc"] < math.log2(bundle.info["vocab_size"])
    assert bundle.info["unigram_bpc"] == pytest.approx(
        unigram_bits_per_char(bundle.splits["train"]["x"], y, bundle.info["vocab_size"]),
        abs=0.01,
    )


def test_missing_file_non_utf8_file_and_short_split_name_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="data.path"):
        Text(TextConfig(path=str(tmp_path / "nope.txt"))).load()
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("caf\xe9 ".encode("latin-1") * 100)
    with pytest.raises(ValueError, match="UTF-8"):
        Text(TextConfig(path=str(latin))).load()
    with pytest.raises(ValueError, match="lower data.seq_len"):
        Text(TextConfig(max_chars=2000, seq_len=512)).load()
