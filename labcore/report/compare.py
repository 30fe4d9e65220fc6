"""Several runs side by side: tables sorted by a metric, recipe differences highlighted, and
every logged curve overlaid.

Numbers are ranked only against numbers measured the same way: runs whose sample-based metrics
were measured with different feature extractors, extractor weights or sample counts
(:class:`labcore.measurement.Setting`) get one table per setting, with the reason written. Runs
that differ only in ``run.seed`` form one configuration, shown as one row with each metric's mean
± standard deviation over its seeds. Sorting and the best value (in bold) follow each metric's
declared direction (:func:`labcore.measurement.direction`).

The comparison is a :class:`labcore.report.document.Document`, written like a run's report as
``comparison.md`` and a self-contained ``comparison.html`` (with ``comparison-curves.png``).
Both carry :data:`MARKER`; a comparison is written over files of those names only when they
carry it, so that a file of the user's that happens to share a name is never replaced.
"""

from __future__ import annotations

import json
import os
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from labcore.measurement import (
    Setting,
    direction,
    is_discriminator_output,
    is_sample_based,
    setting,
)
from labcore.report import logs
from labcore.report.document import HTML_NAME, Document, Section, cell, fmt, to_html, to_markdown
from labcore.report.listing import main_metric
from labcore.report.plots import plot_curves
from labcore.report.run_sections import applicable, flatten
from labcore.runfolder import Run

MARKDOWN_NAME = "comparison.md"
HTML_OUT = "comparison.html"
CURVES_NAME = "comparison-curves.png"
#: The line that marks a comparison file as labcore's, to be rewritten by the next comparison.
MARKER = "<!-- written by `labcore report`: the next comparison in this folder replaces it -->"
#: Recipe keys left out of the differences (shown as the run's label instead).
IGNORED_KEYS = ("run.name",)
#: The recipe key whose values make runs of one configuration.
SEED_KEY = "run.seed"


def labels(runs: list[Run]) -> list[str]:
    """Short distinct labels: the run name; where names repeat, the name and seed for runs that
    differ in nothing else (``mlp-digits seed 2``), else the name and the run folder's name (and
    the parent folders too, where even those repeat)."""
    names = [run.name for run in runs]
    if len(set(names)) == len(names):
        return names
    seeds = [run.recipe.get("run", {}).get("seed") for run in runs]
    if len(set(map(str, seeds))) == len(runs) and recipe_differences(runs) == [SEED_KEY]:
        return [f"{name} seed {seed}" for name, seed in zip(names, seeds)]
    out = [f"{run.name}/{run.dir.name}" for run in runs]
    if len(set(out)) == len(out):
        return out
    common = Path(os.path.commonpath([run.dir for run in runs]))
    return [run.dir.relative_to(common).as_posix() for run in runs]


def applied_settings(run: Run) -> dict[str, Any]:
    """``run``'s recipe as dotted keys, without the settings that do not apply given its other
    choices (a WGAN's ``gp_weight`` beside a spectrally normalised critic; see
    :func:`labcore.report.run_sections.applicable`): what a comparison of settings should look
    at."""
    return flatten(
        {
            section: applicable(section, values) if isinstance(values, dict) else values
            for section, values in run.recipe.items()
        }
    )


def recipe_differences(runs: list[Run], ignored: tuple[str, ...] = IGNORED_KEYS) -> list[str]:
    """The dotted recipe keys whose values are not the same in every run (missing counts), among
    the settings that apply (:func:`applied_settings`)."""
    flat = [applied_settings(run) for run in runs]
    keys = list(dict.fromkeys(k for f in flat for k in f if k not in ignored))
    return [
        key for key in keys if len({json.dumps(f.get(key, None), sort_keys=True) for f in flat}) > 1
    ]


def metric_names(runs: list[Run]) -> list[str]:
    return list(dict.fromkeys(k for run in runs for k in run.metrics().get("metrics", {})))


def by_setting(runs: list[Run]) -> dict[Setting | None, list[Run]]:
    """``runs`` grouped by the setting their sample-based metrics were measured in (None: runs
    without any), in the order each setting first appears."""
    groups: dict[Setting | None, list[Run]] = {}
    for run in runs:
        groups.setdefault(setting(run.metrics()), []).append(run)
    return groups


