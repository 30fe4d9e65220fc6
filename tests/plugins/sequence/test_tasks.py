import math

import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import mean_squared_error, r2_score

from labcore.data import TensorSplit
from labcore_builtins.sequence.recurrent import GRU, LSTM, RNN, LSTMConfig, RecurrentConfig
from labcore_builtins.sequence.tasks import IGNORE
from labcore_builtins.sequence.tcn import TCN, TCNConfig
from labcore_builtins.sequence.transformer import Transformer, TransformerConfig

VOCAB = "abcdefgh\n"
LANGUAGE = {
    "task": "language-model",
    "vocab_size": 9,
    "vocab": VOCAB,
    "seq_len": 12,
    "start_token": 8,
}

ALL_MODELS = [
    (RNN, RecurrentConfig(hidden_size=8)),  # sample_length 0: as long as the data's chunks
    (LSTM, LSTMConfig(hidden_size=8, sample_length=20)),
    (GRU, RecurrentConfig(hidden_size=8, num_layers=2, sample_length=20)),
    (TCN, TCNConfig(channels=8, levels=2, kernel_size=3, sample_length=20)),
    (Transformer, TransformerConfig(d_model=8, num_heads=2, dim_feedforward=16, sample_length=20)),
]


def test_a_dataset_without_a_task_is_refused():
    with pytest.raises(ValueError, match="use a sequence dataset"):
        RNN(RecurrentConfig(), {"num_classes": 10, "shape": (1, 28, 28)})
    with pytest.raises(ValueError, match="num_features"):
        RNN(RecurrentConfig(), {"task": "classify", "num_classes": 3})


def test_classification_metrics_match_a_direct_computation(eval_context):
    torch.manual_seed(0)
    info = {"task": "classify", "num_features": 3, "num_classes": 5, "seq_len": 6}
    model = GRU(RecurrentConfig(hidden_size=8), info).eval()
    x, y = torch.randn(70, 6, 3), torch.randint(0, 5, (70,))
    metrics = model.evaluate(TensorSplit(x=x, y=y), eval_context(batch_size=16))
    logits, _ = model(x)
    assert metrics["accuracy"] == pytest.approx((logits.argmax(-1) == y).double().mean().item())
    assert metrics["loss"] == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-5)


def test_per_step_accuracy_counts_only_scored_steps(eval_context):
    torch.manual_seed(0)
    info = {"task": "classify", "per_step": True, "vocab_size": 6, "num_classes": 4, "seq_len": 7}
    model = LSTM(LSTMConfig(hidden_size=8), info).eval()
    x = torch.randint(0, 6, (20, 7))
    y = torch.full((20, 7), IGNORE)
    y[:, -2:] = torch.randint(0, 4, (20, 2))
    metrics = model.evaluate(TensorSplit(x=x, y=y), eval_context(batch_size=8))
    logits, _ = model(x)
    predictions = logits[:, -2:].argmax(-1)
    assert metrics["accuracy"] == pytest.approx((predictions == y[:, -2:]).double().mean().item())


def test_regression_metrics_match_scikit_learn(eval_context):
    torch.manual_seed(0)
    info = {"task": "regress", "num_features": 2, "seq_len": 5}
    model = RNN(RecurrentConfig(hidden_size=8), info).eval()
    x, y = torch.randn(50, 5, 2), torch.randn(50)
    metrics = model.evaluate(TensorSplit(x=x, y=y), eval_context(batch_size=16))
    predictions = model(x)[0].squeeze(-1).detach().numpy()
    assert metrics["mse"] == pytest.approx(mean_squared_error(y.numpy(), predictions), rel=1e-5)
    assert metrics["r2"] == pytest.approx(r2_score(y.numpy(), predictions), rel=1e-4)


def test_language_model_metrics_are_bits_per_char_and_perplexity(eval_context):
    torch.manual_seed(0)
    model = LSTM(LSTMConfig(hidden_size=8), LANGUAGE).eval()
    x, y = torch.randint(0, 9, (10, 12)), torch.randint(0, 9, (10, 12))
    metrics = model.evaluate(TensorSplit(x=x, y=y), eval_context(batch_size=4))
    logits, _ = model(x)
    nats = F.cross_entropy(logits.reshape(-1, 9), y.reshape(-1)).item()
    assert metrics["loss"] == pytest.approx(nats, rel=1e-5)
    assert metrics["bits_per_char"] == pytest.approx(nats / math.log(2), rel=1e-5)
    assert metrics["perplexity"] == pytest.approx(math.exp(nats), rel=1e-5)


