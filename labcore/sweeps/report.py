"""The report of a sweep (``report.md`` and ``report.html`` in its folder).

Read from the study (every trial's parameters, state and value) and from the trials' run folders
(each seed's final metrics and its log), so it can be written at any time, while the sweep runs or
after it was interrupted.

Each configuration (trial) is named by its label, the value of its one parameter ("Adam", a
choice's label in the search space) or ``key=value`` for each of several. The configurations
table gives, per configuration, the mean ± std over seeds of the objective and of every other
final metric of the runs' ``metrics.json``; the learning-curve figure draws one colour per
configuration, the mean over seeds as a line and the seeds' range (lowest to highest) as a band.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from labcore.report import logs
from labcore.report.document import Document, Section, cell, fmt, write_document
from labcore.report.plots import COLORS, LR_PREFIX, is_evaluation, scale_of
from labcore.runfolder import Run, is_run, open_run
from labcore.sweeps.sweep import holds_configuration, open_study, read_spec, run_folder

REPORT_DIR = "report"
#: The learning-curve figure: its width and the height of its panels, in inches at 100 dpi.
FIGURE_WIDTH = 10.0
PANEL_HEIGHT = 3.4
#: Height of one row of the legend below the panels, in inches, and its entries per row.
LEGEND_ROW = 0.24
LEGEND_COLUMNS = 4
BAND_ALPHA = 0.18
#: A positive loss spanning more than this many decades is drawn on a log scale.
LOSS_LOG_DECADES = 1.0
LINE_STYLES = ["-", "--", ":", "-."]


def _mean_std(values: list[float]) -> str:
    if not values:
        return "-"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{fmt(statistics.fmean(values))} ± {fmt(std, 3)}"


def configuration_label(params: dict[str, Any], keys: list[str], number: int) -> str:
    """A configuration's name: its one parameter's value (for a choice with labels, its label),
    or ``key=value`` for each of several parameters; ``trial N`` for a trial with none yet."""
    if len(keys) == 1 and keys[0] in params:
        return fmt(params[keys[0]])
    return ", ".join(f"{k}={fmt(params[k])}" for k in keys if k in params) or f"trial {number}"


def final_metrics(runs: dict[int, Run]) -> dict[str, list[float]]:
    """Each numeric final metric of the runs' ``metrics.json``, its values over the seeds, in
    the order the runs write them."""
    out: dict[str, list[float]] = {}
    for run in runs.values():
        for key, value in (run.metrics().get("metrics") or {}).items():
            if logs.is_number(value):
                out.setdefault(key, []).append(float(value))
    return out


def trial_rows(folder: Path) -> tuple[Any, list[dict[str, Any]], str, str]:
    """(spec, one row per trial that holds a configuration, monitored metric, its mode).

    A trial run on another machine (a shared ``--storage``) has no run folders here: its seeds'
    values come from the study, and its other final metrics are unknown here.
    """
    spec = read_spec(folder)
    monitor, mode = spec.monitor, spec.mode
    keys = list(spec.params)
    study = open_study(folder, spec)
    rows = []
    for trial in study.get_trials(deepcopy=False):
        if not holds_configuration(trial):
            continue
        runs = {}
        for seed in spec.seeds:
            path = run_folder(folder, trial.user_attrs.get("folder", ""), seed)
            if is_run(path):
                runs[seed] = open_run(path)
        finals = final_metrics(runs)
        values = finals.get(monitor, [])
        if not runs:
            values = list(trial.user_attrs.get("values", {}).values())
        rows.append(
            {
                "number": trial.number,
                "label": configuration_label(trial.params, keys, trial.number),
                "state": trial.state.name.lower(),
                "params": trial.params,
                "value": trial.value,
                "values": values,
                "finals": finals,
                "runs": runs,
                "note": trial.user_attrs.get("stopped") or trial.user_attrs.get("error", ""),
            }
        )
    return spec, rows, monitor, mode


def _other_metrics(rows: list[dict[str, Any]], monitor: str) -> list[str]:
    """The final metrics besides the objective, in the order the runs write them."""
    keys = dict.fromkeys(k for r in rows for k in r["finals"])
    return [k for k in keys if k != monitor]


def _best_text(best: dict[str, Any], monitor: str, mode: str, others: list[str]) -> str:
    extra = [f"{k} {_mean_std(best['finals'][k])}" for k in others if best["finals"].get(k)]
    return (
        f"{cell(best['label'])} (trial {best['number']}): {monitor} {_mean_std(best['values'])} "
        f"over {len(best['values'])} seeds ({mode} is better)"
        + (f"; {', '.join(extra)}." if extra else ".")
    )


def _configurations_table(
    rows: list[dict[str, Any]], keys: list[str], monitor: str, others: list[str]
) -> str:
    header = ["trial", *keys, "state", f"{monitor} (objective)", "seeds", *others]
    rule = ["---:", *("---" for _ in keys), "---", "---:", "---:", *("---:" for _ in others)]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    for r in rows:
        cells = [
            str(r["number"]),
            *(cell(fmt(r["params"].get(k, "-"))) for k in keys),
            r["state"],
            _mean_std(r["values"]),
            str(len(r["values"])),
            *(_mean_std(r["finals"].get(k, [])) for k in others),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def build(folder: Path) -> Document:
    folder = folder.resolve()
    spec, rows, monitor, mode = trial_rows(folder)
    keys = list(spec.params)
    others = _other_metrics(rows, monitor)
    finished = [r for r in rows if r["state"] == "complete"]
    better = max if mode == "max" else min
    sections = []
    if finished:
        best = better(finished, key=lambda r: r["value"])
        sections.append(Section("Best configuration", _best_text(best, monitor, mode, others)))
    intro = (
        f"Mean ± std over seeds of each configuration's final evaluation: the objective "
        f"{monitor} ({mode} is better) and the other final metrics of its runs' metrics.json."
    )
    table = _configurations_table(rows, keys, monitor, others)
    sections.append(Section("Configurations", f"{intro}\n\n{table}"))
    run_lines = ["| trial | seed | status | value | stopped early | run folder |"]
    run_lines.append("| ---: | ---: | --- | ---: | --- | --- |")
    for r in rows:
        for seed, run in r["runs"].items():
            status = run.status()
            value = (run.metrics().get("metrics") or {}).get(monitor)
            run_lines.append(
                f"| {r['number']} | {seed} | {status.get('status', '-')} | "
                f"{fmt(value) if value is not None else '-'} | "
                f"{cell(status.get('stop_reason', ''))} | `{run.dir.name}` |"
            )
        if r["note"]:
            run_lines.append(f"| {r['number']} | | {r['state']} | | {cell(r['note'])} | |")
    sections.append(Section("Trials", "\n".join(run_lines)))
    curves = plot_sweep_curves(rows, monitor, folder / REPORT_DIR / "curves.png")
    if curves is not None:
        text = (
            f"Each configuration's mean over seeds (line) and the range from its lowest to its "
            f"highest seed (band): the training loss as logged and {monitor} at each periodic "
            f"evaluation. A run stopped early counts up to its last step."
        )
        sections.append(Section("Learning curves", text, [("learning curves", curves)]))
    counts = {}
    for r in rows:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    summary = (
        f"Study `{spec.study}` of `{Path(spec.recipe).name}`: {spec.sampler} sampler, "
        f"{len(rows)} trials ({', '.join(f'{n} {s}' for s, n in counts.items()) or 'none yet'}), "
        f"seeds {', '.join(map(str, spec.seeds))}, pruner {spec.pruner}; "
        f"folder `{folder}`"
    )
    return Document(f"sweep {spec.study}", summary, sections, folder, kind="comparison")


# -- learning curves ------------------------------------------------------------------------------


def curve_keys(runs: list[dict[str, tuple[list[int], list[float]]]], monitor: str) -> list[str]:
    """The panels of the learning-curve figure: every training loss the runs log (a training
    value whose name ends in ``loss``; a GAN logs two), then the monitored metric."""
    keys = dict.fromkeys(k for series in runs for k in series)
    losses = [
        k for k in keys if k.endswith("loss") and not is_evaluation(k) and k != monitor
        and not k.startswith(LR_PREFIX)
    ]  # fmt: skip
    return [*losses, monitor] if monitor in keys else losses


def seed_band(
    curves: list[tuple[list[int], list[float]]],
) -> tuple[list[int], list[float], list[float], list[float]]:
    """(steps, mean, lowest, highest) over the seeds' curves, at every step any seed logged;
    each step's statistics are over the seeds that reached it."""
    by_step: dict[int, list[float]] = {}
    for steps, values in curves:
        for step, value in zip(steps, values):
            by_step.setdefault(step, []).append(value)
    steps = sorted(by_step)
    return (
        steps,
        [statistics.fmean(by_step[s]) for s in steps],
        [min(by_step[s]) for s in steps],
        [max(by_step[s]) for s in steps],
    )


