"""Recipes: load a TOML file (with ``extends``), apply ``--set`` overrides, validate, resolve.

Validation happens before anything trains. Every section is checked against the schema of the
component it configures; the resolved recipe (defaults filled in, overrides applied) is what the run
folder keeps, so running it again reproduces the run.
"""

from __future__ import annotations

import copy
import dataclasses
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import tomli_w

from labcore.measurement import declared_mode
from labcore.plugins import PluginError, PluginManager
from labcore.recipes import paths as recipe_paths
from labcore.recipes.optim import OptimizerFactory, ScheduleConfig
from labcore.runfolder import run_name_problem
from labcore.schema import SchemaError, build, closest, hp, to_dict, unknown_key_message

SECTIONS = ("run", "data", "model", "optimizer", "schedule", "train", "evaluate")


class RecipeError(ValueError):
    """The recipe cannot be used as written; the message says where and how to fix it."""


@dataclasses.dataclass
class RunConfig:
    """The ``[run]`` section."""

    name: str = hp("", "run name; outputs go to <out>/<name>/<timestamp> (default: file name)")
    seed: int = hp(0, "seed of torch, numpy, random and the data order")
    device: Literal["auto", "cpu", "cuda"] = hp("auto", "auto picks cuda when available")
    precision: Literal["32", "bf16-mixed", "16-mixed"] = hp(
        "32", "32 | bf16-mixed | 16-mixed (16-mixed needs CUDA; it uses gradient scaling)"
    )
    tf32: bool = hp(False, "allow TF32 in matrix products and convolutions on CUDA (off: float32)")
    compile: bool = hp(False, "compile the model's networks with torch.compile")
    sync_batchnorm: bool = hp(False, "under several processes, batch norm over the global batch")
    find_unused_parameters: Literal["auto", "always"] = hp(
        "auto",
        "under several processes, search each update's graph for unused parameters: auto (when "
        "an optimizer's first update leaves some unused) or always (the used set changes)",
    )


