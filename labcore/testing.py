"""The plugin author's test kit: check that components honour labcore's contracts.

Plain functions, usable from any test::

    from labcore.testing import check_model, check_recipe

    def test_my_model(tmp_path):
        result = check_model(MyModel, MyData, dataset_overrides={"size": 64}, workdir=tmp_path)
        assert result.samples.shape == (8, 2)

    def test_my_recipe():
        check_recipe(Path(__file__).parents[1] / "my_plugin" / "recipes" / "my-recipe.toml")

- :func:`check_model` trains a model a few steps through the real
  :class:`~labcore.train.trainer.Trainer`, interrupts and resumes it from its checkpoint and demands
  bitwise the weights of an uninterrupted run, checks ``evaluate``, ``sample`` (shape, value range,
  reproducible from its ``generator``) and ``sample_grid``.
- :func:`check_recipe` validates a recipe file; :func:`run_recipe` trains it a few steps.
- :func:`check_metric` feeds a metric the same inputs in the ways labcore does (batched, merged,
  through the reference cache) and compares the values with each other and with a reference.
- :func:`check_plugin` checks that an installed plugin loads without problems.
- :func:`install_package` pip-installs a package into a throw-away virtual environment, and
  :func:`run_cli` runs ``python -m labcore`` in a subprocess, to check a plugin as its users get it.

Each function raises :class:`ContractError` (an ``AssertionError``, so pytest reports it as a test
failure) whose message says which part of the contract failed and how to fix it. Component classes
passed as ``components`` (or as the ``model`` and ``dataset`` of :func:`check_model`) are used
instead of installed components of the same name, so a plugin can be tested before it is installed.

This module is also a pytest plugin (registered in the ``pytest11`` entry-point group, or loaded
with ``pytest -p labcore.testing``) with two fixtures: ``labcore_check``, the checks above bound
to the test's ``tmp_path``, and ``labcore_cli``, the command line in a subprocess.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import torch

from labcore import checkpoint
from labcore.components import KINDS, ContractError
from labcore.metrics.checker import check_metric
from labcore.plugins import PluginError, PluginManager, PluginRecord, component_problem, get_manager
from labcore.recipes import recipe as recipe_module
from labcore.recipes.recipe import Recipe, RecipeError
from labcore.schema import SchemaError
from labcore.train.evaluation import SplitBatches as EvalContext

__all__ = [
    "Checks",
    "ContractError",
    "EvalContext",
    "ModelCheck",
    "StepContext",
    "check_metric",
    "check_model",
    "check_plugin",
    "check_recipe",
    "install_package",
    "labcore_check",
    "labcore_cli",
    "pip",
    "plugin_manager",
    "run_cli",
    "run_recipe",
]


USER_ERRORS = (RecipeError, SchemaError, PluginError, checkpoint.CheckpointError)


class StepContext:
    """A stand-in for the trainer's step context, to drive ``training_step`` directly in tests.

    ``step(name, loss)`` zeroes, backpropagates and steps the model's optimizer ``name`` (from
    ``configure_optimizers`` with the ``optimizer`` section, Adam at 1e-3 by default), in full
    precision; ``calls`` records the names in order. Bump ``global_step`` yourself if the model
    reads it.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: Mapping[str, Any] | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        from labcore.recipes.optim import OptimizerFactory

        self.device = torch.device(device)
        self.global_step = 0
        self.max_steps = 0
        section = dict(optimizer or {"name": "adam", "lr": 1e-3})
        self.optimizers = model.configure_optimizers(OptimizerFactory(section))
        self.calls: list[str] = []

    def autocast(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def step(self, name: str, loss: torch.Tensor) -> None:
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        self.calls.append(name)


# -- the components under test ----------------------------------------------------------------


class _Registry:
    """A plugin manager that also knows some component classes; they win over installed ones."""

    def __init__(self, manager: PluginManager, components: Iterable[type]) -> None:
        self._manager = manager
        self._extra: dict[str, dict[str, type]] = {kind: {} for kind in KINDS}
        for cls in components:
            kind = getattr(cls, "kind", "")
            if kind not in KINDS:
                raise ContractError(
                    f"{cls!r} is not a labcore component: subclass labcore.Model, labcore.Dataset, "
                    "labcore.metrics.Metric or labcore.features.FeatureExtractor"
                )
            problem = component_problem(kind, cls)
            if problem:
                raise ContractError(problem)
            self._extra[kind][cls.name] = cls

    def names(self, kind: str) -> list[str]:
        return sorted({*self._manager.names(kind), *self._extra[kind]})

    def get(self, kind: str, name: str) -> type:
        if name in self._extra[kind]:
            return self._extra[kind][name]
        return self._manager.get(kind, name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manager, name)


def plugin_manager(components: Iterable[type] = ()) -> PluginManager | _Registry:
    """The installed plugins, plus ``components`` (classes that replace installed namesakes)."""
    components = list(components)
    manager = get_manager()
    return _Registry(manager, components) if components else manager


def check_plugin(name: str) -> PluginRecord:
    """The installed plugin ``name`` (its entry-point name), which must load without problems."""
    manager = PluginManager()
    records = {r.name: r for r in manager.records}
    if name not in records:
        raise ContractError(
            f"no installed labcore plugin {name!r} (installed: {', '.join(sorted(records))}); "
            "install the package (pip install -e .) and check its [project.entry-points.labcore]"
        )
    record = records[name]
    if record.broken:
        raise ContractError(
            f"plugin {name!r} ({record.origin}) is broken: " + "; ".join(record.problems)
        )
    return record


# -- recipes ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _as_contract_errors(what: str) -> Iterator[None]:
    from labcore.train.trainer import NonFiniteLoss

    try:
        yield
    except (*USER_ERRORS, NonFiniteLoss) as exc:
        raise ContractError(f"{what}: {exc}") from None


def check_recipe(
    recipe: str | os.PathLike,
    *,
    overrides: Sequence[str] = (),
    components: Iterable[type] = (),
) -> Recipe:
    """Load and validate a recipe (a file, or a recipe's name) as ``labcore run`` does.

    ``overrides`` are ``--set`` strings (``"train.max_steps=2"``). Returns the resolved recipe.
    """
    manager = plugin_manager(components)
    with _as_contract_errors(f"recipe {recipe}"):
        return recipe_module.load(recipe, manager, overrides)


@contextlib.contextmanager
def _own_rng() -> Iterator[None]:
    """Leave the caller's torch, numpy and Python random states as they were."""
    state = checkpoint.rng_state()
    try:
        yield
    finally:
        checkpoint.set_rng_state(state)


def _trainer(recipe: Recipe, manager: Any, folder: Path) -> Any:
    from labcore.runfolder import Run
    from labcore.train.trainer import Trainer

    folder.mkdir(parents=True, exist_ok=True)
    recipe.save(folder / "recipe.toml")
    return Trainer(Run(dir=folder, recipe=recipe.sections), recipe, manager, progress=False)


def run_recipe(
    recipe: str | os.PathLike,
    workdir: str | os.PathLike,
    *,
    steps: int = 2,
    overrides: Sequence[str] = (),
    components: Iterable[type] = (),
) -> Path:
    """Train ``recipe`` for ``steps`` steps in a run folder under ``workdir``, as ``labcore run``.

    Returns the run folder (``checkpoints/last.pt``, ``log.jsonl``, ``metrics.json``, ...).
    """
    from labcore import runfolder

    manager = plugin_manager(components)
    overrides = [*overrides, f"train.max_steps={steps}"]
    with _as_contract_errors(f"recipe {recipe}"), _own_rng():
        loaded = recipe_module.load(recipe, manager, overrides)
        folder = runfolder.create(Path(workdir), loaded.run.name)
        _trainer(loaded, manager, folder).fit()
    return folder


# -- models -----------------------------------------------------------------------------------


@dataclasses.dataclass
class ModelCheck:
    """What :func:`check_model` saw.

    ``model`` is the model after the uninterrupted run (in eval mode); ``logs`` the records of
    ``log.jsonl``; ``metrics`` the final metrics (``val/...``, ``test/...``); ``samples`` the
    ``(n, *info["shape"])`` tensor ``sample`` returned, or None for a model that cannot sample.
    """

    model: Any
    info: dict[str, Any]
    logs: list[dict[str, Any]]
    metrics: dict[str, float]
    samples: torch.Tensor | None


def _model_recipe(
    model: type | str,
    dataset: type | str,
    model_overrides: Mapping[str, Any] | None,
    dataset_overrides: Mapping[str, Any] | None,
    sections: Mapping[str, Any] | None,
    steps: int,
    batch_size: int,
    device: str,
) -> dict[str, Any]:
    model_name = model if isinstance(model, str) else model.name
    dataset_name = dataset if isinstance(dataset, str) else dataset.name
    raw = {
        "run": {"name": f"check-{model_name}", "seed": 0, "device": device},
        "data": {"name": dataset_name, **(dataset_overrides or {})},
        "model": {"name": model_name, **(model_overrides or {})},
        "train": {"max_steps": steps, "batch_size": batch_size, "log_every": 1},
    }
    return recipe_module.merge(raw, sections or {})


def _differing_keys(
    a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor], exact: bool
) -> list[str]:
    """The keys of state dict ``a`` whose tensors differ in ``b`` (bitwise, or up to 1e-6)."""
    differ = []
    for key in a:
        x, y = a[key], b[key]
        same = torch.equal(x, y) if exact else torch.allclose(x.float(), y.float(), atol=1e-6)
        if not same:
            differ.append(key)
    return differ


