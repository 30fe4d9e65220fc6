import torch

from labcore_builtins.sequence.recurrent import LSTM, RNN, LSTMConfig, RecurrentConfig
from labcore_builtins.sequence.report import fenced, gradient_flow_section, text_samples_section

LANGUAGE = {
    "task": "language-model",
    "vocab_size": 5,
    "vocab": "ab`c\n",
    "seq_len": 8,
    "start_token": 4,
    "unigram_bpc": 2.25,
}


def test_fence_is_longer_than_any_backtick_run_inside():
    assert fenced("plain").startswith("```text\n")
    block = fenced("a ``` b ```` c")
    assert block.startswith("`````text\n") and block.endswith("\n`````")


def test_text_samples_are_reproducible_and_name_the_settings():
    torch.manual_seed(0)
    model = LSTM(LSTMConfig(hidden_size=8), LANGUAGE)
    section = text_samples_section(model, length=40, bits_per_char=1.5)
    assert section.title == "Generated text"
    assert "| unigram (character frequencies of the training text) | 2.250 |" in section.markdown
    assert "0.750 bits per character below the unigram" in section.markdown
    assert "temperature 0.7, top-k 5" in section.markdown
    assert section.markdown.count("text\n") == 3
    again = text_samples_section(model, length=40, bits_per_char=1.5)
    assert again.markdown == section.markdown


def test_gradient_flow_section_draws_the_figure(tmp_path):
    torch.manual_seed(0)
    info = {"task": "regress", "num_features": 2, "seq_len": 30}
    section = gradient_flow_section(RNN(RecurrentConfig(hidden_size=8), info), tmp_path, mse=0.1)
    assert "Test MSE 0.1000, against 0.1667" in section.markdown
    ((caption, path),) = section.images
    assert path.is_file() and path.read_bytes()[:4] == b"\x89PNG"
    assert "first input step relative to the last" in section.markdown
