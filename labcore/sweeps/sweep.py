"""Sweeps: many runs of one recipe over a grid or a search space, with Optuna as the engine.

A sweep lives in a folder, ``<out>/<run name>/<study>/``::

    sweep.toml        what the sweep is: recipe, overrides, parameters, sampler, seeds, storage
    study.db          the Optuna study (SQLite), unless --storage names another database
    trial-NNN-seed-S/ one ordinary run folder per trial and seed
    report.md/.html   every trial's values and status, each configuration's mean and std over
                      the seeds, the best configuration, the learning curves overlaid

One Optuna trial is one configuration; it trains the recipe once per seed, and its value is the
mean over the seeds of the monitored metric (``train.monitor``) of the runs' final evaluations.
During each run the monitored metric of every periodic evaluation is reported to the trial (at
step ``seed index * max_steps + step``), so a pruner stops unpromising configurations early.

Several processes (``--jobs``) or machines (``--storage`` with a database URL every machine
reaches) share one study: each asks the study for the next trial. The database numbers the trials
one at a time, and a trial's configuration follows from its number (:func:`slot`), so processes
asking together never get the same grid point, and a trial asked once the sweep is full (two
machines asked for the last one) is closed without running. A trial whose process died
(killed, machine rebooted) is continued when a sweep process starts again on the same machine: it
is closed as failed and handed to a new trial with the same parameters and the same run folders,
whose runs resume from their checkpoints; finished runs are kept.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import functools
import itertools
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tomli_w

from labcore.plugins import PluginManager
from labcore.recipes import recipe as recipe_module
from labcore.recipes.recipe import RecipeError

SPEC_NAME = "sweep.toml"
DATABASE_NAME = "study.db"
SPACE_SUFFIX = ".space.toml"
SAMPLERS = ("grid", "random", "tpe")
PRUNERS = ("none", "median")


# -- the search space -------------------------------------------------------------------------


@dataclasses.dataclass
class Param:
    """One swept recipe value: ``key`` is a dotted recipe path (``optimizer.lr``) or a section
    (``optimizer``, whose table then replaces the recipe's)."""

    key: str
    choices: list[Any] | None = None
    labels: list[str] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None

    @property
    def is_choice(self) -> bool:
        return self.choices is not None

    @property
    def is_int(self) -> bool:
        return (
            not self.is_choice
            and all(isinstance(v, int) and not isinstance(v, bool) for v in (self.low, self.high))
            and (self.step is None or isinstance(self.step, int))
        )

    def choice_labels(self) -> list[str | int | float | bool]:
        """What Optuna sees of each choice: its label, or the value itself when it is a number,
        a string or a boolean (tables and arrays become their JSON text)."""
        if self.labels is not None:
            return list(self.labels)
        return [
            v if isinstance(v, str | int | float | bool) else json.dumps(v) for v in self.choices
        ]

    def value_of(self, suggested: Any) -> Any:
        """The recipe value of what Optuna suggested."""
        if not self.is_choice:
            return suggested
        return self.choices[self.choice_labels().index(suggested)]

    def suggest(self, trial: Any) -> Any:
        if self.is_choice:
            return trial.suggest_categorical(self.key, self.choice_labels())
        if self.is_int:
            return trial.suggest_int(
                self.key, self.low, self.high, step=self.step or 1, log=self.log
            )
        return trial.suggest_float(self.key, self.low, self.high, step=self.step, log=self.log)

    def samples(self) -> list[Any]:
        """Values to validate the recipe with before anything trains: every choice, or both ends."""
        return list(self.choices) if self.is_choice else [self.low, self.high]


def parse_param(key: str, table: Any) -> Param:
    """A :class:`Param` from its search-space table, or a RecipeError saying what to write."""
    where = f"search space: params.{key!r}"
    if not isinstance(table, dict):
        raise RecipeError(f"{where}: expected a table with choices = [...] or low/high")
    unknown = set(table) - {"choices", "labels", "low", "high", "log", "step"}
    if unknown:
        raise RecipeError(
            f"{where}: unknown keys {sorted(unknown)}; use choices (and labels) or low, high, "
            "log and step"
        )
    if "choices" in table:
        choices, labels = table["choices"], table.get("labels")
        if not isinstance(choices, list) or not choices:
            raise RecipeError(f"{where}: choices must be a non-empty array")
        if labels is not None and (
            not isinstance(labels, list)
            or len(labels) != len(choices)
            or len(set(map(str, labels))) != len(labels)
        ):
            raise RecipeError(f"{where}: labels must be distinct, one per choice")
        param = Param(key, choices=choices, labels=labels and [str(x) for x in labels])
        if len(set(map(str, param.choice_labels()))) != len(choices):
            raise RecipeError(f"{where}: the choices must be distinct")
        return param
    if "low" not in table or "high" not in table:
        raise RecipeError(f"{where}: give choices = [...] or a range with low and high")
    low, high = table["low"], table["high"]
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high))
    if not numbers or not low < high:
        raise RecipeError(f"{where}: low and high must be numbers with low < high")
    log = bool(table.get("log", False))
    if log and low <= 0:
        raise RecipeError(f"{where}: a log-scale range needs low > 0")
    step = table.get("step")
    if step is not None and log:
        raise RecipeError(f"{where}: step and log cannot be combined")
    return Param(key, low=low, high=high, log=log, step=step)


