"""The ``labcore`` command line (click). Each command is a small function over the library."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import torch

from labcore import distributed, hookspecs
from labcore.cli import report as report_cli
from labcore.cli import sweep as sweep_cli
from labcore.cli.options import fail, launch_options, manager_of, out_option, set_option
from labcore.cli.scaffold import new_plugin
from labcore.data import DataError
from labcore.plugins import (
    PLUGINS_DIR_ENV,
    REGISTRATION_HOOKS,
    PluginError,
    PluginManager,
    get_manager,
)
from labcore.recipes import recipe as recipe_module
from labcore.recipes.recipe import RecipeError
from labcore.schema import SchemaError, describe
from labcore.train import interrupts, lock

USAGE_ERRORS = (
    RecipeError,
    SchemaError,
    PluginError,
    DataError,
    lock.RunFolderUnavailable,
    distributed.LaunchError,
)


def handle_errors(command: Callable) -> Callable:
    """Usage and recipe errors exit with 2, failures during a run with 1; no tracebacks."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from labcore.checkpoint import CheckpointError
        from labcore.train.trainer import NonFiniteLoss

        try:
            return command(*args, **kwargs)
        except (*USAGE_ERRORS, FileNotFoundError) as exc:  # a missing file is the user's to fix
            fail(str(exc), 2)
        except (CheckpointError, NonFiniteLoss, ValueError) as exc:
            fail(str(exc), 1)
        except distributed.RendezvousError as exc:
            if distributed.local_rank() == 0:  # one line per machine
                fail(str(exc), 1)
            sys.exit(1)
        except RuntimeError as exc:
            if not distributed.is_communication_error(exc):
                raise
            on_this_machine = os.environ.get("LOCAL_WORLD_SIZE") == os.environ.get("WORLD_SIZE")
            if os.environ.get(distributed.LAUNCHED_ENV) and (
                on_this_machine or distributed.local_rank() != 0
            ):
                sys.exit(1)  # another process ended; the launching process says which
            fail(f"another process of the run stopped: {' '.join(str(exc).split())[:200]}", 1)

    return wrapper


class LabcoreGroup(click.Group):
    """The command group, extended with the commands plugins add."""

    def _plugin_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        manager = get_manager(ctx.params.get("plugins_dir"))
        commands = {}
        for record, command in manager.cli_commands():
            if command.name in self.commands or command.name in commands:
                click.echo(
                    f"labcore: warning: plugin {record.name!r}: command {command.name!r} "
                    "already exists; skipped",
                    err=True,
                )
                continue
            commands[command.name] = command
        return commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*self.commands, *self._plugin_commands(ctx)])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        return self._plugin_commands(ctx).get(name)


@click.group(cls=LabcoreGroup)
@click.option(
    "--plugins-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=PLUGINS_DIR_ENV,
    help=f"A folder of local plugin modules (*.py); also ${PLUGINS_DIR_ENV}.",
)
@click.version_option(package_name="labcore")
def cli(plugins_dir: Path | None) -> None:
    """labcore: train, compare and evaluate generative models and graph neural networks.

    Start with `labcore recipes` to see what can be run, then `labcore run RECIPE`.
    """
    if plugins_dir is not None:
        os.environ[PLUGINS_DIR_ENV] = str(plugins_dir)


# -- discovery --------------------------------------------------------------------------------


