"""Each architecture honours labcore's model contract on a task of each kind (labcore.testing)."""

import pytest

from labcore.testing import check_model

CASES = [
    ("lstm", "text", {"hidden_size": 16, "tbptt_steps": 8}, {"max_chars": 3000, "seq_len": 16}),
    (
        "gru",
        "adding",
        {"hidden_size": 8},
        {"seq_len": 10, "num_train": 64, "num_val": 16, "num_test": 16},
    ),
    (
        "rnn",
        "copy",
        {"hidden_size": 8, "bidirectional": True},
        {"seq_len": 5, "num_symbols": 3, "num_train": 64, "num_test": 16},
    ),
    ("tcn", "seq-digits", {"channels": 8, "levels": 2, "kernel_size": 3}, {}),
    (
        "transformer",
        "text",
        {"d_model": 16, "num_heads": 2, "num_layers": 1},
        {"max_chars": 3000, "seq_len": 16},
    ),
]


@pytest.mark.parametrize(
    "model, dataset, model_overrides, dataset_overrides",
    CASES,
    ids=[f"{m}-{d}" for m, d, _, _ in CASES],
)
def test_model_contract(model, dataset, model_overrides, dataset_overrides, tmp_path):
    result = check_model(
        model,
        dataset,
        model_overrides=model_overrides,
        dataset_overrides=dataset_overrides,
        workdir=tmp_path,
        sections={"train": {"grad_clip_norm": 1.0}},
    )
    assert result.metrics
    if dataset == "text":
        assert result.samples.shape == (8, 16)
        assert "test/bits_per_char" in result.metrics