def test_truncated_bptt_carries_the_state_but_cuts_the_gradient(step_recorder):
    torch.manual_seed(0)
    model = GRU(RecurrentConfig(hidden_size=8, tbptt_steps=4), LANGUAGE)
    x = torch.cat([torch.zeros(3, 4), torch.ones(3, 8)], dim=1).long()  # token 0 only in window 1
    y = torch.randint(0, 9, (3, 12))
    reached = []

    def embedding_rows_reached(loss):
        (grad,) = torch.autograd.grad(loss, model.embed.weight, retain_graph=True)
        reached.append(set(grad.abs().sum(1).nonzero().flatten().tolist()))

    ctx = step_recorder(on_step=embedding_rows_reached)
    logs = model.training_step({"x": x, "y": y}, ctx)
    assert reached == [{0}, {1}, {1}]  # windows 2 and 3 send no gradient back to window 1
    full_logits, _ = model(x)
    expected = F.cross_entropy(full_logits.reshape(-1, 9), y.reshape(-1)).item()
    assert logs["loss"].item() == pytest.approx(expected, rel=1e-5)  # same forward, state carried
    assert logs["bits_per_char"].item() == pytest.approx(expected / math.log(2), rel=1e-5)


def test_without_truncation_one_update_covers_the_whole_chunk(step_recorder):
    model = LSTM(LSTMConfig(hidden_size=8), LANGUAGE)
    ctx = step_recorder()
    model.training_step({"x": torch.randint(0, 9, (2, 12)), "y": torch.randint(0, 9, (2, 12))}, ctx)
    assert len(ctx.losses) == 1


@pytest.mark.parametrize("cls, config", ALL_MODELS, ids=lambda v: getattr(v, "name", ""))
def test_generation_matches_rereading_the_whole_prefix(cls, config):
    torch.manual_seed(0)
    model = cls(config, LANGUAGE).eval()
    prompt = torch.randint(0, 9, (3, 4))
    generated = model.generate(prompt, 6, temperature=0.0)
    sequence = prompt
    for _ in range(6):
        logits, _ = model(sequence[:, -12:])
        sequence = torch.cat([sequence, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(generated, sequence[:, 4:])


@pytest.mark.parametrize("cls, config", ALL_MODELS, ids=lambda v: getattr(v, "name", ""))
def test_samples_are_token_ids_reproducible_from_the_generator(cls, config):
    torch.manual_seed(0)
    model = cls(config, LANGUAGE)
    assert model.can_sample and model.sample_grid(torch.Generator(), None) is None
    a = model.sample(4, generator=torch.Generator().manual_seed(1))
    b = model.sample(4, generator=torch.Generator().manual_seed(1))
    assert model.sample_length == (config.sample_length or LANGUAGE["seq_len"])
    assert a.shape == (4, model.sample_length) and a.dtype == torch.long
    assert torch.equal(a, b) and a.min() >= 0 and a.max() < 9
    prompted = model.sample(2, generator=torch.Generator(), condition=torch.tensor([1, 2, 3]))
    assert prompted.shape == (2, model.sample_length)


def test_generate_text_uses_the_vocabulary_and_names_unknown_characters():
    torch.manual_seed(0)
    model = LSTM(LSTMConfig(hidden_size=8), LANGUAGE)
    text = model.generate_text("abc", 30, generator=torch.Generator().manual_seed(0))
    assert len(text) == 30 and set(text) <= set(VOCAB)
    assert model.generate_text("", 5, temperature=0.0) == model.generate_text(
        "\n", 5, temperature=0.0
    )
    with pytest.raises(ValueError, match=r"\['X', 'z'\]"):
        model.generate_text("Xz", 5)


def test_classifiers_do_not_sample():
    model = RNN(RecurrentConfig(), {"task": "classify", "num_features": 2, "num_classes": 3})
    assert not model.can_sample
    with pytest.raises(NotImplementedError, match="language model"):
        model.sample(2, generator=torch.Generator())


def test_step_sensitivity_shows_the_vanishing_gradient_of_a_contracting_rnn():
    torch.manual_seed(0)
    info = {"task": "regress", "num_features": 2, "seq_len": 60}
    x, y = torch.randn(8, 60, 2), torch.randn(8)
    rnn = RNN(RecurrentConfig(hidden_size=16), info)
    with torch.no_grad():
        rnn.backbone.rnn.weight_hh_l0.mul_(0.1)
    lstm = LSTM(LSTMConfig(hidden_size=16, forget_bias=6.0), info)
    rnn_norms, lstm_norms = rnn.step_sensitivity(x, y), lstm.step_sensitivity(x, y)
    assert rnn_norms.shape == (60,)
    assert rnn_norms[0] / rnn_norms[-1] < 1e-20  # each step back multiplies it by < 0.5
    assert lstm_norms[0] / lstm_norms[-1] > 1e-3  # the cell keeps it
    inputs = x.clone().requires_grad_(True)
    rnn.loss(rnn(inputs)[0], y).backward()
    assert torch.allclose(rnn_norms, inputs.grad.norm(dim=-1).mean(0))