@cli.command()
@click.option("--verbose", "-v", is_flag=True, help="Also show each component's hyperparameters.")
@click.pass_context
def plugins(ctx: click.Context, verbose: bool) -> None:
    """List installed plugins, where they come from and the components they provide."""
    manager = get_manager(ctx.find_root().params.get("plugins_dir"))
    for record in manager.records:
        state = click.style(" BROKEN", fg="red") if record.broken else ""
        click.echo(f"{record.name}  ({record.origin}){state}")
        for problem in record.problems:
            click.echo(f"    problem: {problem}")
        for kind, names in record.components.items():
            click.echo(f"    {kind.replace('_', ' ')}s: {', '.join(names)}")
            if not verbose:
                continue
            for name in names:
                cls = manager.get(kind, name)
                click.echo(f"      {name}: {cls.summary()}")
                for field, type_name, default, doc in describe(cls.Config):
                    text = f"        {field}: {type_name} = {default!r}"
                    click.echo(f"{text}  # {doc}" if doc else text)
        recipes = [n for n, (_, r) in manager.recipes.items() if r is record]
        if recipes:
            click.echo(f"    recipes: {', '.join(sorted(recipes))}")
        commands = [command.name for r, command in manager.cli_commands() if r is record]
        if commands:
            click.echo(f"    commands: {', '.join(sorted(commands))}")
        hooks = _other_hooks(manager, record)
        if hooks:
            click.echo(f"    hooks: {', '.join(hooks)}")


def _other_hooks(manager: PluginManager, record: Any) -> list[str]:
    """The hooks ``record``'s plugin implements besides those listed as its components, recipes
    and commands (event hooks, report sections), in the order of the hook reference."""
    plugin = None if record.broken else manager.pm.get_plugin(record.name)
    if plugin is None:
        return []
    implemented = {caller.name for caller in manager.pm.get_hookcallers(plugin) or []}
    listed = {*REGISTRATION_HOOKS.values(), "labcore_recipes", "labcore_cli_commands"}
    order = [name for name in vars(hookspecs) if name.startswith("labcore_")]
    return [name for name in order if name in implemented and name not in listed]


@cli.command()
@click.argument("name", required=False)
@click.option(
    "--keys",
    is_flag=True,
    help="List every key of [run] [train] [optimizer] [schedule] [evaluate]: type, default, "
    "meaning.",
)
@click.option("--markdown", is_flag=True, help="With --keys: as Markdown (docs/recipes.md).")
@click.pass_context
@handle_errors
def recipes(ctx: click.Context, name: str | None, keys: bool, markdown: bool) -> None:
    """List the recipes that come with labcore and its plugins (run them by name).

    Each line: the recipe, the expected time of a whole run on 2 CPU cores, the plugin that
    ships it and what it trains. With NAME: that recipe's whole description and its TOML.
    """
    from labcore.recipes import docs as recipe_docs

    if markdown and not keys:
        raise click.UsageError("--markdown goes with --keys")
    if keys:
        text = recipe_docs.keys_markdown() if markdown else recipe_docs.keys_text()
        click.echo(text, nl=False)
        return
    manager = manager_of(ctx)
    if name is not None:
        _show_recipe(manager, name)
        return
    width = max((len(n) for n in manager.recipes), default=0)
    for recipe_name in sorted(manager.recipes):
        path, record = manager.recipes[recipe_name]
        header = recipe_docs.read_header(path)
        expected = _short_time(header.time) if header.time else "-"
        click.echo(f"{recipe_name.ljust(width)}  {expected:>8}  [{record.name}] {header.summary}")


def _short_time(text: str) -> str:
    """``about 40 s on 2 CPU cores`` -> ``40 s`` (the listing's column)."""
    return re.sub(r"\s+on\s+.*$", "", re.sub(r"^about\s+", "", text.strip()))


def _show_recipe(manager: PluginManager, name: str) -> None:
    """The whole description, expected time and TOML of the recipe ``name`` (or file)."""
    from labcore.recipes import docs as recipe_docs

    path = recipe_module.find_recipe(name, manager)
    stem = path.name.removesuffix(".toml")
    shipped = manager.recipes.get(stem)
    origin = f"[{shipped[1].name}] " if shipped and shipped[0] == path else ""
    header = recipe_docs.read_header(path)
    click.echo(f"{stem}  {origin}{path}")
    click.echo("")
    for line in header.description:
        click.echo(line)
    if header.time:
        click.echo(f"Time: {header.time}")
    click.echo("")
    click.echo(header.body, nl=False)


