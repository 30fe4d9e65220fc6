"""Several runs side by side: one table sorted by a metric, recipe differences highlighted, and
every logged curve overlaid.

The comparison is a :class:`labcore.report.Document`, written like a run's report as
``comparison.md`` and a self-contained ``comparison.html`` (with ``comparison-curves.png``).
Both carry :data:`MARKER`; a comparison is written over files of those names only when they
carry it, so that a file of the user's that happens to share a name is never replaced.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from labcore import logs
from labcore.plots import plot_curves
from labcore.report import HTML_NAME, Document, Section, to_html, to_markdown
from labcore.run_sections import cell, flatten, fmt
from labcore.runfolder import Run
from labcore.runs import lower_is_better, main_metric

MARKDOWN_NAME = "comparison.md"
HTML_OUT = "comparison.html"
CURVES_NAME = "comparison-curves.png"
#: The line that marks a comparison file as labcore's, to be rewritten by the next comparison.
MARKER = "<!-- written by `labcore report`: the next comparison in this folder replaces it -->"
#: Recipe keys left out of the differences (shown as the run's label instead).
IGNORED_KEYS = ("run.name",)


def labels(runs: list[Run]) -> list[str]:
    """Short distinct labels: the run name, with the run folder's name added where names repeat
    (and the parent folders too, where even those repeat)."""
    names = [run.name for run in runs]
    if len(set(names)) == len(names):
        return names
    out = [f"{run.name}/{run.dir.name}" for run in runs]
    if len(set(out)) == len(out):
        return out
    common = Path(os.path.commonpath([run.dir for run in runs]))
    return [run.dir.relative_to(common).as_posix() for run in runs]


def recipe_differences(runs: list[Run]) -> list[str]:
    """The dotted recipe keys whose values are not the same in every run (missing counts)."""
    flat = [flatten(run.recipe) for run in runs]
    keys = list(dict.fromkeys(k for f in flat for k in f if k not in IGNORED_KEYS))
    return [
        key for key in keys if len({json.dumps(f.get(key, None), sort_keys=True) for f in flat}) > 1
    ]


def metric_names(runs: list[Run]) -> list[str]:
    return list(dict.fromkeys(k for run in runs for k in run.metrics().get("metrics", {})))


def sort_runs(runs: list[Run], metric: str, ascending: bool) -> list[Run]:
    """``runs`` ordered by ``metric`` (runs without it last, in their given order)."""

    def key(run: Run) -> tuple[bool, float]:
        value = run.metrics().get("metrics", {}).get(metric)
        if not logs.is_number(value):
            return (True, 0.0)
        return (False, value if ascending else -value)

    return sorted(runs, key=key)


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


def _header(run: Run, name: str, out: Path) -> str:
    """A run's column header: its label, linked to its report.html when there is one."""
    page = run.dir / HTML_NAME
    if not page.is_file():
        return cell(name)
    return f"[{cell(name)}]({Path(os.path.relpath(page, out)).as_posix()})"


def table(
    runs: list[Run],
    names: list[str],
    metrics: list[str],
    diffs: list[str],
    out: Path,
    sorted_by: str | None = None,
) -> str:
    """The runs side by side, one column each: status, step, ``metrics`` (``sorted_by`` in
    bold), then the recipe settings ``diffs``, bold where a run's value differs from the first
    run's."""
    rows = ["| | " + " | ".join(_header(r, n, out) for r, n in zip(runs, names)) + " |"]
    rows.append("| --- |" + " ---: |" * len(runs))

    def add(label: str, cells: list[str]) -> None:
        rows.append(f"| {label} | " + " | ".join(cells) + " |")

    add("status", [r.status().get("status", "unknown") for r in runs])
    add("step", [str(r.status().get("step", "-")) for r in runs])
    values = [r.metrics().get("metrics", {}) for r in runs]
    for metric in metrics:
        label = f"**{cell(metric)}**" if metric == sorted_by else cell(metric)
        add(label, [fmt(v[metric], 5) if metric in v else "-" for v in values])
    if diffs:
        add("*recipe settings that differ*", [""] * len(runs))
    flat = [flatten(r.recipe) for r in runs]
    for key in diffs:
        cells = []
        for recipe in flat:
            text = cell(fmt(recipe[key])) if key in recipe else "(unset)"
            differs = recipe.get(key) != flat[0].get(key)
            cells.append(f"**{text}**" if differs else text)
        add(f"`{key}`", cells)
    return "\n".join(rows)


def build(
    runs: list[Run], out: Path, sort: str | None = None, ascending: bool | None = None
) -> Document:
    """The comparison of ``runs`` as a document whose files will be written in ``out``.

    ``sort`` names a metric (default: the main metric, see :func:`labcore.runs.main_metric`);
    ``ascending`` defaults to whether lower values of it are better.
    """
    if len(runs) < 2:
        raise ValueError("a comparison needs at least two runs")
    metric = choose_sort(runs, sort)
    text = []
    if metric is not None:
        ascending = lower_is_better(metric) if ascending is None else ascending
        runs = sort_runs(runs, metric, ascending)
        order = "lowest" if ascending else "highest"
        text.append(f"Sorted by `{metric}`, {order} first.")
    names = labels(runs)
    metrics = metric_names(runs)
    if metric is not None:
        metrics.remove(metric)
        metrics.insert(0, metric)
    diffs = recipe_differences(runs)
    shared = len({k for run in runs for k in flatten(run.recipe)} - set(diffs) - set(IGNORED_KEYS))
    if diffs:
        text.append(
            f"The last {len(diffs)} rows are the recipe settings that differ between the runs; "
            f"values that differ from the first run's are highlighted. The other {shared} "
            "settings are the same in every run."
        )
    else:
        text.append(f"All {shared} recipe settings are the same in every run.")
    grid = table(runs, names, metrics, diffs, out, sorted_by=metric)
    sections = [Section("Runs", "\n\n".join([*text, grid]))]
    series = {name: logs.series(run.log()) for run, name in zip(runs, names)}
    curves = plot_curves(series, out / CURVES_NAME)
    if curves is not None:
        sections.append(
            Section(
                "Training curves",
                "Every logged value of every run against the step, one colour per run.",
                [("logged values against the step", curves)],
            )
        )
    folders = "\n".join(f"- {name}: `{run.dir}`" for run, name in zip(runs, names))
    sections.append(Section("Run folders", folders))
    summary = f"{len(runs)} runs: " + ", ".join(f"`{n}`" for n in names)
    return Document("Run comparison", summary, sections, base=out, kind="comparison")


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
