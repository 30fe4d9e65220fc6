"""The ``labcore report`` and ``labcore runs`` commands."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from labcore.report import listing as runs_module
from labcore.report import logs
from labcore.runfolder import Run, RunFolderError, is_run, open_run

LOG_CSV = "log.csv"


def _find(paths: tuple[Path, ...]) -> list[Run]:
    try:
        return runs_module.find_runs(paths)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="RUN_DIR") from None


@click.command("report")
@click.argument(
    "paths",
    metavar="RUN_DIR...",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option(
    "--sort",
    "sort",
    metavar="METRIC",
    help="Comparison: the metric to sort runs by (default: the main metric, e.g. fid or "
    "test/accuracy).",
)
@click.option(
    "--ascending/--descending",
    default=None,
    help="Comparison: sort order (default: the metric's declared direction, best first: lowest "
    "first for FID, KID, losses and other lower-is-better metrics, else highest first).",
)
@click.option(
    "-o",
    "--output",
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Comparison: the folder for comparison.md / comparison.html (default: the folder of "
    "runs given, else the current folder). Files there that labcore did not write are never "
    "replaced.",
)
@click.option(
    "--csv", "csv_export", is_flag=True, help="Also export each run's log.jsonl as log.csv."
)
@click.pass_context
def report(
    ctx: click.Context,
    paths: tuple[Path, ...],
    sort: str | None,
    ascending: bool | None,
    out: Path | None,
    csv_export: bool,
) -> None:
    """Write the report of one run, or compare several runs.

    With one RUN_DIR: its report.md and self-contained report.html (recipe, environment, final
    metrics, training curves, samples and the model family's figures), in the run folder.

    With several RUN_DIRs, or a folder of runs (such as outputs/): comparison.md and
    comparison.html, the runs sorted by a metric with the recipe settings that differ between
    them highlighted, and their training curves overlaid. Runs whose sample-based metrics were
    measured with different extractors, weights or sample counts go in separate tables; runs
    that differ only in run.seed make one configuration, shown as mean ± std over its seeds.
    """
    found = _find(paths)
    if csv_export:
        for run in found:
            path = logs.write_csv(run.log(), run.dir / LOG_CSV)
            click.echo(f"wrote {path}")
    if len(found) == 1:
        from labcore.cli.options import manager_of
        from labcore.report.run_report import write_reports

        try:
            written = write_reports(found[0], manager_of(ctx))
        except RunFolderError as exc:
            raise click.BadParameter(str(exc), param_hint="RUN_DIR") from None
        for path in written:
            click.echo(f"wrote {path}")
        return
    from labcore.report.compare import write_comparison

    if out is None:
        single_folder = len(paths) == 1 and not is_run(paths[0])
        out = paths[0] if single_folder else Path(".")
    try:
        written = write_comparison(found, out, sort, ascending)
    except RunFolderError as exc:
        raise click.BadParameter(str(exc), param_hint="RUN_DIR") from None
    except FileExistsError as exc:
        raise click.BadParameter(str(exc), param_hint="-o/--output") from None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--sort") from None
    for path in written:
        click.echo(f"wrote {path}")


@click.command("runs")
@click.argument(
    "folder",
    required=False,
    default=Path("outputs"),
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option(
    "--history",
    is_flag=True,
    help="List every evaluation of each run (the final one of training and each `labcore "
    "evaluate`): when, by what, step, checkpoint, main metric, what measured it, --set options.",
)
def runs(folder: Path, history: bool) -> None:
    """List the runs under FOLDER (default: outputs/), newest first.

    One line per run: its folder, status (running, finished, failed, interrupted, or unknown
    for a folder without a status.json labcore wrote), step of the total, main metric of its
    latest evaluation (the recipe's first sample-based metric, else the monitored metric, else
    the test split's, never a discriminator's output; before any evaluation, the latest training
    loss), what the sample-based metrics were measured with (extractor@weights real/generated)
    and the time since it started.
    """
    if not folder.is_dir():
        raise click.BadParameter(
            f"{folder} is not a folder; give the --out folder of `labcore run` (default outputs/)",
            param_hint="FOLDER",
        )
    folders = runs_module.run_folders(folder)
    if not folders:
        click.echo(f"no runs under {folder}")
        return
    now = dt.datetime.now(dt.UTC)
    lines, opened = [], []
    for path in folders:
        try:
            run = open_run(path)
            lines.append(runs_module.describe(run, now))
            if history:
                run.evaluations()  # a damaged history is reported here, with the run skipped
            opened.append(run)
        except ValueError as exc:
            click.echo(f"labcore: warning: skipped {path}: {exc}", err=True)
    if history:
        click.echo(runs_module.history_table(opened))
    else:
        click.echo(runs_module.table(lines))