@cli.command("summary")
@click.argument("recipe")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a recipe value, e.g. --set model.width=32 (repeatable).",
)
@click.option(
    "--depth",
    type=click.IntRange(0),
    default=None,
    help="Show modules nested at most this deep (0: the model alone); the totals count all.",
)
@click.pass_context
@handle_errors
def summary(ctx: click.Context, recipe: str, overrides: tuple[str, ...], depth: int | None):
    """Print RECIPE's model layer by layer: output shape, parameters and FLOPs; trains nothing.

    The dataset is loaded for its shapes and the model built on the CPU, then run once on a
    representative input: what the model's summary_inputs() gives, or else one training step
    on one training example. FLOPs are counted by torch.utils.flop_counter.
    """
    from labcore.cli.summary import format_summary, summarize_recipe

    loaded = recipe_module.load(recipe, manager_of(ctx), list(overrides), Path("outputs"))
    click.echo(f"{loaded.model_cls.name} on {loaded.dataset_cls.name}")
    for line in format_summary(summarize_recipe(loaded), depth):
        click.echo(line)


# -- training ---------------------------------------------------------------------------------

def parse_seeds(text: str) -> list[int]:
    """``0-9`` or ``1,2,5`` or ``3`` to a list of seeds."""
    seeds: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match:
            raise click.BadParameter(
                f"{text!r}: expected seeds like 0-9 or 1,2,5", param_hint="--seeds"
            )
        low, high = int(match.group(1)), int(match.group(2) or match.group(1))
        seeds.extend(range(low, high + 1))
    return seeds


def check_out_folder(out: Path) -> None:
    """A usage error naming --out, before anything runs, when run folders cannot be made under
    ``out``: the nearest folder that exists must be writable, and nothing on the way a file."""
    existing = out.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    problem = None
    if not existing.is_dir():
        problem = f"{existing} is a file, not a folder"
    elif not os.access(existing, os.W_OK | os.X_OK):
        problem = f"{existing} is not writable"
    if problem:
        raise click.BadParameter(
            f"{out}: cannot write run folders there ({problem}); give a writable folder",
            param_hint="--out",
        )


def _new_run_folder(out: Path, name: str) -> Path | str:
    """A new run folder under ``out``, or what prevents making one."""
    from labcore import runfolder

    try:
        return runfolder.create(out, name)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return f"{out}: cannot write run folders there ({reason}); give a writable folder"


def train_run(manager: PluginManager, recipe: Any, out: Path, progress: bool | None) -> Path:
    """Create a run folder for ``recipe``, train, evaluate and report; return the folder."""
    from labcore import runfolder
    from labcore.train.trainer import Trainer

    _join_processes(recipe.run.device)
    main_process = distributed.rank() == 0
    folder = distributed.share(_new_run_folder(out, recipe.run.name) if main_process else None)
    if isinstance(folder, str):  # rank 0 could not create it: every process reports the problem
        raise click.BadParameter(folder, param_hint="--out")
    lock.hold(folder)
    run = runfolder.Run(dir=folder, recipe=recipe.sections)
    if main_process:
        recipe.save(folder / "recipe.toml")
        run.set_status("running", step=0)
        click.echo(f"run folder: {folder}", err=True)
    from labcore.train.trainer import Interrupted

    with interrupts.handled(run, main_process):
        try:
            trainer = Trainer(run, recipe, manager, progress=progress)
        except Interrupted:
            raise
        except Exception as exc:
            if main_process:  # nothing ran: take back the folder made for this run
                _discard(folder)
            if isinstance(exc, (FileNotFoundError, ValueError)) and not isinstance(
                exc, USAGE_ERRORS
            ):  # data or settings the run cannot start with: the user's to fix
                raise RecipeError(str(exc)) from exc
            raise
    try:
        fit_and_report(trainer, manager)
    except Exception:
        if main_process and trainer.step == 0:  # failed before its first step: nothing to keep
            _discard(folder)
        raise
    return folder


def _discard(folder: Path) -> None:
    """Remove a run folder that holds no run, and its recipe's folder when that is left empty."""
    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):
        folder.parent.rmdir()


