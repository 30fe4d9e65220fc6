"""``labcore metric-study``: what each evaluation metric detects, measured on real data."""

from __future__ import annotations

from pathlib import Path

import click

from labcore_builtins.metrics.cli import DataError, _device
from labcore_builtins.metrics.study_data import DATASETS, DEFAULT_MNIST_ROOT
from labcore_builtins.metrics.study_run import StudyConfig


@click.command("metric-study")
@click.option(
    "--data", type=click.Choice(list(DATASETS)), default="digits", show_default=True,
    help="digits: scikit-learn's 8x8 digits (lenet5-digits extractor); mnist: the MNIST t10k "
    "IDX files (lenet5-mnist extractor).",
)
@click.option(
    "--data-root", type=click.Path(file_okay=False, path_type=Path), default=None,
    help=f"Folder of the MNIST t10k IDX files (default: {DEFAULT_MNIST_ROOT}, where the "
    "bundled MNIST recipes read them).",
)
@click.option(
    "--size", type=int, default=StudyConfig.size, show_default=True,
    help="Samples in the reference set and in the held-out (generated) set.",
)
@click.option(
    "--strengths", type=int, default=StudyConfig.strengths, show_default=True,
    help="Strengths of each corruption, evenly spaced from 0 to 1.",
)
@click.option(
    "--repeats", type=int, default=StudyConfig.repeats, show_default=True,
    help="Random splits measured; their spread at strength 0 is the noise floor's.",
)
@click.option(
    "--seed", type=int, default=StudyConfig.seed, show_default=True,
    help="Seed of the splits and of every random draw.",
)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("outputs"),
    show_default=True,
    help="Outputs folder: the study goes to a new folder OUT/metric-study-DATA/<UTC timestamp>.",
)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
def metric_study(
    data: str, data_root: Path | None, size: int, strengths: int, repeats: int, seed: int,
    out: Path, device: str,
) -> None:
    """What each evaluation metric detects (after Xu et al., 2018).

    Real images are split into a reference set (the data an imagined generator was trained on)
    and a held-out set (a perfect generator's output). The held-out set is then degraded at
    increasing strength: mode dropping, mode collapse, memorisation (copies of reference
    samples), Gaussian noise, blur, and mixing in images of shuffled pixels. Every built-in
    metric (IS, Mode Score, FID, KID, MMD, Wasserstein, 1-NN, precision/recall,
    density/coverage) is computed at each strength with the same extractor, over several random
    splits; two disjoint real sets give each metric's noise floor.

    Writes report.md, report.html (figures: each metric against the strength, the noise floor
    marked; a table of which metric detects which failure, beside the published claims) and
    results.json with every value. The defaults take about a minute on two CPU cores.
    """
    from labcore.plugins import PluginError
    from labcore.runfolder import create
    from labcore_builtins.metrics.study_data import check_size, load_real
    from labcore_builtins.metrics.study_report import write_report
    from labcore_builtins.metrics.study_run import run_study

    if data_root is not None and data != "mnist":
        raise click.UsageError("--data-root is the folder of the MNIST files: add --data mnist")
    root = str(data_root.expanduser().resolve()) if data_root is not None else None
    try:
        config = StudyConfig(data, root, size, strengths, repeats, seed)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    chosen = _device(device)
    try:
        real = load_real(data, root)
        check_size(real, size)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    click.echo(
        f"metric study on {real.source}: {size} samples per set, {strengths} strengths, "
        f"{repeats} repeats, extractor {real.extractor}",
        err=True,
    )
    try:
        results = run_study(
            config, real, chosen, progress=lambda line: click.echo(f"  {line}", err=True)
        )
    except PluginError as exc:
        raise click.UsageError(str(exc)) from None
    folder = create(out, f"metric-study-{data}")
    _, markdown, page = write_report(results, folder)
    click.echo(f"report: {page}")
    click.echo(f"results: {folder / 'results.json'}  ({results['seconds']} s)")
