"""``labcore new-plugin NAME``: write a new, pip-installable plugin package to start from.

The package holds a working model (a Gaussian mixture, the smallest generative model, neutral
whatever the plugin is for), a dataset (two moons), a recipe, a README and tests that use
:mod:`labcore.testing`. After ``pip install -e DIR`` the plugin is listed by
``labcore plugins`` and ``labcore run NAME-moons`` trains its model::

    DIR/
      pyproject.toml            entry point [project.entry-points.labcore]
      README.md
      <package>/__init__.py
      <package>/plugin.py       the hooks: models, datasets, recipes
      <package>/model.py        the model component
      <package>/data.py         the dataset component
      <package>/recipes/NAME-moons.toml
      tests/test_<package>.py   contract checks with labcore.testing
"""

from __future__ import annotations

import dataclasses
import importlib.util
import keyword
import re
import shlex
from pathlib import Path
from string import Template

import click

import labcore
from labcore.plugins import PluginManager, get_manager

NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)*")


@dataclasses.dataclass(frozen=True)
class PluginNames:
    """The names a new plugin uses: distribution, import package, components and recipe."""

    dist: str
    package: str
    model: str
    dataset: str
    recipe: str

    @classmethod
    def from_name(cls, name: str) -> PluginNames:
        """Names derived from NAME; a ValueError says what is wrong with NAME."""
        if not NAME_PATTERN.fullmatch(name):
            raise ValueError(
                f"{name!r} is not a valid plugin name: use letters, digits and single - _ or . "
                "between them, starting with a letter (e.g. my-gan)"
            )
        package = re.sub(r"[-.]", "_", name).lower()
        if keyword.iskeyword(package):
            raise ValueError(f"{name!r} is a Python keyword; choose another name")
        slug = package.replace("_", "-")
        return cls(
            dist=name,
            package=package,
            model=f"{slug}-mixture",
            dataset=f"{slug}-moons",
            recipe=f"{slug}-moons",
        )


def name_clashes(names: PluginNames, manager: PluginManager) -> list[str]:
    """What an installed plugin or importable module already calls by one of ``names``."""
    clashes = []
    if names.package in {record.name for record in manager.records}:
        clashes.append(f"a plugin named {names.package!r} is already installed")
    if importlib.util.find_spec(names.package) is not None:
        clashes.append(f"a module named {names.package!r} is already importable")
    if names.model in manager.names("model"):
        clashes.append(
            f"model {names.model!r} is provided by plugin "
            f"{manager.provider('model', names.model).name!r}"
        )
    if names.dataset in manager.names("dataset"):
        clashes.append(
            f"dataset {names.dataset!r} is provided by plugin "
            f"{manager.provider('dataset', names.dataset).name!r}"
        )
    if names.recipe in manager.recipes:
        clashes.append(
            f"recipe {names.recipe!r} is shipped by plugin "
            f"{manager.recipes[names.recipe][1].name!r}"
        )
    return clashes


# -- the files --------------------------------------------------------------------------------

PYPROJECT = """\
[build-system]
requires = ["setuptools>=70.1"]
build-backend = "setuptools.build_meta"

[project]
name = "${dist}"
version = "0.1.0"
description = "A labcore plugin: the ${model} model and the ${dataset} dataset"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["labcore>=${labcore_version}"]

[project.optional-dependencies]
test = ["pytest>=8"]

# labcore finds the plugin through this entry point: name = "module with the hooks"
[project.entry-points.labcore]
${package} = "${package}.plugin"

[tool.setuptools.packages.find]
include = ["${package}", "${package}.*"]

[tool.setuptools.package-data]
${package} = ["recipes/*.toml"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

README = """\
# ${dist}

A [labcore](https://pypi.org/project/labcore/) plugin. It adds the model `${model}` (a Gaussian
mixture fitted by gradient descent, a starting point to replace by your own model), the dataset
`${dataset}` (two moons, 2-D points) and the recipe `${recipe}`.

## Install, run, test