def parse_grid_option(text: str) -> Param:
    """``--grid optimizer.lr=1e-3,1e-2`` -> a choice parameter (values read as TOML)."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise RecipeError(f"--grid {text!r}: expected KEY=V1,V2,..., e.g. optimizer.lr=1e-3,1e-2")
    choices = []
    for value in values.split(","):
        _, parsed = recipe_module.parse_override(f"{key}={value.strip()}")
        choices.append(parsed)
    return parse_param(key, {"choices": choices})


def toml_value(value: Any) -> str:
    """``value`` as TOML text (tables inline), as ``--set KEY=VALUE`` reads it."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return tomli_w.dumps({"v": value}).partition("=")[2].strip()


def override(key: str, value: Any) -> str:
    """The ``--set`` text that gives recipe ``key`` the ``value`` (a table replaces a table)."""
    return f"{key}={toml_value(value)}"


# -- the sweep's definition ---------------------------------------------------------------------


@dataclasses.dataclass
class SweepSpec:
    """Everything a process needs to take part in a sweep; saved as ``sweep.toml``."""

    recipe: str
    study: str
    out: str
    params: dict[str, dict[str, Any]]
    sampler: str = "grid"
    trials: int = 0
    seeds: list[int] = dataclasses.field(default_factory=lambda: [0])
    pruner: str = "none"
    prune_warmup: int = 0
    storage: str = ""
    overrides: list[str] = dataclasses.field(default_factory=list)
    monitor: str = ""
    mode: str = "max"

    def parameters(self) -> list[Param]:
        return [parse_param(key, table) for key, table in self.params.items()]

    def load(self, manager: PluginManager, extra: list[str]) -> Any:
        """The sweep's recipe with its overrides and then ``extra`` (``--set`` texts) applied."""
        return recipe_module.load(self.recipe, manager, [*self.overrides, *extra], self.out)

    def target_trials(self) -> int:
        if self.sampler == "grid":
            return math.prod(len(p.choices) for p in self.parameters())
        return self.trials


