"""The GAN family's report sections: real vs generated points, the WGAN
critic's Wasserstein estimate, a conditional GAN's per-class accuracy and pix2pix's outputs against
the copy-the-input baseline.

The section builders take plain inputs (a model, a log, a folder) so they can be used and tested
without a run; :func:`report_sections` gathers them for a run folder.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from labcore.measurement import name_direction
from labcore.points import clip_to_frame, frame, save_scatter
from labcore.report import Section
from labcore.schema import build
from labcore_builtins.gan.evaluation import class_accuracy, translation_metrics
from labcore_builtins.gan.toy import point_metrics

REPORT_DIR = "report"
TRANSLATION_METRICS = ["fid", "kid"]
"""Sample metrics of a translation model's outputs when its recipe's ``[evaluate]`` names none.

Not 1-NN: each output lies next to its own target, so the leave-one-out 1-NN test is fooled by the
pairing and falls below 0.5 for any good model."""


POINT_MEASURES = {
    "fake_to_real": "mean distance from a generated point to the nearest real one (lower: "
    "closer to the data)",
    "real_to_fake": "mean distance from a real point to the nearest generated one (lower: more "
    "of the data covered)",
    "high_quality": "share of generated points within 3 standard deviations of a mode's centre",
    "modes_covered": "modes holding at least 1% of the generated points as high-quality ones",
}
"""What each measure of :func:`labcore_builtins.gan.toy.point_metrics` means, for the table."""

#: Which way the translation table's image measures are better (the sample metrics declare
#: their own, see :func:`labcore.measurement.name_direction`).
TRANSLATION_DIRECTIONS = {"l1": False, "psnr": True, "ssim": True}
#: The units of the translation table's measures that have one.
TRANSLATION_UNITS = {"psnr": "dB"}


def points_section(model: Any, real: torch.Tensor, out: Path, seed: int = 0) -> Section:
    """Scatter plot of held-out real points against as many generated ones, with their metrics.

    The picture of mode collapse: generated points bunched on a few of the ring's modes.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        fake = model.sample(len(real), generator=generator)
    metrics = point_metrics(real, fake, model.info.get("modes"), model.info.get("mode_std"))
    path = save_scatter(real, fake, out, title=f"{model.name}: real vs generated")
    _, outside = clip_to_frame(fake.double().numpy()[:, :2], frame(real))
    table = ["| measure | value | what it measures |", "| --- | ---: | --- |"]
    table += [f"| {k} | {v:.4g} | {POINT_MEASURES.get(k, '')} |" for k, v in metrics.items()]
    text = (
        f"{len(real)} held-out points (light grey, beneath) and {len(fake)} generated points "
        f"(orange, semi-transparent, on top), seed {seed}. The frame is the real points' extent "
        f"with a margin; {len(outside)} generated points fall outside it and are drawn as red "
        "crosses at its edge.\n\n" + "\n".join(table)
    )
    caption = "held-out real points and generated ones"
    return Section(title="Real vs generated points", markdown=text, images=[(caption, path)])


def critic_curve(log: list[dict[str, Any]]) -> tuple[list[int], list[float]]:
    """Steps and logged means of the critic's Wasserstein estimate (training records only)."""
    rows = [(r["step"], r["wasserstein"]) for r in log if "wasserstein" in r]
    return [s for s, _ in rows], [w for _, w in rows]