def configurations(runs: list[Run]) -> list[list[Run]]:
    """``runs`` grouped into configurations: runs whose recipes differ only in ``run.seed``."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        recipe = {k: v for k, v in flatten(run.recipe).items() if k != SEED_KEY}
        groups.setdefault(json.dumps(recipe, sort_keys=True, default=str), []).append(run)
    return list(groups.values())


def metric_rank(metric: str) -> int:
    """Where ``metric`` goes among a comparison's rows: sample-based metrics first, then the
    model's own, then a discriminator's outputs (numbers about the game, not the model)."""
    if is_discriminator_output(metric):
        return 2
    return 0 if is_sample_based(metric) else 1


def metric_direction(runs: list[Run], metric: str) -> bool | None:
    """Whether higher values of ``metric`` are better, from the first run that measured it."""
    for run in runs:
        record = run.metrics()
        if metric in (record.get("metrics") or {}):
            return direction(record, metric)
    return None


def _values(runs: list[Run], metric: str) -> list[float]:
    found = (run.metrics().get("metrics", {}).get(metric) for run in runs)
    return [float(v) for v in found if logs.is_number(v)]


def _mean(runs: list[Run], metric: str) -> float | None:
    values = _values(runs, metric)
    return statistics.fmean(values) if values else None


def sort_configurations(
    configs: list[list[Run]], metric: str, ascending: bool
) -> list[list[Run]]:
    """``configs`` ordered by the mean of ``metric`` over each one's runs (those without it
    last, in their given order)."""

    def key(runs: list[Run]) -> tuple[bool, float]:
        mean = _mean(runs, metric)
        if mean is None:
            return (True, 0.0)
        return (False, mean if ascending else -mean)

    return sorted(configs, key=key)


def choose_sort(runs: list[Run], metric: str | None) -> str | None:
    """The metric to sort by: ``metric`` when given (ValueError if no run has it), else the
    main metric of the first run that has final metrics, else none."""
    names = metric_names(runs)
    if metric is not None:
        if metric not in names:
            available = ", ".join(names) or "(no run has final metrics)"
            raise ValueError(f"no run has the metric {metric!r}; available: {available}")
        return metric
    for run in runs:
        main = main_metric(run)
        if main is not None and main[0] in names:
            return main[0]
    return None


def best_of(means: list[float | None], higher: bool | None) -> int | None:
    """The index of the best of ``means`` in the direction ``higher``; None when the metric has
    no direction or fewer than two values compare."""
    present = [(m, i) for i, m in enumerate(means) if m is not None]
    if higher is None or len(present) < 2:
        return None
    return (max(present) if higher else min(present))[1]


def _header(run: Run, name: str, out: Path) -> str:
    """A run's column header: its label, linked to its report.html when there is one."""
    page = run.dir / HTML_NAME
    if not page.is_file():
        return cell(name)
    return f"[{cell(name)}]({Path(os.path.relpath(page, out)).as_posix()})"


def _bold_best(cells: list[str], means: list[float | None], higher: bool | None) -> list[str]:
    best = best_of(means, higher)
    return [f"**{c}**" if i == best else c for i, c in enumerate(cells)]