def read_space(path: Path) -> dict[str, Any]:
    """A search-space file: ``[sweep]`` settings and ``[params."key"]`` tables."""
    data = recipe_module.read_toml(path)
    unknown = set(data) - {"sweep", "params"}
    if unknown:
        raise RecipeError(
            f"{path}: unknown sections {sorted(unknown)}; expected [sweep] and [params]"
        )
    settings = data.get("sweep", {})
    allowed = {"sampler", "trials", "seeds", "pruner", "prune_warmup"}
    if set(settings) - allowed:
        raise RecipeError(
            f"{path}: unknown [sweep] keys {sorted(set(settings) - allowed)}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    params = data.get("params", {})
    for key, table in params.items():
        parse_param(key, table)
    return {"settings": settings, "params": params}


def find_space(space: str | None, recipe_path: Path) -> Path | None:
    """The search-space file: ``space`` as a path, or as ``NAME`` of ``NAME.space.toml`` beside
    the recipe; without ``space``, the recipe's own ``<recipe>.space.toml`` if there is one."""
    beside = recipe_path.parent
    if space is None:
        default = beside / f"{recipe_path.stem}{SPACE_SUFFIX}"
        return default if default.is_file() else None
    path = Path(space)
    if path.is_file():
        return path
    named = beside / f"{path.name.removesuffix(SPACE_SUFFIX).removesuffix('.toml')}{SPACE_SUFFIX}"
    if named.is_file():
        return named
    raise RecipeError(f"--space {space!r}: no such file, and no {named.name} beside the recipe")


def check_spec(spec: SweepSpec, manager: PluginManager) -> tuple[str, str]:
    """Validate the sweep before anything trains; return the monitored metric and its mode.

    The recipe must monitor a metric (its value is the trial's); every choice and both ends of
    every range must give a valid recipe.
    """
    if spec.sampler not in SAMPLERS:
        raise RecipeError(f"sampler {spec.sampler!r}: choose one of {', '.join(SAMPLERS)}")
    if spec.pruner not in PRUNERS:
        raise RecipeError(f"pruner {spec.pruner!r}: choose one of {', '.join(PRUNERS)}")
    params = spec.parameters()
    if not params:
        raise RecipeError(
            "the sweep has no parameters: give --grid KEY=V1,V2 or a search-space file (--space)"
        )
    if spec.sampler == "grid" and not all(p.is_choice for p in params):
        ranges = [p.key for p in params if not p.is_choice]
        raise RecipeError(
            f"a grid needs choices, but {', '.join(ranges)} are ranges; use sampler random or tpe"
        )
    if spec.sampler != "grid" and spec.trials < 1:
        raise RecipeError(f"sampler {spec.sampler!r} needs a number of trials (--trials N)")
    if not spec.seeds:
        raise RecipeError("the sweep needs at least one seed (--seeds)")
    base = spec.load(manager, [])
    if not base.train.monitor:
        raise RecipeError(
            "a sweep compares its trials on the monitored metric; set train.monitor, e.g. "
            '--set train.monitor="val/accuracy" --set train.eval_every=100'
        )
    for param in params:
        for value in param.samples():
            try:
                spec.load(manager, [override(param.key, value)])
            except RecipeError as exc:
                raise RecipeError(f"sweep parameter {param.key} = {value!r}: {exc}") from None
    return base.train.monitor, base.train.monitor_mode


def create(
    recipe: str,
    manager: PluginManager,
    *,
    overrides: list[str],
    out: Path,
    grid: list[str],
    space: str | None,
    sampler: str | None,
    trials: int | None,
    seeds: list[int] | None,
    storage: str | None,
    study: str | None,
) -> Path:
    """Check a new sweep (or one to join on --storage) and write its folder; return the folder."""
    path = recipe_module.find_recipe(recipe, manager).resolve()
    space_path = find_space(space, path)
    loaded = read_space(space_path) if space_path else {"settings": {}, "params": {}}
    settings = loaded["settings"]
    params = dict(loaded["params"])
    for text in grid:
        param = parse_grid_option(text)
        params[param.key] = {"choices": param.choices}
    if seeds is None:
        seeds = settings.get("seeds", [0])
        seeds = parse_seed_text(seeds) if isinstance(seeds, str) else list(seeds)
    default_sampler = "grid" if all("choices" in t for t in params.values()) else "tpe"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    spec = SweepSpec(
        recipe=str(path),
        study=study or f"sweep-{stamp}",
        out=str(out.absolute()),
        params=params,
        sampler=sampler or settings.get("sampler", default_sampler),
        trials=trials if trials is not None else int(settings.get("trials", 0)),
        seeds=seeds,
        pruner=settings.get("pruner", "none"),
        prune_warmup=int(settings.get("prune_warmup", 0)),
        storage=storage or "",
        overrides=list(overrides),
    )
    spec.monitor, spec.mode = check_spec(spec, manager)
    folder = out / spec.load(manager, []).run.name / spec.study
    if (folder / SPEC_NAME).is_file():
        if not storage:
            raise RecipeError(f"{folder} already holds a sweep; resume it: labcore sweep {folder}")
        if read_spec(folder) != spec:
            raise RecipeError(f"{folder} holds another sweep of study {spec.study!r}")
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SPEC_NAME).write_text(tomli_w.dumps(dataclasses.asdict(spec)))
    return folder