def critic_section(log: list[dict[str, Any]], out: Path) -> Section | None:
    """The critic's estimate of the Wasserstein distance over training, plotted and summarised.

    The estimate :math:`\\mathbb{E} D(x) - \\mathbb{E} D(G(z))` rises while the critic learns and
    then falls as the generator's distribution approaches the data's.
    """
    steps, values = critic_curve(log)
    if len(values) < 2:
        return None
    fig = Figure(figsize=(6, 3.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(steps, values, lw=1)
    ax.set_xlabel("step")
    ax.set_ylabel("E D(x) - E D(G(z))")
    ax.set_title("critic's Wasserstein estimate")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    quarter = max(1, len(values) // 4)
    first = sum(values[:quarter]) / quarter
    last = sum(values[-quarter:]) / quarter
    peak = max(values)
    text = (
        f"Peak {peak:.4g} at step {steps[values.index(peak)]}; mean of the first quarter of the "
        f"logged values {first:.4g}, of the last quarter {last:.4g}."
    )
    return Section(title="Critic's Wasserstein estimate", markdown=text, images=[("critic", out)])


def class_accuracy_section(
    model: Any, extractor: Any, value_range: tuple[float, float], per_class: int = 100
) -> Section:
    """How often the domain classifier recognises the class each sample was drawn for."""
    result = class_accuracy(model, extractor, value_range, model.num_classes, per_class)
    rows = ["| class | accuracy |", "| --- | --- |"]
    rows += [
        f"| {key.split('/')[1]} | {value:.3f} |"
        for key, value in result.items()
        if key.startswith("class_accuracy/")
    ]
    text = (
        f"{per_class} samples per class; the classifier of the run's `[evaluate.extractor]` "
        f"recognises the requested class in **{result['class_accuracy']:.1%}** of them.\n\n"
        + "\n".join(rows)
    )
    return Section(title="Samples of each requested class", markdown=text)


def translation_section(
    model: Any, split: Any, config: Any, value_range: tuple[float, float], registry: Any
) -> Section:
    """The model's outputs against the targets, next to copying the input, on one split.

    The sample metrics are the ``[evaluate]`` section's, or :data:`TRANSLATION_METRICS`.
    """
    config = dataclasses.replace(config, metrics=config.metrics or TRANSLATION_METRICS)
    metrics = translation_metrics(model, split, config, value_range, "cpu", registry)
    keys = list(metrics["model"])
    headers = [f"{k} ({TRANSLATION_UNITS[k]})" if k in TRANSLATION_UNITS else k for k in keys]
    rows = ["| outputs | " + " | ".join(headers) + " |", "| --- |" + " ---: |" * len(keys)]
    for name, values in metrics.items():
        rows.append(f"| {name} | " + " | ".join(f"{values[k]:.4g}" for k in keys) + " |")
    better = {True: [], False: []}
    for key in keys:
        way = TRANSLATION_DIRECTIONS.get(key, name_direction(key))
        if way is not None:
            better[way].append(key)
    directions = "; ".join(
        f"{word} is better for {', '.join(better[way])}"
        for way, word in ((False, "lower"), (True, "higher"))
        if better[way]
    )
    text = (
        f"{len(split)} pairs of the `{config.split}` split; FID and the other sample metrics use "
        f"the run's `[evaluate.extractor]`, dropout noise seeded with {config.seed}. "
        + (
            "*copy-input* scores the inputs themselves as outputs, what a model that learned "
            "only to copy would give: the baseline to beat. "
            if "copy-input" in metrics
            else ""
        )
        + (directions[0].upper() + directions[1:] + "." if directions else "")
        + "\n\n"
        + "\n".join(rows)
    )
    return Section(title="Outputs against targets", markdown=text)


def _evaluation_setup(run: Any, registry: Any) -> tuple[Any, Any] | str:
    """The run's evaluate config and feature extractor, or why there is none."""
    from labcore.metrics.generative import build_extractor
    from labcore.recipes.evaluate import EvaluateConfig

    try:
        config = build(EvaluateConfig, run.recipe.get("evaluate", {}), "evaluate")
        if not config.extractor.get("name"):
            return "the recipe names no [evaluate.extractor]"
        return config, build_extractor(config.extractor, "cpu", registry)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        return str(exc)


def conditional_section(run: Any, data: Any, registry: Any) -> Section:
    """Per-class accuracy (cgan) or outputs against targets (pix2pix), with the run's extractor."""
    from labcore.runfolder import load_model

    is_cgan = run.recipe["model"]["name"] == "cgan"
    title = "Samples of each requested class" if is_cgan else "Outputs against targets"
    setup = _evaluation_setup(run, registry)
    if isinstance(setup, str):
        return Section(title=title, markdown=f"Not measured: {setup}.")
    config, extractor = setup
    model, _, _ = load_model(run.dir, "cpu")
    value_range = tuple(data.info.get("value_range", (-1.0, 1.0)))
    if is_cgan:
        return class_accuracy_section(model, extractor, value_range)
    return translation_section(model, data.split(config.split), config, value_range, registry)


def report_sections(run: Any) -> list[Section]:
    """The sections that apply to a GAN-family run folder."""
    from labcore.plugins import get_manager
    from labcore.runfolder import load_data, load_model

    sections = []
    critic = critic_section(run.log(), run.dir / REPORT_DIR / "wasserstein.png")
    if not (run.checkpoints / "last.pt").is_file():
        return [critic] if critic is not None else []
    data = load_data(run.recipe)
    if len(data.info.get("shape", ())) == 1:
        model, _, _ = load_model(run.dir, "cpu")
        name = next(s for s in ("test", "val", "train") if s in data.splits)
        real = data.split(name)["x"][:2000]
        sections.append(points_section(model, real, run.dir / REPORT_DIR / "scatter.png"))
    elif run.recipe["model"]["name"] in ("cgan", "pix2pix"):
        sections.append(conditional_section(run, data, get_manager()))
    if critic is not None:
        sections.append(critic)
    return sections