def _check_training(before: Mapping[str, torch.Tensor], model: Any, logs: list[dict]) -> None:
    if before and not _differing_keys(before, model.state_dict(), exact=True):
        raise ContractError(
            f"model {model.name!r}: training changed no parameter; training_step must call "
            "ctx.step(name, loss) for every optimizer update"
        )
    trainer_keys = {"step", "time"}
    logged = {
        key for record in logs for key in record
        if key not in trainer_keys and not key.startswith(("lr/", "val/", "test/", "final/"))
    }
    if not logged:
        raise ContractError(
            f"model {model.name!r}: training_step logged nothing; return a dict of scalars such "
            'as {"loss": loss}'
        )


def _resume(trainer: Any) -> None:
    """Load the newest checkpoint into ``trainer``, whose model was just built."""
    try:
        trainer.resume()
    except RuntimeError as exc:
        raise ContractError(
            f"model {trainer.model.name!r}: its checkpoint does not load into a newly built "
            f"model: {' '.join(str(exc).split())[:300]}. Create every parameter, buffer and "
            "submodule in __init__, with shapes that depend only on the config and the data's "
            "info, and keep only tensors in the state_dict"
        ) from None


def _check_resume(straight: Any, resumed: Any, exact: bool) -> None:
    if resumed.step != straight.step:
        raise ContractError(f"resumed run stopped at step {resumed.step}, not {straight.step}")
    differ = _differing_keys(straight.model.state_dict(), resumed.model.state_dict(), exact)
    if differ:
        raise ContractError(
            f"model {straight.model.name!r}: a run interrupted and resumed from its checkpoint "
            f"does not reproduce the uninterrupted run ({', '.join(differ[:5])} differ). Keep all "
            "model state in the module's state_dict (parameters, buffers, submodules) and draw "
            "random numbers only from the global torch RNG in training_step"
        )