```bash
pip install -e '.[test]'    # from this folder, in labcore's environment; [test] adds pytest
labcore plugins             # lists ${package} and its components
labcore run ${recipe}       # trains the model; outputs/${recipe}/<timestamp>/
python -m pytest            # contract checks with labcore.testing
```

## Layout

| file | what |
| --- | --- |
| `pyproject.toml` | the package; its `labcore` entry point makes labcore load `${package}.plugin` |
| `${package}/plugin.py` | the hooks: `labcore_models`, `labcore_datasets`, `labcore_recipes` |
| `${package}/model.py` | the model component: `Config`, `training_step`, `evaluate`, `sample` |
| `${package}/data.py` | the dataset component: `Config`, `load()` returning a `DataBundle` |
| `${package}/recipes/${recipe}.toml` | the recipe `labcore run ${recipe}` runs |
| `tests/test_${package}.py` | checks with `labcore.testing` |

Replace the model and the dataset with your own; `labcore plugins --verbose` shows their
hyperparameters, and labcore's `docs/plugins.md` describes every hook and the model contract.
"""

INIT = '''\
"""${dist}: a labcore plugin with the ${model} model and the ${dataset} dataset."""

__version__ = "0.1.0"
'''

PLUGIN = '''\
"""Registers ${dist}'s components and recipes with labcore.

pyproject.toml names this module in the entry-point group ``labcore``; labcore calls each
``@labcore.hookimpl`` function below once when it builds its registry.
"""

from pathlib import Path

import labcore

from ${package}.data import Moons
from ${package}.model import Mixture

# The labcore plugin API this plugin is written for; labcore refuses it, with a clear message,
# when it provides another one.
LABCORE_PLUGIN_API = ${api}

RECIPES = Path(__file__).parent / "recipes"


@labcore.hookimpl
def labcore_models() -> list[type]:
    return [Mixture]


@labcore.hookimpl
def labcore_datasets() -> list[type]:
    return [Moons]


@labcore.hookimpl
def labcore_recipes() -> list[Path]:
    return sorted(RECIPES.glob("*.toml"))
'''

MODEL = '''\
"""The ${model} model: a Gaussian mixture fitted by gradient descent, to replace by your own."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import labcore
import torch
from torch import nn


@dataclasses.dataclass
class MixtureConfig:
    """The hyperparameters: a recipe's [model] section is validated against these fields."""

    components: int = labcore.hp(16, "number of mixture components K")
    init_scale: float = labcore.hp(1.0, "standard deviation of the initial means")

    def __post_init__(self) -> None:
        if self.components < 1:
            raise ValueError("components must be positive")


