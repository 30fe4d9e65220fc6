"""The confusion matrix of a trained classifier, as counts and as a figure for the run report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from labcore.data import TensorSplit
from labcore.report import Section


@torch.no_grad()
def confusion_matrix(
    model: nn.Module, split: TensorSplit, num_classes: int, batch_size: int = 512
) -> torch.Tensor:
    """Counts ``(K, K)`` int64: entry ``[i, j]`` is the number of examples of class ``i`` in
    ``split`` (tensors ``x`` ``(N, C, H, W)`` and ``y`` ``(N,)``) that ``model`` predicts as ``j``.

    Runs ``model`` in eval mode on the device of its parameters, ``batch_size`` examples at a time.
    """
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    counts = torch.zeros(num_classes * num_classes, dtype=torch.long, device=device)
    for start in range(0, len(split), batch_size):
        batch = split.batch(torch.arange(start, min(start + batch_size, len(split))))
        y = batch["y"].to(device)
        predicted = model(batch["x"].to(device)).argmax(1)
        counts += torch.bincount(y * num_classes + predicted, minlength=num_classes**2)
    model.train(was_training)
    return counts.view(num_classes, num_classes).cpu()


def plot_confusion_matrix(
    matrix: torch.Tensor, class_names: list[str], path: str | Path, title: str = ""
) -> Path:
    """Save ``matrix`` ``(K, K)`` as a PNG heat map with the counts written in its cells.

    Rows are true classes and columns predicted classes; colours show each row's share, so classes
    of different sizes compare.
    """
    from matplotlib.figure import Figure  # here, not at plugin load: it costs CLI start-up

    counts = matrix.numpy()
    shares = counts / counts.sum(axis=1, keepdims=True).clip(min=1)
    k = len(class_names)
    size = max(4.0, 0.45 * k + 1.5)
    figure = Figure(figsize=(size + 1, size))
    axes = figure.add_subplot()
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=axes, label="share of the true class")
    axes.set(
        xticks=range(k),
        yticks=range(k),
        xlabel="predicted class",
        ylabel="true class",
        title=title,
    )
    long_names = max(len(name) for name in class_names) > 2
    axes.set_xticklabels(class_names, rotation=90 if long_names else 0)
    axes.set_yticklabels(class_names)
    if k <= 20:
        for i in range(k):
            for j in range(k):
                colour = "white" if shares[i, j] > 0.5 else "black"
                text = str(counts[i, j])
                axes.text(j, i, text, ha="center", va="center", color=colour, fontsize=8)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path


def summarise(matrix: torch.Tensor, class_names: list[str], top: int = 3) -> str:
    """Markdown: the accuracy the matrix implies and its ``top`` most frequent confusions."""
    total = int(matrix.sum())
    correct = int(matrix.diagonal().sum())
    lines = [f"Accuracy {correct / max(total, 1):.2%} ({correct} of {total} examples)."]
    errors = matrix.clone()
    errors.fill_diagonal_(0)
    values, flat = errors.flatten().topk(min(top, errors.numel()))
    confusions = [
        f"{class_names[i // len(class_names)]} -> {class_names[i % len(class_names)]} ({v})"
        for v, i in zip(values.tolist(), flat.tolist(), strict=True)
        if v > 0
    ]
    if confusions:
        lines.append("Most frequent confusions (true -> predicted): " + ", ".join(confusions) + ".")
    return " ".join(lines)


def confusion_section(run: Any) -> Section:
    """The report section of a classifier run: the confusion matrix of its newest checkpoint on
    the recipe's evaluation split (``[evaluate] split``), saved as ``confusion_matrix.png``."""
    from labcore.runfolder import load_data, load_model

    model, recipe, info = load_model(run.dir, "cpu")
    bundle = load_data(recipe)
    split = recipe.get("evaluate", {}).get("split", "test")
    if split not in bundle.splits:
        split = "val" if "val" in bundle.splits else "train"
    names = info.get("class_names") or [str(k) for k in range(info["num_classes"])]
    matrix = confusion_matrix(model, bundle.split(split), info["num_classes"])
    path = plot_confusion_matrix(
        matrix, names, run.dir / "confusion_matrix.png", f"{run.name}: {split} split"
    )
    text = f"Rows: true class; columns: predicted class; {split} split. " + summarise(matrix, names)
    return Section("Confusion matrix", text, [(f"confusion matrix, {split}", path)])