def _check_metrics(model: Any, metrics: Mapping[str, Any], splits: Iterable[str]) -> None:
    bad = {k: v for k, v in metrics.items() if not math.isfinite(float(v))}
    if bad:
        raise ContractError(f"model {model.name!r}: non-finite metrics {bad}")
    reported = any(k.split("/")[0] in ("val", "test") for k in metrics)
    if model.can_evaluate and not reported and {"val", "test"} & set(splits):
        raise ContractError(
            f"model {model.name!r}: evaluate() returned no metrics; return a dict of floats"
        )


def _check_samples(model: Any, info: Mapping[str, Any], n: int, device: torch.device) -> Any:
    if not model.can_sample:
        return None

    def draw() -> torch.Tensor:
        generator = torch.Generator(device).manual_seed(0)
        with torch.no_grad():
            return model.sample(n, generator=generator)

    first = draw()
    torch.manual_seed(1234)
    second = draw()
    name = model.name
    if not isinstance(first, torch.Tensor):
        raise ContractError(f"model {name!r}: sample() returned {type(first).__name__}")
    if "shape" in info and tuple(first.shape) != (n, *info["shape"]):
        raise ContractError(
            f"model {name!r}: sample({n}) has shape {tuple(first.shape)}; expected "
            f"{(n, *info['shape'])} (n followed by the data's info['shape'])"
        )
    if not torch.isfinite(first).all():
        raise ContractError(f"model {name!r}: sample() returned non-finite values")
    if "value_range" in info:
        low, high = info["value_range"]
        if first.min() < low - 1e-4 or first.max() > high + 1e-4:
            raise ContractError(
                f"model {name!r}: samples span [{first.min():.4g}, {first.max():.4g}], outside the "
                f"data's value_range [{low}, {high}]"
            )
    if first.shape != second.shape or not torch.equal(first, second):
        raise ContractError(
            f"model {name!r}: two calls of sample() with equally seeded generators differ; draw "
            "all noise from the `generator` argument (torch.randn(..., generator=generator, "
            "device=generator.device))"
        )
    return first


