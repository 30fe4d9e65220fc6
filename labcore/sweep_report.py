"""The report of a sweep (``report.md`` and ``report.html`` in its folder).

Read from the study (every trial's parameters, state and value) and from the trials' run folders
(each seed's final value of the monitored metric and its learning curve), so it can be written at
any time, while the sweep runs or after it was interrupted.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from labcore import logs
from labcore.plots import plot_curves
from labcore.report import Document, Section, to_html, to_markdown
from labcore.run_sections import cell, fmt
from labcore.runfolder import Run, is_run, open_run
from labcore.sweep import holds_configuration, open_study, read_spec, run_folder

REPORT_DIR = "report"


def _mean_std(values: list[float]) -> str:
    if not values:
        return "-"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{fmt(statistics.fmean(values))} ± {fmt(std, 3)}"


def trial_rows(folder: Path) -> tuple[Any, list[dict[str, Any]], str, str]:
    """(spec, one row per trial that holds a configuration, monitored metric, its mode).

    A trial run on another machine (a shared ``--storage``) has no run folders here: its seeds'
    values come from the study.
    """
    spec = read_spec(folder)
    monitor, mode = spec.monitor, spec.mode
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
        values = [
            r.metrics()["metrics"][monitor]
            for r in runs.values()
            if monitor in (r.metrics().get("metrics") or {})
        ]
        if not runs:
            values = list(trial.user_attrs.get("values", {}).values())
        rows.append(
            {
                "number": trial.number,
                "state": trial.state.name.lower(),
                "params": trial.params,
                "value": trial.value,
                "values": values,
                "runs": runs,
                "note": trial.user_attrs.get("stopped") or trial.user_attrs.get("error", ""),
            }
        )
    return spec, rows, monitor, mode


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={fmt(v)}" for k, v in params.items())


def build(folder: Path) -> Document:
    folder = folder.resolve()
    spec, rows, monitor, mode = trial_rows(folder)
    keys = list(spec.params)
    finished = [r for r in rows if r["state"] == "complete"]
    better = max if mode == "max" else min
    sections = []
    if finished:
        best = better(finished, key=lambda r: r["value"])
        text = (
            f"Trial {best['number']}: {cell(_params_text(best['params']))}; {monitor} "
            f"{_mean_std(best['values'])} over {len(best['values'])} seeds ({mode} is better)."
        )
        sections.append(Section("Best configuration", text))
    header = "| trial | " + " | ".join(keys) + f" | state | {monitor} (mean ± std) | seeds |"
    lines = [header, "| ---: | " + " | ".join("---" for _ in keys) + " | --- | ---: | ---: |"]
    for r in rows:
        cells = [cell(fmt(r["params"].get(k, "-"))) for k in keys]
        lines.append(
            f"| {r['number']} | "
            + " | ".join(cells)
            + f" | {r['state']} | {_mean_std(r['values'])} | {len(r['values'])} |"
        )
    sections.append(Section("Configurations", "\n".join(lines)))
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
    curves = _curves(rows, monitor, folder / REPORT_DIR / "curves.png")
    if curves is not None:
        sections.append(
            Section(
                "Learning curves",
                f"{monitor} at each periodic evaluation of every run, trials overlaid.",
                [("learning curves", curves)],
            )
        )
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


def _curves(rows: list[dict[str, Any]], monitor: str, path: Path) -> Path | None:
    series = {}
    for r in rows:
        for seed, run in r["runs"].items():
            points = logs.series(Run.log(run)).get(monitor)
            if points:
                series[f"trial {r['number']} seed {seed}"] = {monitor: points}
    if not series:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    return plot_curves(series, path)


def write(folder: Path) -> tuple[Path, Path]:
    """Write the sweep's ``report.md`` and ``report.html``; return their paths."""
    document = build(folder)
    markdown, page = folder / "report.md", folder / "report.html"
    markdown.write_text(to_markdown(document))
    page.write_text(to_html(document))
    return markdown, page