class Mixture(labcore.Model):
    """Gaussian mixture with diagonal covariances (Bishop 2006, eq. 9.7)::

        p(x) = sum_k pi_k N(x; mu_k, diag(sigma_k^2))

    trained by minimising the negative log-likelihood ``-mean log p(x)`` of each batch: the
    smallest generative model, a starting point for yours. Batches: ``{"x": (N, D)}``.
    Samples: ``(n, D)``.
    """

    name = "${model}"
    Config = MixtureConfig

    def __init__(self, config: MixtureConfig, info: dict[str, Any]) -> None:
        super().__init__(config, info)
        (dim,) = info["shape"]
        k = config.components
        self.logits = nn.Parameter(torch.zeros(k))
        self.means = nn.Parameter(config.init_scale * torch.randn(k, dim))
        self.log_scales = nn.Parameter(torch.zeros(k, dim))

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """``log p(x)``: ``(N, D)`` -> ``(N,)``."""
        z = (x[:, None, :] - self.means) / self.log_scales.exp()  # (N, K, D)
        log_normal = -0.5 * (z**2 + math.log(2 * math.pi)).sum(-1) - self.log_scales.sum(-1)
        return torch.logsumexp(self.logits.log_softmax(0) + log_normal, dim=1)

    def configure_optimizers(self, make: Any) -> dict[str, torch.optim.Optimizer]:
        # One optimizer, "main", built from the recipe's [optimizer] section. A GAN returns two:
        # {"generator": make("generator", ...), "discriminator": make("discriminator", ...)}.
        return {"main": make("main", self.parameters())}

    def training_step(self, batch: dict[str, torch.Tensor], ctx: Any) -> dict[str, Any]:
        loss = -self.log_prob(batch["x"]).mean()
        ctx.step("main", loss)  # the trainer zeroes, backpropagates, clips and steps "main"
        return {"nll": loss.detach()}

    def evaluate(self, split: Any, ctx: Any) -> dict[str, float]:
        total, count = 0.0, 0
        for batch in ctx.batches(split):
            total -= float(self.log_prob(batch["x"]).sum())
            count += len(batch["x"])
        return {"nll": total / count}

    def sample(
        self, n: int, *, generator: torch.Generator, condition: torch.Tensor | None = None
    ) -> torch.Tensor:
        if condition is not None:
            raise ValueError(f"model {self.name!r} is unconditional; sample it without a condition")
        k = torch.multinomial(self.logits.softmax(0), n, replacement=True, generator=generator)
        noise = torch.randn(n, self.means.shape[1], generator=generator, device=generator.device)
        return self.means[k] + self.log_scales.exp()[k] * noise.to(self.means.device)

    def sample_grid(self, generator: torch.Generator, bundle: Any) -> Any:
        return None  # points, not images: no periodic sample grids
'''

DATA = '''\
"""The ${dataset} dataset: two interleaving half circles in the plane, made on the fly."""

from __future__ import annotations

import dataclasses
import math

import labcore
import torch


@dataclasses.dataclass
class MoonsConfig:
    """The hyperparameters: a recipe's [data] section is validated against these fields."""

    train_size: int = labcore.hp(2000, "points in the train split")
    val_size: int = labcore.hp(500, "points in the val split")
    test_size: int = labcore.hp(500, "points in the test split")
    noise: float = labcore.hp(0.05, "standard deviation of the Gaussian noise")
    split_seed: int = labcore.hp(0, "seed of the draw: the same seed gives the same data")

    def __post_init__(self) -> None:
        if min(self.train_size, self.val_size, self.test_size) < 1:
            raise ValueError("train_size, val_size and test_size must be positive")


class Moons(labcore.Dataset):
    """Two moons (as scikit-learn's make_moons): 2-D points ``x`` and their moon ``y`` (0 or 1)."""

    name = "${dataset}"
    Config = MoonsConfig

    def load(self) -> labcore.DataBundle:
        c = self.config
        generator = torch.Generator().manual_seed(c.split_seed)
        n = c.train_size + c.val_size + c.test_size
        y = torch.randint(0, 2, (n,), generator=generator)
        angle = torch.rand(n, generator=generator) * math.pi
        upper = torch.stack([angle.cos(), angle.sin()], dim=1)
        lower = torch.stack([1 - angle.cos(), 0.5 - angle.sin()], dim=1)
        x = torch.where(y[:, None] == 0, upper, lower)
        x = x + c.noise * torch.randn(n, 2, generator=generator)
        ends = [0, c.train_size, c.train_size + c.val_size, n]
        splits = {
            split: labcore.TensorSplit(x=x[start:end], y=y[start:end])
            for split, start, end in zip(("train", "val", "test"), ends, ends[1:])
        }
        return labcore.DataBundle(splits, info={"shape": (2,), "num_classes": 2})
'''

RECIPE = """\
# A Gaussian mixture of 16 components fitted to two moons (${dist}).
[data]
name = "${dataset}"

[model]
name = "${model}"
components = 16

[optimizer]
name = "adam"
lr = 0.05

[train]
max_steps = 2000
batch_size = 128
log_every = 100
eval_every = 500
"""

TEST = '''\
"""Contract checks of ${dist} with labcore's test kit (labcore.testing)."""

import math

from labcore.testing import check_model, check_plugin, check_recipe, run_recipe