@dataclasses.dataclass
class TrainConfig:
    """The ``[train]`` section."""

    max_steps: int = hp(0, "optimizer steps to train for (or set epochs)")
    epochs: int = hp(
        0,
        "epochs to train for, converted to steps (used when max_steps is 0)",
        applies=lambda c: c.max_steps == 0,
    )
    batch_size: int = hp(64, "training batch size (per process)")
    log_every: int = hp(10, "write the mean of the logged values every N steps")
    eval_every: int = hp(0, "evaluate on eval_split every N steps (0: only at the end)")
    eval_split: str = hp(
        "val", "split used by the periodic evaluation", applies=lambda c: c.eval_every > 0
    )
    sample_every: int = hp(0, "write a sample grid every N steps (generative models)")
    checkpoint_every: int = hp(0, "keep a step-N checkpoint every N steps (0: only last.pt)")
    keep_checkpoints: int = hp(
        3,
        "how many step-N checkpoints to keep (newest first)",
        applies=lambda c: c.checkpoint_every > 0,
    )
    grad_clip_norm: float = hp(0.0, "clip each optimizer's gradient norm to this (0: off)")
    num_workers: int = hp(0, "DataLoader worker processes for datasets read from disk")
    monitor: str = hp(
        "", "metric of the periodic evaluation to select weights on, e.g. val/accuracy (off: '')"
    )
    monitor_mode: Literal["", "max", "min"] = hp(
        "",
        "max | min: which way the monitored metric improves ('': from its name, if known)",
        applies=lambda c: bool(c.monitor),
    )
    min_delta: float = hp(
        0.0,
        "smallest change of the monitored metric that counts as better",
        applies=lambda c: bool(c.monitor),
    )
    patience: int = hp(
        0,
        "stop after N evaluations without improvement of the monitor (0: off)",
        applies=lambda c: bool(c.monitor),
    )
    final: Literal["best", "last"] = hp(
        "best",
        "weights of the final evaluation: best (of the monitor; needs it) or last",
        applies=lambda c: bool(c.monitor),
    )

    def __post_init__(self) -> None:
        never_negative = (
            "max_steps",
            "epochs",
            "keep_checkpoints",
            "eval_every",
            "sample_every",
            "checkpoint_every",
            "num_workers",
        )
        for name in never_negative:
            if getattr(self, name) < 0:
                raise ValueError(f"train.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("batch_size", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"train.{name} must be at least 1, got {getattr(self, name)}")
        if not self.grad_clip_norm >= 0:  # also rejects nan
            raise ValueError(
                f"train.grad_clip_norm must be 0 (off) or positive, got {self.grad_clip_norm}"
            )
        self._check_monitor()

    def _check_monitor(self) -> None:
        """The monitored metric must be measured (periodic evaluation, on its split) and have a
        direction; an unset ``monitor_mode`` is filled in from the metric's name."""
        if self.patience < 0 or self.min_delta < 0:
            raise ValueError("train.patience and train.min_delta must be >= 0")
        if not self.monitor:
            if self.patience:
                raise ValueError(
                    "train.patience counts evaluations without improvement of train.monitor; "
                    'set train.monitor (e.g. "val/accuracy") too'
                )
            return
        split, _, metric = self.monitor.rpartition("/")
        if split != self.eval_split or not metric:
            raise ValueError(
                f"train.monitor = {self.monitor!r}: name a metric of the periodic evaluation on "
                f'train.eval_split with its split, e.g. "{self.eval_split}/accuracy"'
            )
        if self.eval_every <= 0:
            raise ValueError(
                "train.monitor is measured at each periodic evaluation; set train.eval_every "
                "(e.g. 100)"
            )
        if not self.monitor_mode:
            mode = declared_mode(self.monitor)
            if mode is None:
                raise ValueError(
                    f"train.monitor_mode: whether {self.monitor!r} is better high or low is not "
                    'known from its name; set train.monitor_mode = "max" or "min"'
                )
            self.monitor_mode = mode


def _evaluate_config_class() -> type:
    from labcore.recipes.evaluate import EvaluateConfig

    return EvaluateConfig


@dataclasses.dataclass
class Recipe:
    """A validated recipe: the resolved sections and the component classes they name."""

    path: Path | None
    sections: dict[str, dict[str, Any]]
    run: RunConfig
    train: TrainConfig
    schedule: ScheduleConfig
    evaluate: Any
    dataset_cls: type
    dataset_config: Any
    model_cls: type
    model_config: Any

    def optimizer_factory(self) -> OptimizerFactory:
        return OptimizerFactory(self.sections["optimizer"])

    def to_toml(self) -> str:
        return tomli_w.dumps(self.sections)

    def save(self, path: Path) -> None:
        path.write_text(self.to_toml())


#: Deepest nesting of tables and arrays a recipe may use; real recipes use three levels.
MAX_NESTING = 32


def nesting_depth(value: Any) -> int:
    """How deeply tables and arrays nest in ``value`` (0 for a plain value), without recursion."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            break
        if isinstance(item, Mapping):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def _too_deep(where: str) -> RecipeError:
    return RecipeError(
        f"{where}: tables and arrays nest more than {MAX_NESTING} levels deep; "
        "a recipe needs only a few levels"
    )


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise RecipeError(f"recipe file not found: {path}") from None
    except IsADirectoryError:
        raise RecipeError(f"{path} is a folder, not a recipe file") from None
    except UnicodeDecodeError:
        raise RecipeError(
            f"{path}: not UTF-8 text (TOML files are UTF-8); save the recipe as UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise _too_deep(str(path)) from None
    if nesting_depth(data) > MAX_NESTING:
        raise _too_deep(str(path))
    return data


def find_recipe(name_or_path: str, manager: PluginManager) -> Path:
    """A recipe path given as a file path or as the name of a bundled or plugin-shipped recipe."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    stem = path.name.removesuffix(".toml")
    if stem in manager.recipes and path.parent == Path("."):
        return manager.recipes[stem][0]
    guess = closest(stem, manager.recipes)
    if guess is not None:
        hint = f"did you mean {guess}?"
    else:
        hint = "bundled recipes: " + (", ".join(sorted(manager.recipes)) or "(none)")
    raise RecipeError(
        f"no recipe file {name_or_path!r} and no bundled recipe of that name; {hint} "
        "(see `labcore recipes`)"
    )


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge: tables merge key by key, any other value replaces."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_raw(path: Path, manager: PluginManager) -> dict[str, Any]:
    """Read a recipe file and the chain of recipes it ``extends``, merged base first."""
    return load_chain(path, manager)[0]


def load_chain(
    path: Path, manager: PluginManager, _seen: tuple[Path, ...] = ()
) -> tuple[dict[str, Any], dict[tuple[str, ...], Path]]:
    """:func:`load_raw` and the folder of the file that wrote each value (see
    :mod:`labcore.recipes.paths`). ``extends`` is a path relative to the file's folder, or the name
    of a bundled or plugin-shipped recipe."""
    path = path.resolve()
    if path in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, path))
        raise RecipeError(f"recipe extends itself: {chain}")
    data = read_toml(path)
    parent = data.pop("extends", None)
    where = recipe_paths.origins(data, path.parent)
    if parent is None:
        return data, where
    if not isinstance(parent, str):
        raise RecipeError(f"{path}: extends must be a file name, got {parent!r}")
    parent_path = path.parent / Path(parent).expanduser()
    if not parent_path.is_file():
        parent_path = find_recipe(parent, manager)
    base, base_where = load_chain(parent_path, manager, (*_seen, path))
    return merge(base, data), {**base_where, **where}