def parse_seed_text(text: str) -> list[int]:
    """``0-2`` or ``1,5`` -> seeds."""
    seeds: list[int] = []
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise RecipeError(f"seeds {text!r}: expected seeds like 0-2 or 1,5")
        seeds.extend(range(int(low), int(high or low) + 1))
    return seeds


def read_spec(folder: Path) -> SweepSpec:
    path = folder / SPEC_NAME
    if not path.is_file():
        raise RecipeError(f"{folder} is not a sweep folder (it has no {SPEC_NAME})")
    with open(path, "rb") as f:
        return SweepSpec(**tomllib.load(f))


def is_sweep(path: Path) -> bool:
    return (path / SPEC_NAME).is_file()


# -- the study ----------------------------------------------------------------------------------


def storage_url(folder: Path, spec: SweepSpec) -> str:
    return spec.storage or f"sqlite:///{(folder / DATABASE_NAME).resolve()}"


#: The system attribute of a trial queued with its parameters (Optuna's ``enqueue_trial``).
QUEUED_ATTR = "fixed_params"


def slot(trials: list[Any], number: int) -> int:
    """The place of trial ``number`` among the trials asked for anew: the n-th such trial has
    slot n, whichever process asked for it. Continuations, queued with their parameters, take
    none. The database gives out trial numbers one at a time, each trial's queued parameters
    written with it, so the slot is known, and the same, to every process."""
    return sum(1 for t in trials if t.number < number and QUEUED_ATTR not in t.system_attrs)


def _numbered_grid(params: list[Param]) -> Any:
    """A sampler giving the trial in slot n the n-th point of the grid (every combination of the
    choices, the first parameter varying slowest)."""
    import optuna

    keys = [p.key for p in params]
    points = list(itertools.product(*(p.choice_labels() for p in params)))

    class NumberedGrid(optuna.samplers.BaseSampler):
        def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, Any]:
            return {}

        def sample_relative(self, study: Any, trial: Any, search_space: Any) -> dict[str, Any]:
            return {}

        def sample_independent(
            self, study: Any, trial: Any, param_name: str, param_distribution: Any
        ) -> Any:
            point = points[slot(study.get_trials(deepcopy=False), trial.number)]
            return point[keys.index(param_name)]

    return NumberedGrid()