from ${package}.data import Moons
from ${package}.model import Mixture
from ${package}.plugin import RECIPES

RECIPE = RECIPES / "${recipe}.toml"
TINY = {"train_size": 64, "val_size": 32, "test_size": 32}


def test_model_honours_the_contract(tmp_path):
    # trains, resumes exactly from a checkpoint, evaluates and samples the declared shape
    result = check_model(Mixture, Moons, dataset_overrides=TINY, workdir=tmp_path)
    assert result.samples.shape == (8, 2)
    assert math.isfinite(result.metrics["test/nll"])


def test_recipe_validates_and_runs(tmp_path):
    recipe = check_recipe(RECIPE, components=[Mixture, Moons])
    assert recipe.model_cls is Mixture and recipe.dataset_cls is Moons
    run = run_recipe(RECIPE, tmp_path, steps=2, components=[Mixture, Moons])
    assert (run / "checkpoints" / "last.pt").is_file()


def test_plugin_is_installed():
    # needs `pip install -e .`: labcore finds the plugin through its entry point
    record = check_plugin("${package}")
    assert record.components == {"model": ["${model}"], "dataset": ["${dataset}"]}
'''

FILES = {
    "pyproject.toml": PYPROJECT,
    "README.md": README,
    "${package}/__init__.py": INIT,
    "${package}/plugin.py": PLUGIN,
    "${package}/model.py": MODEL,
    "${package}/data.py": DATA,
    "${package}/recipes/${recipe}.toml": RECIPE,
    "tests/test_${package}.py": TEST,
}


def render(names: PluginNames) -> dict[str, str]:
    """The new package's files, relative path -> text."""
    values = {
        **dataclasses.asdict(names),
        "api": str(labcore.PLUGIN_API_VERSION),
        "labcore_version": labcore.__version__,
    }
    return {
        Template(path).substitute(values): Template(text).substitute(values)
        for path, text in FILES.items()
    }


def write_plugin(target: Path, names: PluginNames) -> list[Path]:
    """Write the package into the new folder ``target``; FileExistsError if it exists."""
    target.mkdir(parents=True, exist_ok=False)
    written = []
    for relative, text in render(names).items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


@click.command("new-plugin")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder to create for the package (default: ./NAME). It must not exist.",
)
def new_plugin(name: str, directory: Path | None) -> None:
    """Write a new plugin package NAME: a model, a dataset, a recipe, tests and a README.

    The package is pip-installable: after `pip install -e DIR` it is listed by `labcore plugins`
    and `labcore run NAME-moons` trains its model. Existing folders are never overwritten.
    """
    try:
        names = PluginNames.from_name(name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from None
    target = directory if directory is not None else Path(name)
    if target.exists():
        raise click.UsageError(
            f"{target} already exists; new-plugin never overwrites: remove it or pass another --dir"
        )
    clashes = name_clashes(names, get_manager())
    if clashes:
        raise click.UsageError(f"plugin name {name!r} is taken: {'; '.join(clashes)}")
    try:
        files = write_plugin(target, names)
    except FileExistsError:
        raise click.UsageError(f"{target} already exists; new-plugin never overwrites") from None
    click.echo(f"created the labcore plugin {names.dist} in {target}/:")
    for path in files:
        click.echo(f"  {path.relative_to(target)}")
    click.echo("next, in the environment labcore is installed in:")
    for command, why in next_steps(target, names):
        click.echo(f"  {command.ljust(44)}# {why}")


def next_steps(target: Path, names: PluginNames) -> list[tuple[str, str]]:
    """The commands that install, list, run and test the new package, with what each does."""
    return [
        (f"pip install -e {shlex.quote(f'{target}[test]')}", "the package and pytest"),
        ("labcore plugins", f"lists {names.package} and its components"),
        (f"labcore run {names.recipe}", "trains the model on the recipe it ships"),
        (f"python -m pytest {shlex.quote(str(target))}", "its tests, with labcore.testing"),
    ]
