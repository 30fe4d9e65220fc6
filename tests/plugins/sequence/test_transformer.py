import math

import pytest
import torch

from labcore_builtins.sequence.transformer import (
    Transformer,
    TransformerBackbone,
    TransformerConfig,
    sinusoidal_positions,
)


def test_sinusoidal_positions_follow_the_formula():
    encoding = sinusoidal_positions(7, 6)
    for p in range(7):
        for i in range(3):
            angle = p / 10000 ** (2 * i / 6)
            assert encoding[p, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert encoding[p, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_attention_is_causal():
    torch.manual_seed(0)
    backbone = TransformerBackbone(3, 16, 2, 2, 32, 0.0).eval()
    x = torch.randn(2, 10, 3)
    changed = x.clone()
    changed[:, 6:] = torch.randn(2, 4, 3)
    a, _ = backbone(x)
    b, _ = backbone(changed)
    assert torch.allclose(a[:, :6], b[:, :6], atol=1e-5)
    assert not torch.allclose(a[:, 6:], b[:, 6:])


def test_classifier_reads_the_last_step():
    info = {"task": "classify", "num_features": 4, "num_classes": 3, "seq_len": 8}
    model = Transformer(TransformerConfig(d_model=16, num_heads=2), info)
    logits, state = model(torch.randn(5, 8, 4))
    assert logits.shape == (5, 3) and state is None


def test_heads_must_divide_the_width():
    with pytest.raises(ValueError, match="divisible by num_heads"):
        TransformerConfig(d_model=30, num_heads=4)
