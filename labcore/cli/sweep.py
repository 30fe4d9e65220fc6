"""The ``labcore sweep`` command (see :mod:`labcore.sweeps.sweep`)."""

from __future__ import annotations

from pathlib import Path

import click

from labcore.cli.options import fail, out_option, set_option
from labcore.plugins import PluginError, get_manager
from labcore.recipes.recipe import RecipeError
from labcore.schema import SchemaError
from labcore.sweeps import sweep


@click.command("sweep")
@click.argument("recipe")
@set_option("Override a recipe value for every trial, as in `labcore run` (repeatable).")
@out_option("Folder that receives the sweep folder (OUT/<run name>/<study>/).")
@click.option(
    "--grid",
    multiple=True,
    metavar="KEY=V1,V2",
    help="Try each value of a recipe key, e.g. --grid optimizer.lr=1e-3,1e-2 (repeatable; the "
    "trials are every combination).",
)
@click.option(
    "--space",
    metavar="FILE",
    help="A search-space file (TOML: choices, ranges, log scale; see docs/architecture.md), or "
    "NAME of NAME.space.toml beside the recipe (default: <recipe>.space.toml if there is one).",
)
@click.option(
    "--sampler",
    type=click.Choice(sweep.SAMPLERS),
    default=None,
    help="grid (every combination of choices), random or tpe (default: grid when every "
    "parameter is a choice, else tpe; or the space file's).",
)
@click.option("--trials", type=click.IntRange(1), default=None, help="Trials of random or tpe.")
@click.option("--seeds", default=None, metavar="SEEDS", help="Seeds of each trial, e.g. 0-2.")
@click.option(
    "--storage",
    metavar="URL",
    default=None,
    help="An Optuna RDB storage URL (e.g. postgresql://host/db) that processes on several "
    "machines share; default: SQLite in the sweep folder.",
)
@click.option("--study", default=None, help="The study's name (default: sweep-<UTC timestamp>).")
@click.option(
    "--jobs", type=click.IntRange(1), default=1, show_default=True, help="Trials in parallel."
)
@click.option(
    "--report/--no-report", default=True, help="Write the sweep report when this process ends."
)
@click.pass_context
def sweep_command(
    ctx: click.Context,
    recipe: str,
    overrides: tuple[str, ...],
    out: Path,
    grid: tuple[str, ...],
    space: str | None,
    sampler: str | None,
    trials: int | None,
    seeds: str | None,
    storage: str | None,
    study: str | None,
    jobs: int,
    report: bool,
) -> None:
    """Train RECIPE over a grid or a search space, each trial once per seed, and report.

    Given the folder of a sweep instead of a recipe, continue that sweep: finished trials are
    kept and an interrupted trial resumes from its checkpoints. With --storage, the same command
    on another machine joins the study.
    """
    from labcore.train.trainer import Interrupted, NonFiniteLoss

    plugins_dir = ctx.find_root().params.get("plugins_dir")
    manager = get_manager(plugins_dir)
    try:
        if sweep.is_sweep(Path(recipe)):
            folder = Path(recipe)
        else:
            folder = sweep.create(
                recipe,
                manager,
                overrides=list(overrides),
                out=out,
                grid=list(grid),
                space=space,
                sampler=sampler,
                trials=trials,
                seeds=sweep.parse_seed_text(seeds) if seeds else None,
                storage=storage,
                study=study,
            )
        click.echo(f"sweep folder: {folder}", err=True)
        workers = sweep.launch_workers(folder, jobs - 1, plugins_dir)
        try:
            sweep.work(folder, manager, echo=lambda text: click.echo(text, err=True))
        finally:
            failed = [w for w in workers if w.wait() != 0]
    except Interrupted as exc:
        fail(
            f"interrupted by {exc}; resume the sweep with: labcore sweep {folder}", 128 + exc.signum
        )
    except (RecipeError, SchemaError, PluginError) as exc:
        fail(str(exc), 2)
    except (NonFiniteLoss, ValueError, RuntimeError, OSError) as exc:
        fail(str(exc), 1)
    if report:
        from labcore.sweeps import report as sweep_report

        markdown, _ = sweep_report.write(folder)
        click.echo(f"sweep report: {markdown}", err=True)
    if failed:
        fail(f"{len(failed)} of the sweep's worker processes failed", 1)