def fit_and_report(trainer: Any, manager: PluginManager) -> None:
    """Train to the end, then (rank 0) write the reports and print the final metrics.

    An interruption, in training, evaluation or the report, exits with 128 + the signal's number
    after saying how to resume.
    """
    from labcore.report import run_report

    started = time.monotonic()
    with interrupts.handled(trainer.run, trainer.is_main, lambda: trainer.step):
        try:
            record = trainer.fit()
        except Exception:
            if trainer.is_main and trainer.run.status().get("status") == "running":
                trainer.run.set_status("failed", step=trainer.step)  # e.g. in the evaluation
            raise
        distributed.leave()  # the report is rank 0's alone: no collective may wait for the others
        if trainer.is_main:
            _, page = run_report.write_reports(trainer.run, manager)
            took = duration(time.monotonic() - started)
            click.echo(f"finished {trainer.step} steps in {took}; report: {page}")
            _print_metrics(record["metrics"])


def duration(seconds: float) -> str:
    """``8.2 s``, ``3 min 05 s``, ``1 h 02 min``: a run's length for people."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _print_metrics(metrics: dict[str, float]) -> None:
    for key, value in metrics.items():
        click.echo(f"{key}: {value:.6g}")


@cli.command()
@click.argument("recipe")
@set_option("Override a recipe value, e.g. --set train.max_steps=50 (repeatable).")
@out_option("Folder that receives the run folders.")
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default=None,
    help="Override run.device.",
)
@click.option(
    "--seeds",
    default=None,
    metavar="SEEDS",
    help="Run once per seed (e.g. 0-9) and report each metric's mean and std, with the runs "
    "compared side by side in seeds-<first run>/comparison.html.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar (default: only when stderr is a terminal).",
)
@click.option(
    "--print-recipe",
    is_flag=True,
    help="Print the resolved, validated recipe (defaults and --set applied); train nothing.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="As --print-recipe, and also load the dataset and build the model, saying their sizes.",
)
@launch_options(
    "Run as N processes on this machine (gloo on CPU, NCCL on CUDA); train.batch_size is per "
    "process."
)
@click.pass_context
@handle_errors
def run(
    ctx: click.Context,
    recipe: str,
    overrides: tuple[str, ...],
    out: Path,
    device: str | None,
    seeds: str | None,
    progress: bool | None,
    print_recipe: bool,
    dry_run: bool,
    launch: distributed.Launch,
) -> None:
    """Train RECIPE (a TOML file or a bundled recipe's name), evaluate it and write its report.

    Outputs go to OUT/<run name>/<UTC timestamp>/. --print-recipe and --dry-run train nothing
    and write nothing.
    """
    manager = manager_of(ctx)
    extra = [f"run.device={json.dumps(device)}"] if device else []
    if print_recipe or dry_run:
        loaded = recipe_module.load(recipe, manager, [*overrides, *extra], out)
        click.echo(loaded.to_toml(), nl=False)
        if dry_run:
            from labcore.train.dry_run import describe_build

            click.echo("\n# dry run: built, not trained")
            for line in describe_build(loaded, manager):
                click.echo(f"# {line}")
        return
    check_out_folder(out)
    launch.check()
    if launch.is_parallel:
        if seeds is not None:
            raise click.UsageError(
                "--seeds and --nproc or --nnodes cannot be combined; run seeds one by one"
            )
        recipe_module.load(recipe, manager, [*overrides, *extra], out)  # report recipe errors here
        arguments = ["run", recipe, "--out", str(out), *_set_options([*overrides, *extra])]
        sys.exit(_launch(ctx, launch, [*arguments, *_progress_option(progress)]))
    if seeds is None:
        loaded = recipe_module.load(recipe, manager, [*overrides, *extra], out)
        train_run(manager, loaded, out, progress)
        return
    results = []
    for seed in parse_seeds(seeds):
        seeded = [*overrides, *extra, f"run.seed={seed}"]
        loaded = recipe_module.load(recipe, manager, seeded, out)
        click.echo(f"-- seed {seed}", err=True)
        folder = train_run(manager, loaded, out, progress)
        results.append({"seed": seed, "run": str(folder), **_metrics_of(folder)})
    from labcore.report.compare import seed_summary, write_comparison
    from labcore.runfolder import open_run

    seeded_runs = [open_run(r["run"]) for r in results]
    summary, note = seed_summary(seeded_runs)
    path = out / loaded.run.name / f"seeds-{Path(results[0]['run']).name}.json"
    path.write_text(json.dumps({"runs": results, "summary": summary}, indent=2) + "\n")
    click.echo(f"\n{len(results)} seeds; summary written to {path}")
    for key, (mean, std) in summary.items():
        click.echo(f"{key}: {mean:.6g} ± {std:.3g}")
    if note:
        click.echo(note)
    if len(seeded_runs) > 1:
        _, page = write_comparison(seeded_runs, path.with_suffix(""))
        click.echo(f"runs compared in {page}")


def _launch(ctx: click.Context, launch: distributed.Launch, arguments: list[str]) -> int:
    """Run ``labcore ARGUMENTS`` as ``launch.nproc`` processes on this machine, part of a run
    over ``launch.nnodes`` machines (see :func:`labcore.distributed.launch`)."""
    plugins_dir = ctx.find_root().params.get("plugins_dir")
    plugins = ["--plugins-dir", str(plugins_dir)] if plugins_dir else []
    return distributed.launch(launch, [*plugins, *arguments])


def _set_options(overrides: list[str] | tuple[str, ...]) -> list[str]:
    return [argument for text in overrides for argument in ("--set", text)]


def _progress_option(progress: bool | None) -> list[str]:
    return [] if progress is None else ["--progress" if progress else "--no-progress"]


def _join_processes(device: str) -> None:
    """Join the process group when ``torchrun`` started this process (see ``--nproc``)."""
    wants_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    distributed.init_from_environment("cuda" if wants_cuda else "cpu")


def _metrics_of(folder: Path) -> dict[str, float]:
    return json.loads((folder / "metrics.json").read_text())["metrics"]


@cli.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@set_option("Change train.* or evaluate.* values, e.g. --set train.max_steps=2000.")
@click.option(
    "--fallback",
    is_flag=True,
    help="If last.pt is unreadable, resume from the newest readable step checkpoint.",
)
@click.option("--progress/--no-progress", default=None, help="Show a progress bar.")
@launch_options()
@click.pass_context
@handle_errors
def resume(
    ctx: click.Context,
    run_dir: Path,
    overrides: tuple[str, ...],
    fallback: bool,
    progress: bool | None,
    launch: distributed.Launch,
) -> None:
    """Continue RUN_DIR exactly where its last checkpoint left it (optionally to more steps).

    A run may resume with another number of processes than it was trained with (--nproc).
    """
    from labcore import runfolder
    from labcore.train.trainer import Trainer

    manager = manager_of(ctx)
    run = runfolder.open_run(run_dir)
    for text in overrides:
        section = text.split(".", 1)[0]
        if section not in ("train", "evaluate"):
            raise RecipeError(
                f"--set {text!r}: a resumed run can change only train.* and evaluate.* values; "
                "start a new run to change the others"
            )
    raw = recipe_module.apply_overrides(run.recipe, overrides)
    outputs = run_dir.parent.parent  # {out} in --set values: the outputs folder of the run
    loaded = recipe_module.resolve(raw, manager, run_dir / "recipe.toml", out=outputs)
    launch.check()
    if launch.is_parallel:
        if launch.writes_files:
            lock.check_free(run_dir)
        arguments = ["resume", str(run_dir), *_set_options(overrides)]
        arguments += ["--fallback"] if fallback else []
        sys.exit(_launch(ctx, launch, [*arguments, *_progress_option(progress)]))
    _join_processes(loaded.run.device)
    main_process = distributed.rank() == 0
    lock.hold(run_dir)
    if main_process:
        lock.remove_partial_checkpoints(run_dir)
    with interrupts.handled(run, main_process):
        trainer = Trainer(run, loaded, manager, progress=progress)
        warnings = trainer.resume(fallback=fallback) if _has_started(run) else []
    if main_process:
        for warning in warnings:
            click.echo(f"labcore: warning: {warning}", err=True)
        if overrides:
            loaded.save(run_dir / "recipe.toml")
        click.echo(f"resuming {run_dir} at step {trainer.step} of {trainer.max_steps}", err=True)
    if overrides:
        run.recipe = loaded.sections
    fit_and_report(trainer, manager)


def _has_started(run: Any) -> bool:
    """Whether ``run`` has anything to resume from: a checkpoint, or any state but that of a run
    interrupted before its first step (which then starts from the beginning)."""
    from labcore.checkpoint import candidates

    if candidates(run.checkpoints):
        return True
    status = run.status()
    return not (status.get("status") == "interrupted" and status.get("step", 0) == 0)


@cli.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@set_option("Change evaluate.* values, e.g. --set evaluate.num_samples=5000.")
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@launch_options()
@click.pass_context
@handle_errors
def evaluate(
    ctx: click.Context,
    run_dir: Path,
    overrides: tuple[str, ...],
    device: str,
    launch: distributed.Launch,
) -> None:
    """Recompute RUN_DIR's metrics from the checkpoint its final evaluation used.

    metrics.json then shows these numbers, evaluations.jsonl keeps them beside every earlier
    evaluation, and the run's report is written again, saying when and with which options.

    With --nproc N the samples of the [evaluate] metrics are drawn and their features extracted
    by N processes, each taking its share; the metrics are those one process gives.
    """
    from labcore.train.evaluation import evaluate_run
    from labcore.train.trainer import pick_device

    manager = manager_of(ctx)
    launch.check()
    if launch.is_parallel:
        if launch.writes_files:
            lock.check_free(run_dir)
        arguments = ["evaluate", str(run_dir), *_set_options(overrides), "--device", device]
        sys.exit(_launch(ctx, launch, arguments))
    _join_processes(device)
    lock.hold(run_dir)
    record = evaluate_run(run_dir, pick_device(device), manager, list(overrides))
    main_process = distributed.rank() == 0
    if main_process:
        _print_metrics(record["metrics"])
    distributed.leave()  # the report is rank 0's alone, as after training
    if main_process:
        from labcore import runfolder
        from labcore.report import run_report

        _, page = run_report.write_reports(runfolder.open_run(run_dir), manager)
        click.echo(f"report: {page}", err=True)


@cli.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "-n",
    "count",
    type=click.IntRange(1),
    default=64,
    show_default=True,
    help="Number of samples (per class with --class).",
)
@click.option(
    "-o",
    "output",
    type=click.Path(dir_okay=True, path_type=Path),
    required=True,
    help="A .png (a grid of images, a scatter plot of points), an .npz (arrays `labcore "
    "metrics` reads), a .csv (points), or a folder for one PNG per image.",
)
@click.option(
    "--class",
    "classes",
    multiple=True,
    metavar="CLASSES",
    help="Classes to sample (conditional models): 3, 3,5, 0-9 or all; repeatable. Several "
    "classes give one grid row per class, -n samples each.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the noise.")
@click.option(
    "--nrow",
    type=click.IntRange(1),
    default=None,
    help="Images per row of the grid [default: one row per class, else a near-square layout "
    "with full rows, e.g. 10 for 100].",
)
@click.pass_context
@handle_errors
def sample(
    ctx: click.Context,
    run_dir: Path,
    count: int,
    output: Path,
    classes: tuple[str, ...],
    seed: int,
    nrow: int | None,
) -> None:
    """Draw samples from RUN_DIR's generative model into a grid, arrays or a folder of PNGs.

    Beside the output, OUTPUT.json records the run, checkpoint and step, seed, classes and
    whether the weights were a moving average, and the command.
    """
    from labcore.report.sampling import sample_command

    sample_command(run_dir, count, output, classes, seed, nrow, manager_of(ctx))


cli.add_command(report_cli.report)
cli.add_command(report_cli.runs)
cli.add_command(new_plugin)
cli.add_command(sweep_cli.sweep_command)


def main() -> None:
    cli(prog_name="labcore")
