"""Registers the sequence family with labcore: models, datasets, recipes, the ``generate``
command and report sections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import labcore
from labcore_builtins.recipes import bundled
from labcore_builtins.sequence.image_rows import SeqDigits, SeqMnist
from labcore_builtins.sequence.recurrent import GRU, LSTM, RNN
from labcore_builtins.sequence.synthetic import Adding, Copy
from labcore_builtins.sequence.tcn import TCN
from labcore_builtins.sequence.text import Text
from labcore_builtins.sequence.transformer import Transformer

MODELS = [RNN, LSTM, GRU, TCN, Transformer]
RECIPES = (
    "char-lstm",
    "char-transformer",
    "lstm-adding",
    "lstm-copy",
    "lstm-seq-digits",
    "lstm-seq-mnist",
    "rnn-adding",
    "tcn-adding",
)


@labcore.hookimpl
def labcore_models() -> list[type]:
    return list(MODELS)


@labcore.hookimpl
def labcore_datasets() -> list[type]:
    return [SeqDigits, SeqMnist, Adding, Copy, Text]


@labcore.hookimpl
def labcore_recipes() -> list[Path]:
    return bundled(*RECIPES)


@labcore.hookimpl
def labcore_cli_commands() -> list[Any]:
    from labcore_builtins.sequence.cli import generate

    return [generate]


@labcore.hookimpl
def labcore_report_sections(run: Any) -> list[Any]:
    """Generated text for language models; gradient flow for the adding problem.

    Runs without a checkpoint (failed before the first save) get no section.
    """
    if run.recipe.get("model", {}).get("name") not in {m.name for m in MODELS}:
        return []
    from labcore.checkpoint import candidates
    from labcore.runfolder import load_model
    from labcore_builtins.sequence.report import gradient_flow_section, text_samples_section

    if not candidates(run.checkpoints):
        return []
    model, recipe, info = load_model(run.dir, "cpu")
    metrics = run.metrics().get("metrics", {})
    if info.get("task") == "language-model":
        return [text_samples_section(model, bits_per_char=metrics.get("test/bits_per_char"))]
    if recipe["data"]["name"] == "adding":
        return [gradient_flow_section(model, run.dir, mse=metrics.get("test/mse"))]
    return []