def table(
    runs: list[Run],
    names: list[str],
    metrics: list[str],
    diffs: list[str],
    out: Path,
    sorted_by: str | None = None,
) -> str:
    """The runs side by side, one column each: status, step, ``metrics`` (``sorted_by``'s name
    in bold, and in each metric's row the best value, by its direction), then the recipe
    settings ``diffs``, bold where a run's value differs from the first run's."""
    rows = ["| | " + " | ".join(_header(r, n, out) for r, n in zip(runs, names)) + " |"]
    rows.append("| --- |" + " ---: |" * len(runs))

    def add(label: str, cells: list[str]) -> None:
        rows.append(f"| {label} | " + " | ".join(cells) + " |")

    add("status", [r.status().get("status", "unknown") for r in runs])
    add("step", [str(r.status().get("step", "-")) for r in runs])
    values = [r.metrics().get("metrics", {}) for r in runs]
    for metric in metrics:
        label = f"**{cell(metric)}**" if metric == sorted_by else cell(metric)
        cells = [fmt(v[metric], 5) if metric in v else "-" for v in values]
        means = [_mean([r], metric) for r in runs]
        add(label, _bold_best(cells, means, metric_direction(runs, metric)))
    if diffs:
        add("*recipe settings that differ*", [""] * len(runs))
    flat = [applied_settings(r) for r in runs]
    for key in diffs:
        cells = []
        for recipe in flat:
            text = cell(fmt(recipe[key])) if key in recipe else "(unset)"
            differs = recipe.get(key) != flat[0].get(key)
            cells.append(f"**{text}**" if differs else text)
        add(f"`{key}`", cells)
    return "\n".join(rows)


def configuration_labels(configs: list[list[Run]]) -> list[str]:
    """A label per configuration: its run name, numbered where several share one."""
    names = [runs[0].name for runs in configs]
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(f"{name} #{seen[name]}" if names.count(name) > 1 else name)
    return out


def mean_std_text(runs: list[Run], metric: str) -> str:
    """``mean ± std`` of ``metric`` over ``runs`` (sample standard deviation), the value alone
    for one run, ``(k of n)`` added when only some runs have it, ``-`` when none has."""
    values = _values(runs, metric)
    if not values:
        return "-"
    text = fmt(values[0], 5)
    if len(values) > 1:
        text = f"{fmt(statistics.fmean(values), 5)} ± {fmt(statistics.stdev(values), 2)}"
    if len(values) < len(runs):
        text += f" ({len(values)} of {len(runs)})"
    return text


def configuration_table(
    configs: list[list[Run]],
    metrics: list[str],
    diffs: list[str],
    sorted_by: str | None,
    out: Path | None = None,
) -> str:
    """One row per configuration: its label, its seeds (each linked to its run's report.html,
    from a page in ``out``, when there is one), its runs' statuses, each metric's mean ± std
    over the seeds (the best mean in bold, by the metric's direction), then the recipe settings
    ``diffs``."""
    headers = ["configuration", "seeds", "runs"]
    headers += [f"**{cell(m)}**" if m == sorted_by else cell(m) for m in metrics]
    headers += [f"`{key}`" for key in diffs]
    rows = ["| " + " | ".join(headers) + " |", "| --- | --- | --- |" + " ---: |" * len(metrics)]
    rows[-1] += " --- |" * len(diffs)
    everyone = [run for runs in configs for run in runs]
    columns = []
    for metric in metrics:
        cells = [mean_std_text(runs, metric) for runs in configs]
        means = [_mean(runs, metric) for runs in configs]
        columns.append(_bold_best(cells, means, metric_direction(everyone, metric)))
    for index, (runs, label) in enumerate(zip(configs, configuration_labels(configs))):
        seeds = ", ".join(
            _header(run, str(run.recipe.get("run", {}).get("seed", "?")), out)
            if out is not None
            else str(run.recipe.get("run", {}).get("seed", "?"))
            for run in runs
        )
        flat = applied_settings(runs[0])
        settings = [cell(fmt(flat[key])) if key in flat else "(unset)" for key in diffs]
        statuses = Counter(run.status().get("status", "unknown") for run in runs)
        counted = ", ".join(f"{count} {status}" for status, count in statuses.items())
        cells = [cell(label), seeds, counted, *(column[index] for column in columns), *settings]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def differing_parts(settings: list[Setting]) -> list[str]:
    """The parts (extractor, weights, sample counts) in which some of ``settings`` differ."""
    parts: list[str] = []
    for a in settings:
        for b in settings:
            parts += [p for p in a.differences(b) if p not in parts]
    return parts


def settings_note(settings: list[Setting]) -> str:
    """Why the runs are in several tables: the parts in which their settings differ."""
    parts = differing_parts(settings)
    return (
        f"The sample-based metrics of these runs were measured in {len(settings)} different "
        f"settings (they differ in {', '.join(parts)}). Such numbers do not compare: a FID on "
        "fewer samples is larger, and other extractor weights measure other features. Each "
        "setting has a table of its own below, ranked within itself."
    )


