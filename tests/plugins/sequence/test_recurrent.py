import pytest
import torch

from labcore_builtins.sequence.recurrent import (
    GRU,
    LSTM,
    RNN,
    LSTMConfig,
    RecurrentBackbone,
    RecurrentConfig,
)

CLASSIFY = {"task": "classify", "num_features": 3, "num_classes": 4, "seq_len": 9}
LANGUAGE = {"task": "language-model", "vocab_size": 11, "vocab": "abcdefghij\n", "seq_len": 16}


def test_vanilla_rnn_follows_the_elman_recurrence():
    torch.manual_seed(0)
    backbone = RecurrentBackbone("rnn", in_features=3, hidden_size=5)
    x = torch.randn(2, 7, 3)
    features, state = backbone(x)
    p = dict(backbone.rnn.named_parameters())
    h = torch.zeros(2, 5)
    for t in range(7):
        h = torch.tanh(
            x[:, t] @ p["weight_ih_l0"].T
            + p["bias_ih_l0"]
            + h @ p["weight_hh_l0"].T
            + p["bias_hh_l0"]
        )
        assert torch.allclose(features[:, t], h, atol=1e-6)
    assert torch.allclose(state[0], h, atol=1e-6)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers, bidirectional", [(1, False), (2, False), (2, True)])
def test_backbone_shapes(cell, layers, bidirectional):
    backbone = RecurrentBackbone(cell, 3, 6, num_layers=layers, bidirectional=bidirectional)
    features, _ = backbone(torch.randn(4, 9, 3))
    width = 12 if bidirectional else 6
    assert features.shape == (4, 9, width) and backbone.out_features == width
    assert backbone.summary(features).shape == (4, width)
    assert backbone.causal is not bidirectional


def test_bidirectional_summary_is_each_direction_after_reading_everything():
    torch.manual_seed(0)
    backbone = RecurrentBackbone("gru", 3, 5, bidirectional=True)
    features, final = backbone(torch.randn(2, 6, 3))
    assert torch.allclose(backbone.summary(features), torch.cat([final[0], final[1]], dim=-1))


def test_lstm_forget_gate_bias_starts_at_forget_bias():
    model = LSTM(LSTMConfig(hidden_size=4, num_layers=2, forget_bias=1.5), CLASSIFY)
    for name, bias in model.backbone.rnn.named_parameters():
        if name.startswith("bias_ih"):
            assert torch.all(bias[4:8] == 1.5)
        if name.startswith("bias_hh"):
            assert torch.all(bias[4:8] == 0)


@pytest.mark.parametrize("cls", [RNN, GRU])
def test_classifier_outputs_and_language_model_outputs(cls):
    model = cls(RecurrentConfig(hidden_size=8), CLASSIFY)
    logits, _ = model(torch.randn(5, 9, 3))
    assert logits.shape == (5, 4)
    lm = cls(RecurrentConfig(hidden_size=8), LANGUAGE)
    logits, state = lm(torch.randint(0, 11, (5, 16)))
    assert logits.shape == (5, 16, 11) and state is not None


def test_a_bidirectional_language_model_is_refused():
    with pytest.raises(ValueError, match="bidirectional = false"):
        GRU(RecurrentConfig(bidirectional=True), LANGUAGE)


def test_truncated_bptt_is_only_for_language_models():
    with pytest.raises(ValueError, match="tbptt_steps = 0"):
        RNN(RecurrentConfig(tbptt_steps=4), CLASSIFY)
    with pytest.raises(ValueError, match="tbptt_steps"):
        RecurrentConfig(tbptt_steps=-1)