def _check_grid(model: Any, bundle: Any, device: torch.device) -> None:
    from labcore.images import make_grid

    with torch.no_grad():
        grid = model.sample_grid(torch.Generator(device).manual_seed(0), bundle)
    if grid is None:
        return
    images, nrow = grid
    try:
        make_grid(images, nrow)
    except ValueError as exc:
        raise ContractError(
            f"model {model.name!r}: sample_grid() must return (images (N, 1 or 3, H, W), nrow) or "
            f"None: {exc}. Models of non-image data override sample_grid"
        ) from None


def check_model(
    model: type | str,
    dataset: type | str,
    *,
    model_overrides: Mapping[str, Any] | None = None,
    dataset_overrides: Mapping[str, Any] | None = None,
    sections: Mapping[str, Any] | None = None,
    steps: int = 4,
    batch_size: int = 16,
    sample_count: int = 8,
    device: str = "cpu",
    workdir: str | os.PathLike | None = None,
    components: Iterable[type] = (),
) -> ModelCheck:
    """Check that ``model`` trained on ``dataset`` honours the model contract.

    ``model`` and ``dataset`` are component classes (tested even when not installed) or names of
    installed components. ``model_overrides`` and ``dataset_overrides`` set hyperparameters (keep
    the data tiny); ``sections`` adds or overrides recipe sections (``{"optimizer": {"lr":
    1e-3}}``). ``steps`` (at least 2) training steps of ``batch_size`` run twice through the real
    trainer: straight, and interrupted halfway then resumed from its checkpoint. The check fails
    unless

    - the straight run trains: parameters change and ``training_step`` logs scalars;
    - every loss and metric is finite, and ``evaluate`` (when implemented) reports on val/test;
    - the resumed run ends with bitwise the weights of the straight run (on the CPU);
    - ``sample(sample_count, generator=g)`` (when implemented) returns ``(sample_count,
      *info["shape"])`` inside ``info["value_range"]``, the same for equally seeded generators;
    - ``sample_grid`` returns None or images a grid can be made of.

    Run folders go under ``workdir`` (a temporary folder when None). The global random states are
    restored afterwards.
    """
    if steps < 2:
        raise ValueError("check_model needs steps >= 2 (it resumes a run halfway)")
    classes = [c for c in (model, dataset) if isinstance(c, type)]
    manager = plugin_manager([*classes, *components])
    raw = _model_recipe(
        model, dataset, model_overrides, dataset_overrides, sections, steps, batch_size, device
    )
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="labcore-check-"))
        root = Path(workdir)
        stack.enter_context(_as_contract_errors(f"check_model({raw['model']['name']!r})"))
        stack.enter_context(_own_rng())
        recipe = recipe_module.resolve(raw, manager)

        straight = _trainer(recipe, manager, root / "straight")
        before = {k: v.detach().clone() for k, v in straight.model.state_dict().items()}
        record = straight.fit()
        logs = straight.run.log()
        _check_training(before, straight.model, logs)

        interrupted = _trainer(recipe, manager, root / "resumed")
        interrupted.max_steps = steps // 2
        interrupted.fit()
        resumed = _trainer(recipe, manager, root / "resumed")
        _resume(resumed)
        resumed.fit()
        _check_resume(straight, resumed, exact=straight.device.type == "cpu")

        trained = straight.model.eval()
        _check_metrics(trained, record["metrics"], straight.bundle.splits)
        samples = _check_samples(trained, straight.bundle.info, sample_count, straight.device)
        _check_grid(trained, straight.bundle, straight.device)
        return ModelCheck(trained, straight.bundle.info, logs, record["metrics"], samples)