def settings_section(groups: dict[Setting | None, list[Run]], names: dict[Path, str]) -> Section:
    """Why the comparison has several tables, and which runs each holds."""
    settings = [s for s in groups if s is not None]
    text = [settings_note(settings)] if len(settings) > 1 else []
    if None in groups:
        text.append("The runs without sample-based metrics are in a table of their own.")
    lines = [
        f"- {measured.describe() if measured else 'no sample-based metrics'}: "
        + ", ".join(f"`{names[run.dir]}`" for run in members)
        for measured, members in groups.items()
    ]
    return Section("Measurement settings", "\n\n".join([*text, "\n".join(lines)]))


def _order_text(metric: str, ascending: bool | None) -> str:
    if ascending is None:
        return (
            f"`{metric}` is better neither higher nor lower; the runs are in the order given "
            "(--ascending or --descending sorts them)."
        )
    return f"Sorted by `{metric}`, {'lowest' if ascending else 'highest'} first."


def group_section(
    title: str,
    runs: list[Run],
    names: dict[Path, str],
    out: Path,
    sort: str | None,
    ascending: bool | None,
) -> Section:
    """One table of runs measured in the same setting: a column per run, or a row per
    configuration when some configuration has several seeds."""
    metric = sort if sort in metric_names(runs) else choose_sort(runs, None)
    configs = configurations(runs)
    text = []
    order = None
    if metric is not None:
        higher = metric_direction(runs, metric)
        order = ascending if ascending is not None else None if higher is None else not higher
        if order is not None:
            configs = sort_configurations(configs, metric, order)
        text.append(_order_text(metric, order))
    metrics = sorted(metric_names(runs), key=lambda m: (m != metric, metric_rank(m)))
    seeded = any(len(c) > 1 for c in configs)
    ignored = (*IGNORED_KEYS, SEED_KEY) if seeded else IGNORED_KEYS
    diffs = recipe_differences([r for c in configs for r in (c[:1] if seeded else c)], ignored)
    applied = {k for run in runs for k in applied_settings(run)}
    shared = len(applied - set(diffs) - set(ignored))
    if seeded:
        text.append(
            "Runs that differ only in `run.seed` are one configuration: one row each, with "
            "every metric's mean ± standard deviation over its seeds (listed)."
        )
    if diffs:
        where = "column" if seeded else "row"
        last = (
            f"The last {where} is the recipe setting that differs"
            if len(diffs) == 1
            else f"The last {len(diffs)} {where}s are the recipe settings that differ"
        )
        text.append(
            f"{last} between the {'configurations' if seeded else 'runs'}"
            f"{'' if seeded else '; values that differ from the first run are highlighted'}"
            f"{'' if seeded else ', as is the best value of each metric'}. "
            f"The other {shared} settings are the same in every run."
        )
    else:
        apart = "Apart from `run.seed`, all" if seeded else "All"
        text.append(f"{apart} {shared} recipe settings are the same in every run.")
    if seeded:
        grid = configuration_table(configs, metrics, diffs, metric, out)
    else:
        ordered = [c[0] for c in configs]
        grid = table(ordered, [names[r.dir] for r in ordered], metrics, diffs, out, metric)
    return Section(title, "\n\n".join([*text, grid]))