def _scale(key: str, values: list[float]) -> tuple[str, float]:
    """The y scale of a panel: :func:`labcore.report.plots.scale_of`, except that a positive loss
    spanning more than :data:`LOSS_LOG_DECADES` decades is drawn on a log scale, where the
    configurations' late differences, small beside the first steps' losses, stay visible."""
    finite = [v for v in values if math.isfinite(v)]
    if (
        key.endswith("loss")
        and finite
        and min(finite) > 0
        and math.log10(max(finite) / min(finite)) > LOSS_LOG_DECADES
    ):
        return "log", 0.0
    return scale_of(values)


def _panel(axes: Axes, title: str, key: str, configurations: dict[str, list[dict]]) -> None:
    """One quantity: a line and a band per configuration, in the configuration's colour."""
    drawn: list[float] = []
    for index, (label, runs) in enumerate(configurations.items()):
        curves = [series[key] for series in runs if key in series]
        if not curves:
            continue
        steps, mean, low, high = seed_band(curves)
        color = COLORS[index % len(COLORS)]
        axes.fill_between(steps, low, high, color=color, alpha=BAND_ALPHA, linewidth=0)
        axes.plot(
            steps, mean, color=color, label=label, linewidth=1.5,
            linestyle=LINE_STYLES[index // len(COLORS) % len(LINE_STYLES)],
            marker="o" if is_evaluation(key) else None, markersize=2.5,
        )  # fmt: skip
        drawn += low + high
    axes.set_title(title, fontsize=10)
    axes.set_xlabel("step", fontsize=8)
    axes.tick_params(labelsize=8)
    axes.grid(True, alpha=0.3)
    scale, linthresh = _scale(key, drawn)
    if scale == "log":
        axes.set_yscale("log")
        axes.set_ylabel("log scale", fontsize=8)
    elif scale == "symlog":
        axes.set_yscale("symlog", linthresh=linthresh)
        axes.set_ylabel(f"symlog scale (linear within ±{linthresh:.2g})", fontsize=8)


def sweep_curves_figure(rows: list[dict[str, Any]], monitor: str) -> Figure | None:
    """The learning curves of the configurations in ``rows`` (from :func:`trial_rows`): a panel
    per training loss and one for ``monitor``, one colour per configuration named by its label
    in a legend below the panels. None when no run logged any of them."""
    configurations = {
        r["label"]: [logs.series(run.log()) for run in r["runs"].values()] for r in rows
    }
    configurations = {label: runs for label, runs in configurations.items() if runs}
    keys = curve_keys([s for runs in configurations.values() for s in runs], monitor)
    if not keys:
        return None
    legend_rows = math.ceil(len(configurations) / LEGEND_COLUMNS)
    legend_height = LEGEND_ROW * legend_rows + 0.2
    height = PANEL_HEIGHT + legend_height
    figure = Figure(figsize=(FIGURE_WIDTH, height), dpi=100)
    FigureCanvasAgg(figure)
    for index, key in enumerate(keys):
        axes = figure.add_subplot(1, len(keys), index + 1)
        title = f"{monitor} (objective)" if key == monitor else f"training {key}"
        _panel(axes, title, key, configurations)
    entries = {}
    for axes in figure.axes:
        handles, labels = axes.get_legend_handles_labels()
        entries.update(zip(labels, handles))
    labels, handles = list(entries), list(entries.values())
    figure.legend(
        handles, labels, loc="upper center", bbox_to_anchor=(0.5, legend_height / height),
        ncol=min(LEGEND_COLUMNS, len(labels)), fontsize=8, frameon=False,
    )  # fmt: skip
    figure.tight_layout(rect=(0, legend_height / height, 1, 1))
    return figure


def plot_sweep_curves(rows: list[dict[str, Any]], monitor: str, path: Path) -> Path | None:
    """Save :func:`sweep_curves_figure` as a PNG at ``path``; None (nothing written) when there
    are no curves."""
    figure = sweep_curves_figure(rows, monitor)
    if figure is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


def write(folder: Path) -> tuple[Path, Path]:
    """Write the sweep's ``report.md`` and ``report.html``; return their paths."""
    return write_document(build(folder), folder)
