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

from labcore.optim import OptimizerFactory, ScheduleConfig
from labcore.plugins import PluginError, PluginManager
from labcore.schema import SchemaError, build, hp, to_dict, unknown_key_message

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
    epochs: int = hp(0, "epochs to train for, converted to steps (used when max_steps is 0)")
    batch_size: int = hp(64, "training batch size (per process)")
    log_every: int = hp(10, "write the mean of the logged values every N steps")
    eval_every: int = hp(0, "evaluate on eval_split every N steps (0: only at the end)")
    eval_split: str = hp("val", "split used by the periodic evaluation")
    sample_every: int = hp(0, "write a sample grid every N steps (generative models)")
    checkpoint_every: int = hp(0, "keep a step-N checkpoint every N steps (0: only last.pt)")
    keep_checkpoints: int = hp(3, "how many step-N checkpoints to keep (newest first)")
    grad_clip_norm: float = hp(0.0, "clip each optimizer's gradient norm to this (0: off)")
    num_workers: int = hp(0, "DataLoader worker processes for datasets read from disk")

    def __post_init__(self) -> None:
        for name in ("max_steps", "epochs", "batch_size", "log_every", "keep_checkpoints"):
            if getattr(self, name) < 0:
                raise ValueError(f"train.{name} must be >= 0")
        if self.batch_size == 0:
            raise ValueError("train.batch_size must be positive")


def _evaluate_config_class() -> type:
    from labcore.metrics.config import EvaluateConfig

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


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise RecipeError(f"recipe file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"{path}: invalid TOML: {exc}") from None


def find_recipe(name_or_path: str, manager: PluginManager) -> Path:
    """A recipe path given as a file path or as the name of a bundled or plugin-shipped recipe."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    stem = path.name.removesuffix(".toml")
    if stem in manager.recipes and path.parent == Path("."):
        return manager.recipes[stem][0]
    available = ", ".join(sorted(manager.recipes)) or "(none)"
    raise RecipeError(
        f"no recipe file {name_or_path!r} and no bundled recipe of that name; "
        f"bundled recipes: {available} (see `labcore recipes`)"
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


def load_raw(path: Path, manager: PluginManager, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a recipe file and the chain of recipes it ``extends``, merged base first."""
    path = path.resolve()
    if path in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, path))
        raise RecipeError(f"recipe extends itself: {chain}")
    data = read_toml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise RecipeError(f"{path}: extends must be a file name, got {parent!r}")
    parent_path = path.parent / parent
    if not parent_path.is_file():
        parent_path = find_recipe(parent, manager)
    return merge(load_raw(parent_path, manager, (*_seen, path)), data)


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
    if not isinstance(table, Mapping) or "name" not in table:
        names = ", ".join(manager.names(kind)) or "(none installed)"
        raise RecipeError(f"[{section}]: missing value 'name'; choose one of: {names}")
    try:
        cls = manager.get(kind, table["name"])
    except PluginError as exc:
        raise RecipeError(f"{section}.name: {exc}") from None
    config = build(cls.Config, table, section, ignore={"name"})
    return cls, config, {"name": table["name"], **to_dict(config)}


def resolve(raw: Mapping[str, Any], manager: PluginManager, path: Path | None = None) -> Recipe:
    """Validate every section of ``raw`` and return the resolved :class:`Recipe`."""
    for key in raw:
        if key not in SECTIONS:
            raise RecipeError(unknown_key_message("", key, SECTIONS) + " (a recipe section)")
    try:
        run = build(RunConfig, raw.get("run", {}), "run")
        if not run.name:
            run = dataclasses.replace(run, name=path.stem if path else "run")
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


def load(
    name_or_path: str | Path, manager: PluginManager, overrides: Iterable[str] = ()
) -> Recipe:
    """Find, read, merge, override and validate a recipe."""
    path = find_recipe(str(name_or_path), manager)
    raw = apply_overrides(load_raw(path, manager), overrides)
    return resolve(raw, manager, path)
