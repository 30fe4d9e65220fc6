"""The sequence family's report sections: generated text, and gradient flow through time.

Each function takes a trained model, so it can be used (and tested) without a run folder.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from labcore.report import Section
from labcore_builtins.sequence.synthetic import adding_problem
from labcore_builtins.sequence.tasks import SequenceModel

SAMPLE_SETTINGS = ((1.0, 0), (0.7, 0), (0.7, 5))  # (temperature, top_k)


def fenced(text: str) -> str:
    """``text`` as a Markdown code block whose fence no backtick run inside it can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def text_samples_section(
    model: SequenceModel,
    length: int | None = None,
    seed: int = 0,
    bits_per_char: float | None = None,
) -> Section:
    """Samples of a character language model at a few temperatures and top-k settings.

    Each sample has ``length`` characters (the model's :attr:`sample_length` by default), starts
    from ``info["start_token"]`` (a newline) and is drawn with a generator seeded with ``seed``,
    so a report shows the same samples each time it is built. With the model's test
    ``bits_per_char``, a table compares it with the unigram baseline ``info["unigram_bpc"]``.
    """
    length = length or model.sample_length
    parts = []
    unigram = model.info.get("unigram_bpc")
    if unigram is not None and bits_per_char is not None:
        parts.append(
            "| model | test bits per character |\n| --- | ---: |\n"
            f"| {model.name} | {bits_per_char:.3f} |\n"
            f"| unigram (character frequencies of the training text) | {unigram:.3f} |\n\n"
            f"The model is {unigram - bits_per_char:.3f} bits per character below the unigram."
        )
    for temperature, top_k in SAMPLE_SETTINGS:
        generator = torch.Generator().manual_seed(seed)
        text = model.generate_text(
            "", length, temperature=temperature, top_k=top_k, generator=generator
        )
        label = f"temperature {temperature}" + (f", top-k {top_k}" if top_k else "")
        parts.append(f"**{label}**\n\n{fenced(text)}")
    return Section(title="Generated text", markdown="\n\n".join(parts))


def gradient_flow_figure(
    model: SequenceModel, x: torch.Tensor, y: torch.Tensor, path: str | Path
) -> Path:
    """Plot :meth:`~.tasks.SequenceModel.step_sensitivity` on ``(x, y)`` against the step, log
    scale; save it as PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    norms = model.step_sensitivity(x, y).cpu()
    figure, axes = plt.subplots(figsize=(6, 3.2))
    axes.semilogy(range(1, len(norms) + 1), norms.clamp_min(1e-30).numpy())
    axes.set_xlabel("input step t")
    axes.set_ylabel("mean ||dL/dx_t||")
    axes.set_title(f"{model.name}: gradient reaching each input step")
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def gradient_flow_section(
    model: SequenceModel, run_dir: str | Path, seed: int = 0, mse: float | None = None
) -> Section:
    """The gradient flow of an adding-problem model on 256 fresh sequences, with its decay ratio.

    The ratio of the gradient reaching the first step to the one reaching the last step shows the
    vanishing gradient (Bengio et al. 1994): near 1 when the model can carry information across
    the sequence, many orders of magnitude below 1 for a vanilla RNN. With the model's test
    ``mse``, the section compares it with the 1/6 of always answering 1.0.
    """
    generator = torch.Generator().manual_seed(seed)
    x, y = adding_problem(256, int(model.info["seq_len"]), generator)
    device = model.head.weight.device
    x, y = x.to(device), y.to(device)
    path = gradient_flow_figure(model, x, y, Path(run_dir) / "report" / "gradient_flow.png")
    norms = model.step_sensitivity(x, y)
    ratio = float(norms[0] / norms[-1]) if norms[-1] > 0 else float("nan")
    markdown = ""
    if mse is not None:
        markdown = (
            f"Test MSE {mse:.4f}, against {1 / 6:.4f} for always answering 1.0 (the mean of the "
            "target).\n\n"
        )
    markdown += (
        f"Gradient of the loss reaching the first input step relative to the last: "
        f"{ratio:.3g} (mean over 256 sequences of {len(norms)} steps). A ratio many orders of "
        "magnitude below 1 is the vanishing gradient: the early steps, where the first marked "
        "value lies, then barely move the weights (Bengio et al. 1994)."
    )
    return Section(
        title="Gradient flow through time",
        markdown=markdown,
        images=[("gradient norm per input step", path)],
    )