def build(
    runs: list[Run], out: Path, sort: str | None = None, ascending: bool | None = None
) -> Document:
    """The comparison of ``runs`` as a document whose files will be written in ``out``.

    ``sort`` names a metric (default: the main metric, see
    :func:`labcore.report.listing.main_metric`); ``ascending`` defaults to its declared direction,
    best first. Runs measured in different settings are compared in separate tables (one section
    each).
    """
    if len(runs) < 2:
        raise ValueError("a comparison needs at least two runs")
    choose_sort(runs, sort)  # an unknown --sort metric is an error before anything else
    all_names = labels(runs)
    names = {run.dir: name for run, name in zip(runs, all_names)}
    groups = by_setting(runs)
    sections = []
    if len(groups) == 1:
        sections.append(group_section("Runs", runs, names, out, sort, ascending))
    else:
        sections.append(settings_section(groups, names))
        for measured, members in groups.items():
            title = (
                f"Measured with {measured.describe()}"
                if measured is not None
                else "Runs without sample-based metrics"
            )
            sections.append(group_section(title, members, names, out, sort, ascending))
    series = {name: logs.series(run.log()) for run, name in zip(runs, all_names)}
    curves = plot_curves(series, out / CURVES_NAME)
    if curves is not None:
        sections.append(
            Section(
                "Training curves",
                "Every logged value of every run against the step, one colour per run.",
                [("logged values against the step", curves)],
            )
        )
    seeds = [run.recipe.get("run", {}).get("seed", "?") for run in runs]
    folders = "\n".join(
        f"- {name}: `{run.dir}`" + ("" if name.endswith(f" seed {seed}") else f" (seed {seed})")
        for run, name, seed in zip(runs, all_names, seeds)
    )
    sections.append(Section("Run folders", folders))
    summary = f"{len(runs)} runs: " + ", ".join(f"`{n}`" for n in all_names)
    return Document("Run comparison", summary, sections, base=out, kind="comparison")


def seed_summary(runs: list[Run]) -> tuple[dict[str, tuple[float, float]], str | None]:
    """Each metric's mean and standard deviation (sample; 0 for one run) over the seed runs of
    ``labcore run --seeds``, and a note when their sample-based metrics were measured in
    different settings: then those are summed up per setting, the setting named in the key
    (``fid [lenet5-digits@29967d23a461 359/359]``), never averaged together."""
    groups = by_setting(runs)
    settings = [s for s in groups if s is not None]
    apart = len(settings) > 1
    summary: dict[str, tuple[float, float]] = {}

    def add(name: str, values: list[float]) -> None:
        if values:
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            summary[name] = (statistics.fmean(values), std)

    for key in metric_names(runs):
        if apart and is_sample_based(key):
            for measured in settings:
                add(f"{key} [{measured.short()}]", _values(groups[measured], key))
        else:
            add(key, _values(runs, key))
    if not apart:
        return summary, None
    note = (
        f"note: the seeds' sample-based metrics were measured in {len(settings)} settings "
        f"(they differ in {', '.join(differing_parts(settings))}); each setting is summed up "
        "apart"
    )
    return summary, note


def write_comparison(
    runs: list[Run], out: str | Path, sort: str | None = None, ascending: bool | None = None
) -> tuple[Path, Path]:
    """Write ``comparison.md`` and ``comparison.html`` (and the curves PNG) in ``out``.

    Raises FileExistsError, before anything is written, when one of those files exists but
    was not written by labcore (see :func:`check_replaceable`).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    check_replaceable(out)
    document = build(runs, out.resolve(), sort, ascending)
    markdown = out / MARKDOWN_NAME
    markdown.write_text(f"{MARKER}\n{to_markdown(document)}")
    page = out / HTML_OUT
    doctype, rest = to_html(document).split("\n", 1)
    page.write_text(f"{doctype}\n{MARKER}\n{rest}")
    return markdown, page


def _carries_marker(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return MARKER in f.read(4096)
    except OSError:
        return False


def check_replaceable(out: Path) -> None:
    """Raise FileExistsError unless every comparison file already in ``out`` is labcore's.

    The Markdown and HTML files must carry :data:`MARKER`; the curves PNG counts as labcore's
    when the Markdown file beside it does. Links are never written through.
    """
    ours = _carries_marker(out / MARKDOWN_NAME)
    for name in (MARKDOWN_NAME, HTML_OUT, CURVES_NAME):
        path = out / name
        if not (path.exists() or path.is_symlink()):
            continue
        labcore_wrote = ours if name == CURVES_NAME else _carries_marker(path)
        if path.is_symlink() or not path.is_file() or not labcore_wrote:
            raise FileExistsError(
                f"{path} exists and was not written by `labcore report`; it is left as it is. "
                "Choose another folder with -o/--output, or move the file away"
            )