# -- the command line -------------------------------------------------------------------------


def run_cli(
    *args: Any,
    check: int | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
    timeout: float = 600,
    python: str | os.PathLike | None = None,
) -> subprocess.CompletedProcess:
    """Run ``python -m labcore ARGS`` in a subprocess; with ``check``, demand that exit code.

    ``python`` is the interpreter (default: this one), e.g. one :func:`install_package` made.
    """
    result = subprocess.run(
        [str(python or sys.executable), "-m", "labcore", *map(str, args)],
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check is not None and result.returncode != check:
        raise ContractError(
            f"labcore {' '.join(map(str, args))} exited {result.returncode}, expected {check}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


def install_package(source: str | os.PathLike, folder: str | os.PathLike) -> Path:
    """pip-install the package in ``source`` into a new virtual environment under ``folder``.

    The environment sees exactly this interpreter's packages (labcore, torch, setuptools, ...) and
    nothing else, so nothing is downloaded: a ``.pth`` file in the new environment adds this
    interpreter's site directories with :func:`site.addsitedir` (their own ``.pth`` files, editable
    installs among them, included), never the base interpreter's. The package is built from a copy
    of ``source`` without build isolation, with the build backend this environment has
    (``setuptools>=70.1`` builds wheels itself), and installed without dependencies. Returns the
    environment's ``python``; run ``python -m labcore plugins`` with it to see the package as its
    users will, package data and entry points included. ``python -m pip --python PYTHON
    uninstall -y NAME`` removes it again.
    """
    source, folder = Path(source), Path(folder)
    copy = folder / "source" / source.name
    shutil.copytree(
        source,
        copy,
        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".pytest_cache"),
    )
    venv = folder / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True
    )
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    _see_this_environment(python)
    pip(python, "install", "--no-deps", "--no-build-isolation", "--no-index", str(copy))
    return python


def _site_directories() -> list[str]:
    """This interpreter's site directories, in the order it searches them."""
    import site

    directories = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        directories.append(site.getusersitepackages())
    return [d for d in dict.fromkeys(directories) if Path(d).is_dir()]


def _see_this_environment(python: Path) -> None:
    """Make the environment of ``python`` see this interpreter's site directories after its own."""
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    lines = [f"import site; site.addsitedir({d!r})" for d in _site_directories()]
    (Path(purelib) / "_labcore_testing_parent.pth").write_text("\n".join(lines) + "\n")


def pip(python: str | os.PathLike, *args: str) -> subprocess.CompletedProcess:
    """Run pip on the environment of interpreter ``python``; a ContractError shows pip's output."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check",
         *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise ContractError(f"pip {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


# -- pytest fixtures --------------------------------------------------------------------------


class Checks:
    """The checks of this module with run folders under one folder (a test's ``tmp_path``)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self._count = 0

    def _folder(self, label: str) -> Path:
        self._count += 1
        return self.workdir / f"{label}-{self._count}"

    def model(self, model: type | str, dataset: type | str, **kwargs: Any) -> ModelCheck:
        """:func:`check_model` with its run folders under the test's folder."""
        return check_model(model, dataset, workdir=self._folder("check-model"), **kwargs)

    def recipe(self, recipe: str | os.PathLike, **kwargs: Any) -> Recipe:
        """:func:`check_recipe`."""
        return check_recipe(recipe, **kwargs)

    def run(self, recipe: str | os.PathLike, **kwargs: Any) -> Path:
        """:func:`run_recipe` into the test's folder; returns the run folder."""
        return run_recipe(recipe, self._folder("run"), **kwargs)

    def plugin(self, name: str) -> PluginRecord:
        """:func:`check_plugin`."""
        return check_plugin(name)


@pytest.fixture
def labcore_check(tmp_path: Path) -> Checks:
    """Checks bound to ``tmp_path``: ``labcore_check.model(MyModel, MyData)``, ``.recipe(path)``,
    ``.run(path)``, ``.plugin(name)``."""
    return Checks(tmp_path)


@pytest.fixture
def labcore_cli() -> Any:
    """``labcore_cli("run", recipe, "--out", tmp_path, check=0)``: the command line, as a user
    runs it, in a subprocess (returns the ``CompletedProcess``)."""
    return run_cli
