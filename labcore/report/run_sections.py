"""The report sections every run has, read from its run folder (see :mod:`labcore.runfolder`).

Leading sections: the recipe in brief, the final metrics (with their noise floors and which way
each is better; the feature extractor, its weights' hash and the sample counts of the
sample-based ones said once above them), training curves, the latest sample grid and a strip of
grids over training. Trailing sections, after the model family's own:
the environment and the full resolved recipe.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tomli_w

from labcore.measurement import (
    SHA_DIGITS,
    direction,
    is_discriminator_output,
    is_sample_based,
    setting,
)
from labcore.report import listing as runs
from labcore.report import logs
from labcore.report.document import STRIP_IMAGES, Section, cell, fmt
from labcore.report.plots import is_evaluation, panels, plot_curves, scale_of
from labcore.schema import SchemaError, build, inapplicable, to_dict
from labcore.train.monitor import selection_note

REPORT_DIR = "report"
CURVES_NAME = "curves.png"
STRIP_COUNT = 6
RECIPE_ORDER = ("model", "data", "optimizer", "schedule", "train", "evaluate", "run")


def flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts to one level of dotted keys: ``{"a": {"b": 1}}`` to ``{"a.b": 1}``."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _setting(value: Any) -> str:
    return '""' if value == "" else fmt(value)


# -- summary and recipe -----------------------------------------------------------------------


def resumed_text(record: dict[str, Any]) -> str:
    """A resume record of ``log.jsonl`` for people: ``resumed at step 30 (last.pt) on
    2026-12-01 02:10 UTC``."""
    when = str(record.get("resumed", "")).replace("T", " ").removesuffix("Z")[:16]
    source = f" ({record['checkpoint']})" if record.get("checkpoint") else ""
    return f"resumed at step {record.get('step')}{source} on {when} UTC"


def summary(run: Any) -> str:
    """One line under the report's title: progress, model, data, start time, each resume,
    folder (the status is the document's own)."""
    status = run.status()
    parts = []
    if status:
        step, total = status.get("step"), status.get("max_steps")
        parts.append(f"step {step} of {total}" if total else f"step {step}")
    recipe = run.recipe
    parts.append(f"model `{recipe['model']['name']}` on data `{recipe['data']['name']}`")
    parts.append(f"started {runs.started(run.dir).strftime('%Y-%m-%d %H:%M UTC')}")
    parts += [resumed_text(record) for record in logs.resumes(run.log())]
    parts.append(f"folder `{run.dir}`")
    return " · ".join(parts)


def section_schema(section: str, values: dict[str, Any]) -> type | None:
    """The dataclass that validates the recipe section ``section``: the host's own, or the
    ``Config`` of the component it names (None when that component is not installed)."""
    from labcore.plugins import PluginError, get_manager
    from labcore.recipes.evaluate import EvaluateConfig
    from labcore.recipes.optim import ScheduleConfig
    from labcore.recipes.recipe import RunConfig, TrainConfig

    host = {
        "run": RunConfig, "train": TrainConfig, "schedule": ScheduleConfig,
        "evaluate": EvaluateConfig,
    }  # fmt: skip
    if section in host:
        return host[section]
    kind = {"model": "model", "data": "dataset"}.get(section)
    if kind is None:
        return None
    try:
        return get_manager().get(kind, str(values.get("name", ""))).Config
    except PluginError:
        return None


def applicable(section: str, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` as the run used them (validated by their schema, which may make one value
    follow from another) without the keys that do not apply given the others, as the schema
    declares (``hp(..., applies=...)``, see :func:`labcore.schema.inapplicable`); ``values``
    unchanged when the schema is unknown or the values no longer validate against it."""
    schema = section_schema(section, values)
    if schema is None:
        return values
    try:
        config = build(schema, values, section, ignore={"name"})
    except SchemaError:
        return values
    hidden, used = inapplicable(config), to_dict(config)
    return {k: used.get(k, v) for k, v in values.items() if k not in hidden}


def recipe_section(recipe: dict[str, Any]) -> Section:
    """Each recipe section's component name and the settings that apply to the chosen options,
    one row per section (the sample-based evaluation's settings only when the recipe names
    metrics); the folded resolved recipe has them all."""
    rows = ["| section | name | settings |", "| --- | --- | --- |"]
    order = [s for s in RECIPE_ORDER if s in recipe] + [s for s in recipe if s not in RECIPE_ORDER]
    for name in order:
        values = recipe[name]
        if not isinstance(values, dict):
            continue
        values = flatten(applicable(name, values))
        component = values.pop("name", "")
        if name == "evaluate" and not values.get("metrics"):
            values = {k: v for k, v in values.items() if k in ("split", "metrics")}
        settings = ", ".join(f"`{k}` = {cell(_setting(v))}" for k, v in values.items())
        rows.append(f"| {name} | {f'`{component}`' if component else ''} | {settings} |")
    note = (
        "Settings that do not apply to the chosen options (an MLP's sizes beside DCGAN networks, "
        "a step schedule's `gamma` without one) are left out; the resolved recipe at the end of "
        "the report has every key."
    )
    return Section("Recipe", note + "\n\n" + "\n".join(rows))


def full_recipe_section(recipe: dict[str, Any]) -> Section:
    text = (
        "The resolved recipe, as saved in `recipe.toml`; `labcore run recipe.toml` runs it "
        f"again.\n\n```toml\n{tomli_w.dumps(recipe).rstrip()}\n```"
    )
    return Section("Resolved recipe", text, collapsed=True)


# -- metrics ----------------------------------------------------------------------------------


def measured_with(record: dict[str, Any]) -> str:
    """The sentence saying what the sample-based metrics of an evaluation record were measured
    with: the feature extractor, the first 12 hex digits of its weights' SHA-256 and the sample
    counts (said once for the table, not in every row); empty when it has none."""
    measured = setting(record)
    if measured is None:
        return ""
    name = f"`{measured.extractor}`" if measured.extractor else "an unnamed extractor"
    weights = (
        f" (weights sha256 `{measured.weights_sha256[:SHA_DIGITS]}`)"
        if measured.weights_sha256
        else ""
    )
    counts = [
        f"{count} {side}"
        for count, side in ((measured.num_real, "real"), (measured.num_generated, "generated"))
        if count is not None
    ]
    on = f" on {' and '.join(counts)} images" if counts else ""
    return (
        "The sample-based metrics (names without a `split/` prefix) were measured with "
        f"{name}{weights}{on}."
    )


def _own_details(details: dict[str, Any], metric: str) -> dict[str, Any]:
    """What ``metrics.json`` records for ``metric`` itself under ``evaluation.metrics``
    (``kid`` also covers ``kid_std``)."""
    per_metric = details.get("metrics")
    per_metric = per_metric if isinstance(per_metric, dict) else {}
    own = next(
        (v for n, v in per_metric.items() if metric == n or metric.startswith(f"{n}_")), None
    )
    return own if isinstance(own, dict) else {}


def count_note(details: dict[str, Any], metric: str) -> str:
    """The sample counts of ``metric`` where they are not the evaluation's own (a metric that
    measured fewer samples than the others)."""
    shared = {"num_real": details.get("num_real"), "num_fake": details.get("num_generated")}
    own = _own_details(details, metric)
    return ", ".join(
        f"{key} {own[key]}" for key in shared if key in own and own[key] != shared[key]
    )


#: The column *better* of the metrics table; a discriminator's outputs (``test/d_accuracy``)
#: are numbers about the game, better neither way.
DIRECTION_WORDS = {True: "higher", False: "lower", None: ""}


def metrics_sections(record: dict[str, Any], status: str | None) -> list[Section]:
    """The final metrics: each value, its real-vs-real noise floor and which way is better, the
    extractor and sample counts of the sample-based ones said once above the table and their
    warnings beneath it; the full evaluation settings follow, folded."""
    metrics = record.get("metrics") or {}
    if not record:
        state = f" (the run is {status})" if status else ""
        return [Section("Metrics", f"No final metrics yet{state}.")]
    if not metrics:
        text = (
            "The final evaluation measured nothing: the model has no `evaluate` of its own and "
            "the recipe's `[evaluate] metrics` list is empty."
        )
        return [Section("Metrics", text)]
    from labcore.report.evaluation_sections import headline

    details = record.get("evaluation") or {}
    floors = record.get("noise_floor") or {}
    columns: dict[str, list[str]] = {
        "metric": list(metrics),
        "value": [fmt(v) for v in metrics.values()],
        "real vs real": [fmt(floors[k], 4) if k in floors else "" for k in metrics],
        "better": [
            "" if is_discriminator_output(k) else DIRECTION_WORDS[direction(record, k)]
            for k in metrics
        ],
        "samples": [count_note(details, k) if is_sample_based(k) else "" for k in metrics],
    }
    shown = [name for name, cells in columns.items() if name in ("metric", "value") or any(cells)]
    aligns = {"value": "---:", "real vs real": "---:"}
    rows = [
        "| " + " | ".join(shown) + " |",
        "| " + " | ".join(aligns.get(name, "---") for name in shown) + " |",
    ]
    rows += [
        "| " + " | ".join(cell(columns[name][i]) for name in shown) + " |"
        for i in range(len(metrics))
    ]
    text = " ".join(
        part for part in (headline(record), measured_with(record), selection_note(record)) if part
    )
    text += "\n\n" + "\n".join(rows)
    warnings: dict[str, str] = {}
    for name in filter(is_sample_based, metrics):
        for warning in _own_details(details, name).get("warnings", []):
            warnings.setdefault(warning, name)
    if warnings:
        lines = [f"- `{name}`: {warning}" for warning, name in warnings.items()]
        text += "\n\nWarnings raised while measuring:\n\n" + "\n".join(lines)
    sections = [Section("Metrics", text)]
    if details:
        lines = [f"- {key}: `{cell(fmt(value))}`" for key, value in flatten(details).items()]
        intro = "Everything the sample-based metrics were measured with (`metrics.json`):\n\n"
        sections.append(Section("Evaluation details", intro + "\n".join(lines), collapsed=True))
    return sections


# -- curves and samples -----------------------------------------------------------------------


def curves_sections(run: Any) -> list[Section]:
    """Every logged loss, learning rate and periodic evaluation against the step, plotted
    (``report/curves.png``), then summarised in a table (first, last, min, max)."""
    log = run.log()
    series = logs.series(log)
    path = plot_curves({run.name: series}, run.dir / REPORT_DIR / CURVES_NAME)
    if path is None:
        return []
    rows = ["| quantity | first | last | min | max | points |", "| --- |" + " ---: |" * 5]
    for key, (steps, values) in series.items():
        cells = [fmt(v, 4) for v in (values[0], values[-1], min(values), max(values))]
        rows.append(f"| {key} | {' | '.join(cells)} | {len(steps)} |")
    text = "Training values are means over each logging interval."
    if any(is_evaluation(key) for key in series):
        text += " Periodic evaluations (`split/metric`) are drawn with markers."
    if any(
        scale_of([v for key in members for v in series[key][1]])[0] != "linear"
        for _, members in panels(list(series))
    ):
        text += (
            " A panel whose values span more than two decades has a logarithmic axis, as its "
            "label says."
        )
    steps = [str(r.get("step")) for r in logs.resumes(log)]
    if steps:
        text += (
            f" The run was resumed from the checkpoint of step{'s' * (len(steps) > 1)} "
            f"{', '.join(steps)}: steps trained after a checkpoint and before the interruption "
            "were trained again, and the curves show the later values."
        )
    return [
        Section("Training curves", text, [("logged values against the step", path)]),
        Section("Logged values", "\n".join(rows)),
    ]


def sample_grids(run: Any) -> list[tuple[int, Path]]:
    """The run's sample grids ``samples/step-NNNNNN.png`` as ``(step, path)``, by step."""
    if not run.samples.is_dir():
        return []
    grids = []
    for path in run.samples.glob("step-*.png"):
        digits = path.stem.removeprefix("step-")
        if digits.isdigit():
            grids.append((int(digits), path))
    return sorted(grids)


def grid_caption(recipe: dict[str, Any]) -> str:
    """What the run's model says its sample grids show (``Model.grid_caption``), or nothing when
    its plugin is not installed."""
    from labcore.plugins import PluginError, get_manager

    try:
        return get_manager().get("model", recipe.get("model", {}).get("name", "")).grid_caption
    except PluginError:
        return ""


def samples_sections(run: Any, count: int = STRIP_COUNT) -> list[Section]:
    """The latest sample grid, and up to ``count`` grids evenly spaced over training; a run
    with fewer grids than make a strip shows them side by side in one section instead, so that
    no grid is shown twice."""
    grids = sample_grids(run)
    if not grids:
        return []
    step, latest = grids[-1]
    caption = grid_caption(run.recipe)
    if len(grids) < STRIP_IMAGES:
        steps = " and ".join(str(s) for s, _ in grids)
        text = f"Sample grid{'s' * (len(grids) > 1)} at step{'s' * (len(grids) > 1)} {steps}."
        images = [(f"step {s}", path.relative_to(run.dir)) for s, path in grids]
        return [Section("Samples", f"{text} {caption}".rstrip(), images)]
    picks = sorted({round(i * (len(grids) - 1) / (count - 1)) for i in range(count)})
    images = [(f"step {grids[i][0]}", grids[i][1].relative_to(run.dir)) for i in picks]
    text = (
        f"All {len(grids)} sample grids of the run."
        if len(images) == len(grids)
        else f"{len(images)} of the run's {len(grids)} sample grids, evenly spaced."
    )
    return [
        Section(
            "Samples",
            f"Sample grid at step {step}. {caption}".rstrip(),
            [(f"step {step}", latest.relative_to(run.dir))],
        ),
        Section("Samples over training", text, images),
    ]


# -- environment ------------------------------------------------------------------------------


def environment_section(run_dir: Path) -> Section | None:
    """Python, library versions, device and commit, from ``env.json``."""
    path = run_dir / "env.json"
    if not path.is_file():
        return None
    env = json.loads(path.read_text())
    rows = ["| item | value |", "| --- | --- |"]
    versions = env.pop("versions", {}) or {}
    plugins = env.pop("plugins", {}) or {}
    command = env.pop("command", None)
    for key, value in env.items():
        if value in ("", None):
            continue
        rows.append(f"| {key.replace('_', ' ')} | {cell(fmt(value))} |")
    for name, version in versions.items():
        rows.append(f"| {name} | {version or 'not installed'} |")
    if plugins:
        rows.append(f"| plugins | {cell(', '.join(plugins))} |")
    if command:
        rows.append(f"| command | `{cell(' '.join(map(str, command)))}` |")
    return Section("Environment", "\n".join(rows))


# -- all --------------------------------------------------------------------------------------


def leading(run: Any) -> list[Section]:
    """The sections before the model family's own: recipe, metrics, curves, samples."""
    from labcore.report.evaluation_sections import history_section

    sections = [
        recipe_section(run.recipe),
        *metrics_sections(run.metrics(), run.status().get("status")),
    ]
    history = history_section(run)
    sections += [history] if history else []
    return sections + curves_sections(run) + samples_sections(run)


def trailing(run: Any) -> list[Section]:
    """The sections after the model family's own: environment and the full recipe."""
    environment = environment_section(run.dir)
    return ([environment] if environment else []) + [full_recipe_section(run.recipe)]