def open_study(folder: Path, spec: SweepSpec) -> Any:
    """The Optuna study (created on first use) with the sweep's sampler and pruner."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    params = spec.parameters()
    if spec.sampler == "grid":
        sampler = _numbered_grid(params)
    elif spec.sampler == "random":
        sampler = optuna.samplers.RandomSampler(seed=None)
    else:
        sampler = optuna.samplers.TPESampler(seed=None)
    pruner = (
        optuna.pruners.MedianPruner(n_warmup_steps=spec.prune_warmup)
        if spec.pruner == "median"
        else optuna.pruners.NopPruner()
    )
    return optuna.create_study(
        study_name=spec.study,
        storage=storage_url(folder, spec),
        sampler=sampler,
        pruner=pruner,
        direction="maximize" if spec.mode == "max" else "minimize",
        load_if_exists=True,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def continue_dead_trials(study: Any) -> list[int]:
    """Hand the trials this machine's dead processes left running to new trials (same
    parameters, same run folders); return the numbers of the trials closed."""
    from optuna.trial import TrialState

    host = socket.gethostname()
    closed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        attrs = trial.user_attrs
        if attrs.get("host") != host or "pid" not in attrs or _alive(attrs["pid"]):
            continue
        study._storage.set_trial_user_attr(trial._trial_id, "continued", True)
        folder = attrs.get("folder", trial_folder(trial.number))  # it may have died before
        study.enqueue_trial(trial.params, user_attrs={"folder": folder}, skip_if_exists=False)
        study.tell(trial.number, state=TrialState.FAIL)
        closed.append(trial.number)
    return closed


def counted(trials: list[Any]) -> int:
    """Trials that hold a configuration (all but those handed on to a continuation and those
    asked for once the sweep was full)."""
    return sum(1 for t in trials if holds_configuration(t))


def holds_configuration(trial: Any) -> bool:
    return not (trial.user_attrs.get("continued") or trial.user_attrs.get("surplus"))


@contextmanager
def _ask_lock(folder: Path) -> Iterator[None]:
    """One process of this machine at a time decides whether there is a trial left to ask for."""
    with open(folder / ".ask.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def next_trial(study: Any, spec: SweepSpec, folder: Path) -> Any | None:
    """Ask the study for a trial (queued continuations first), or None when the sweep is full.

    The lock orders the processes of this machine; processes of other machines may ask at the
    same time, so a new trial whose slot lies beyond the sweep's trials is closed unrun
    (marked surplus).
    """
    from optuna.trial import TrialState

    with _ask_lock(folder):
        continue_dead_trials(study)
        while True:
            trials = study.get_trials(deepcopy=False)
            waiting = any(t.state == TrialState.WAITING for t in trials)
            if not waiting and counted(trials) >= spec.target_trials():
                return None
            trial = study.ask()
            trials = study.get_trials(deepcopy=False)
            queued = QUEUED_ATTR in trials[trial.number].system_attrs
            if queued or slot(trials, trial.number) < spec.target_trials():
                break
            trial.set_user_attr("surplus", True)
            study.tell(trial, state=TrialState.FAIL)
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", os.getpid())
        if "folder" not in trial.user_attrs:
            trial.set_user_attr("folder", trial_folder(trial.number))
        return trial


def trial_folder(number: int) -> str:
    """The name the run folders of a new trial start with (a continuation keeps its trial's)."""
    return f"trial-{number:03d}"


# -- running trials -----------------------------------------------------------------------------


class Pruned(Exception):
    """The pruner stopped the trial."""


def run_folder(folder: Path, trial_folder: str, seed: int) -> Path:
    return folder / f"{trial_folder}-seed-{seed}"


def _train_or_resume(run_dir: Path, recipe: Any, manager: PluginManager, pruning: Any) -> None:
    """Train one run into ``run_dir``, resuming it when it has a checkpoint from before;
    ``pruning(max_steps)`` gives the trainer's ``on_evaluation``."""
    from labcore import checkpoint, runfolder
    from labcore.report import run_report
    from labcore.train import lock
    from labcore.train.trainer import Trainer

    run_dir.mkdir(parents=True, exist_ok=True)
    run_lock = lock.RunLock(run_dir)
    run_lock.acquire()
    try:
        resuming = bool(checkpoint.candidates(run_dir / "checkpoints"))
        if not resuming:  # new, or stopped before its first checkpoint: start afresh
            for path in sorted(run_dir.rglob("*"), reverse=True):
                if path.name != lock.LOCK_FILE:
                    path.rmdir() if path.is_dir() else path.unlink()
            recipe.save(run_dir / "recipe.toml")
        lock.remove_partial_checkpoints(run_dir)
        run = runfolder.Run(dir=run_dir, recipe=recipe.sections)
        trainer = Trainer(run, recipe, manager, progress=False)
        if resuming:
            trainer.resume(fallback=True)
        trainer.on_evaluation = pruning(trainer.max_steps)
        trainer.fit()
        run_report.write_reports(run, manager)
    finally:
        run_lock.release()


def _pruning(trial: Any, spec: SweepSpec, index: int, max_steps: int) -> Any:
    """The trainer's ``on_evaluation`` for the run of the ``index``-th seed: report the monitored
    value at ``index * max_steps + step`` and stop the run when the pruner says so."""
    offset = index * max_steps

    def report(step: int, metrics: dict[str, float]) -> str | None:
        trial.report(metrics[spec.monitor], offset + step)
        if trial.should_prune():
            return f"pruned by the sweep's {spec.pruner} pruner at step {step}"
        return None

    return report


def run_trial(trial: Any, spec: SweepSpec, folder: Path, manager: PluginManager) -> float:
    """Train the trial's configuration once per seed; the mean of the monitored metric."""
    from labcore import runfolder

    chosen = [override(p.key, p.value_of(p.suggest(trial))) for p in spec.parameters()]
    values = {}
    for index, seed in enumerate(spec.seeds):
        recipe = spec.load(manager, [*chosen, f"run.seed={seed}"])
        run_dir = run_folder(folder, trial.user_attrs["folder"], seed)
        status = runfolder.Run(run_dir, {}).status() if run_dir.is_dir() else {}
        if status.get("status") != "finished":
            pruning = functools.partial(_pruning, trial, spec, index)
            _train_or_resume(run_dir, recipe, manager, pruning)
            status = runfolder.Run(run_dir, {}).status()
        values[seed] = runfolder.Run(run_dir, {}).metrics()["metrics"][spec.monitor]
        trial.set_user_attr("values", {str(k): v for k, v in values.items()})
        if str(status.get("stop_reason", "")).startswith("pruned"):
            raise Pruned(status["stop_reason"])
    return statistics.fmean(values.values())


def work(folder: Path, manager: PluginManager, echo: Any = print) -> int:
    """Run trials of the sweep in ``folder`` until it is full; return how many this process ran.

    An interruption (SIGINT, SIGTERM) leaves the current trial to be continued on resume.
    """
    from optuna.trial import TrialState

    from labcore.train.trainer import Interrupted, NonFiniteLoss

    spec = read_spec(folder)
    study = open_study(folder, spec)
    ran = 0
    while (trial := next_trial(study, spec, folder)) is not None:
        echo(f"-- trial {trial.number} ({trial.user_attrs['folder']})")
        try:
            value = run_trial(trial, spec, folder, manager)
        except Interrupted:
            raise
        except Pruned as exc:
            trial.set_user_attr("stopped", str(exc))
            study.tell(trial, state=TrialState.PRUNED)
        except (NonFiniteLoss, ValueError, RuntimeError) as exc:
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
            study.tell(trial, state=TrialState.FAIL)
            echo(f"labcore: warning: trial {trial.number} failed: {exc}")
        else:
            study.tell(trial, value)
        ran += 1
    return ran


def launch_workers(folder: Path, count: int, plugins_dir: Path | None) -> list[subprocess.Popen]:
    """Start ``count`` more processes of the sweep (``labcore sweep FOLDER --no-report``), once
    the study exists: processes creating one database together could collide."""
    if count:
        open_study(folder, read_spec(folder))
    command = [sys.executable, "-m", "labcore"]
    if plugins_dir:
        command += ["--plugins-dir", str(plugins_dir)]
    command += ["sweep", str(folder), "--no-report"]
    return [subprocess.Popen(command) for _ in range(count)]