def parse_override(text: str) -> tuple[list[str], Any]:
    """``model.z_dim=128`` -> (["model", "z_dim"], 128); values are read as TOML, else as text."""
    if "=" not in text:
        raise RecipeError(f"--set {text!r}: expected KEY=VALUE, e.g. --set train.max_steps=50")
    key, _, value = text.partition("=")
    parts = [p.strip() for p in key.strip().split(".")]
    if not all(parts):
        raise RecipeError(f"--set {text!r}: invalid key {key!r}")
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    except RecursionError:
        raise _too_deep(f"--set {key}") from None
    if nesting_depth(parsed) > MAX_NESTING:
        raise _too_deep(f"--set {key}")
    return parts, parsed


def apply_overrides(raw: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    for text in overrides:
        parts, value = parse_override(text)
        table = out
        for part in parts[:-1]:
            child = table.setdefault(part, {})
            if not isinstance(child, dict):
                raise RecipeError(f"--set {text!r}: {part} is a value, not a table")
            table = child
        table[parts[-1]] = value
    return out


def _component_section(
    raw: Mapping[str, Any], section: str, kind: str, manager: PluginManager
) -> tuple[type, Any, dict[str, Any]]:
    table = raw.get(section)
    names = ", ".join(manager.names(kind)) or "(none installed)"
    if not isinstance(table, Mapping) or "name" not in table:
        raise RecipeError(f"[{section}]: missing value 'name'; choose one of: {names}")
    if not isinstance(table["name"], str):
        raise RecipeError(
            f"{section}.name: expected the name of a {kind.replace('_', ' ')} as a string, "
            f"got {table['name']!r}; choose one of: {names}"
        )
    try:
        cls = manager.get(kind, table["name"])
    except PluginError as exc:
        raise RecipeError(f"{section}.name: {exc}") from None
    config = build(cls.Config, table, section, ignore={"name"})
    return cls, config, {"name": table["name"], **to_dict(config)}


def resolve(
    raw: Mapping[str, Any],
    manager: PluginManager,
    path: Path | None = None,
    *,
    where: Mapping[tuple[str, ...], Path] | None = None,
    out: Path | str = recipe_paths.DEFAULT_OUT,
) -> Recipe:
    """Validate every section of ``raw`` and return the resolved :class:`Recipe`.

    Path hyperparameters become absolute: a relative one is joined to the folder ``where`` names
    for its key (the working folder when it names none), ``{out}`` is ``out``.
    """
    for key in raw:
        if key not in SECTIONS:
            raise RecipeError(unknown_key_message("", key, SECTIONS) + " (a recipe section)")
        if not isinstance(raw[key], Mapping):
            raise RecipeError(
                f"[{key}]: expected a table of values (one [{key}] section), got {raw[key]!r}"
            )
    raw = recipe_paths.absolute_paths(raw, _section_schemas(raw, manager), where or {}, out)
    try:
        run = build(RunConfig, raw.get("run", {}), "run")
        if not run.name:
            run = dataclasses.replace(run, name=path.stem if path else "run")
        if problem := run_name_problem(run.name):
            raise RecipeError(problem)
        train = build(TrainConfig, raw.get("train", {}), "train")
        if train.max_steps == 0 and train.epochs == 0:
            raise RecipeError("[train]: set max_steps or epochs (for example max_steps = 1000)")
        schedule = build(ScheduleConfig, raw.get("schedule", {}), "schedule")
        evaluate = build(_evaluate_config_class(), raw.get("evaluate", {}), "evaluate")
        dataset_cls, dataset_config, data_section = _component_section(
            raw, "data", "dataset", manager
        )
        model_cls, model_config, model_section = _component_section(raw, "model", "model", manager)
        optimizer = dict(raw.get("optimizer", {}))
        OptimizerFactory(optimizer)
        _check_extractor(evaluate.extractor, manager)
    except SchemaError as exc:
        raise RecipeError(str(exc)) from None
    sections = {
        "run": to_dict(run),
        "data": data_section,
        "model": model_section,
        "optimizer": optimizer or {"name": "adam"},
        "schedule": to_dict(schedule),
        "train": to_dict(train),
        "evaluate": to_dict(evaluate),
    }
    return Recipe(
        path=path,
        sections=sections,
        run=run,
        train=train,
        schedule=schedule,
        evaluate=evaluate,
        dataset_cls=dataset_cls,
        dataset_config=dataset_config,
        model_cls=model_cls,
        model_config=model_config,
    )


def _check_extractor(table: Mapping[str, Any], manager: PluginManager) -> None:
    """Validate an ``[evaluate.extractor]`` table's keys, even when no metric will use it."""
    if not table:
        return
    section = dict(table)
    name = section.pop("name", None)
    if not isinstance(name, str) or not name:
        for key in section:
            if closest(key, ["name"]):
                raise RecipeError(unknown_key_message("evaluate.extractor", key, ["name"]))
        raise RecipeError(
            '[evaluate.extractor]: missing value \'name\'; e.g. name = "classifier"; choose one '
            "of: " + (", ".join(manager.names("feature_extractor")) or "(none installed)")
        )
    try:
        cls = manager.get("feature_extractor", name)
    except PluginError as exc:
        raise RecipeError(f"evaluate.extractor.name: {exc}") from None
    build(cls.Config, section, "evaluate.extractor")


def load(
    name_or_path: str | Path,
    manager: PluginManager,
    overrides: Iterable[str] = (),
    out: Path | str = recipe_paths.DEFAULT_OUT,
) -> Recipe:
    """Find, read, merge, override and validate a recipe; ``out`` is the outputs folder that
    ``{out}`` in its paths stands for."""
    path = find_recipe(str(name_or_path), manager)
    raw, where = load_chain(path, manager)
    overrides = list(overrides)
    for text in overrides:
        recipe_paths.forget(where, tuple(parse_override(text)[0]))
    raw = apply_overrides(raw, overrides)
    return resolve(raw, manager, path, where=where, out=out)


def _section_schemas(raw: Mapping[str, Any], manager: PluginManager) -> dict[tuple[str, ...], type]:
    """The ``Config`` of each table of ``raw`` that has one: the host's sections and the named
    components (a name that is not installed is left to :func:`resolve` to report)."""
    schemas: dict[tuple[str, ...], type] = {
        ("run",): RunConfig,
        ("train",): TrainConfig,
        ("schedule",): ScheduleConfig,
        ("evaluate",): _evaluate_config_class(),
    }
    evaluate = raw.get("evaluate")
    tables = {
        ("data",): ("dataset", raw.get("data")),
        ("model",): ("model", raw.get("model")),
        ("evaluate", "extractor"): (
            "feature_extractor",
            evaluate.get("extractor") if isinstance(evaluate, Mapping) else None,
        ),
    }
    for key, (kind, table) in tables.items():
        name = table.get("name") if isinstance(table, Mapping) else None
        if isinstance(name, str) and name in manager.names(kind):
            schemas[key] = manager.get(kind, name).Config
    return schemas
