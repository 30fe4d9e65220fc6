"""Run reports: the Markdown summary of a run, and the sections plugins add to it."""

from __future__ import annotations

import dataclasses
from pathlib import Path


@dataclasses.dataclass
class Section:
    """A part of a run's report contributed by a plugin.

    ``markdown`` is Markdown text; ``images`` are PNG files (paths relative to the run folder, or
    absolute) shown under it with their captions.
    """

    title: str
    markdown: str = ""
    images: list[tuple[str, Path]] = dataclasses.field(default_factory=list)


def _format(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def write_markdown(run, manager) -> Path:
    """Write ``report.md`` in the run folder: recipe, final metrics, samples, plugin sections."""
    recipe = run.recipe
    lines = [f"# {run.name}", ""]
    status = run.status()
    if status:
        lines += [f"Status: **{status.get('status')}** at step {status.get('step')}.", ""]
    lines += ["## Recipe", ""]
    lines += [f"- model: `{recipe['model']['name']}`", f"- data: `{recipe['data']['name']}`"]
    lines += [f"- optimizer: `{recipe['optimizer'].get('name', 'adam')}`", ""]
    metrics = run.metrics()
    if metrics.get("metrics"):
        lines += ["## Metrics", "", "| metric | value |", "| --- | --- |"]
        lines += [f"| {k} | {_format(v)} |" for k, v in metrics["metrics"].items()]
        lines.append("")
        details = metrics.get("evaluation") or {}
        if details:
            lines += [f"- {k}: {_format(v)}" for k, v in details.items()] + [""]
    grids = sorted(run.samples.glob("step-*.png")) if run.samples.is_dir() else []
    if grids:
        lines += ["## Samples", "", f"![{grids[-1].stem}]({grids[-1].relative_to(run.dir)})", ""]
    for section in manager.report_sections(run):
        lines += [f"## {section.title}", ""]
        if section.markdown:
            lines += [section.markdown, ""]
        for caption, image in section.images:
            image = Path(image)
            target = image.relative_to(run.dir) if image.is_absolute() else image
            lines += [f"![{caption}]({target})", ""]
    path = run.dir / "report.md"
    path.write_text("\n".join(lines))
    return path
