"""``labcore generate RUN_DIR``: text from a trained character language model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import torch

from labcore.cli import handle_errors


def not_a_language_model(run_dir: Path, model: Any, info: dict[str, Any]) -> str:
    """Why `labcore generate` cannot use the run: the model it holds, what `generate` needs and
    the command that fits the run instead."""
    task = info.get("task")
    holds = f"a {model.name!r} model" + (f" of the {task!r} task" if task else "")
    if "condition_shape" in info:
        fits = f"`labcore translate {run_dir} INPUTS -o OUT` translates images with it"
    elif getattr(model, "can_sample", False) and task is None:
        fits = f"`labcore sample {run_dir} -o samples.png` draws samples from it"
    else:
        fits = f"`labcore evaluate {run_dir}` measures it"
    return (
        f"{run_dir} holds {holds}; `labcore generate` needs a sequence model trained as a "
        f"character language model on text (e.g. labcore run char-lstm); {fits}"
    )


@click.command("generate")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--prompt", default="", help="Text to continue (default: start after a newline).")
@click.option("--length", default=300, show_default=True, help="Characters to generate.")
@click.option(
    "--temperature",
    default=0.8,
    show_default=True,
    help="Sampling temperature; 0 takes the likeliest character (greedy).",
)
@click.option(
    "--top-k",
    default=0,
    show_default=True,
    help="Draw from the k likeliest characters only (0: all).",
)
@click.option("--num", default=1, show_default=True, help="Independent samples to print.")
@click.option("--seed", default=0, show_default=True, help="Seed of the sampling generator.")
@handle_errors
def generate(
    run_dir: Path, prompt: str, length: int, temperature: float, top_k: int, num: int, seed: int
) -> None:
    """Continue PROMPT with RUN_DIR's character language model (a text run: char-lstm, ...)."""
    from labcore.runfolder import load_model

    model, _, info = load_model(run_dir, "cpu")
    if info.get("task") != "language-model" or "vocab" not in info:
        raise click.UsageError(not_a_language_model(run_dir, model, info))
    generator = torch.Generator().manual_seed(seed)
    for i in range(num):
        try:
            text = model.generate_text(
                prompt, length, temperature=temperature, top_k=top_k, generator=generator
            )
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--prompt / --temperature") from None
        if i:
            click.echo("-" * 40)
        click.echo(prompt + text)
