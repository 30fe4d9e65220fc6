"""``labcore new-plugin NAME``: write a new, pip-installable plugin package to start from.

The package holds a working model (a small VAE), a dataset (two moons), a recipe, a README and
tests that use :mod:`labcore.testing`. After ``pip install -e DIR`` the plugin is listed by
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
            model=slug,
            dataset=f"{slug}-moons",
            recipe=f"{slug}-moons",
        )


def name_clashes(names: PluginNames, manager: PluginManager) -> list[str]:
    """What an installed plugin or importable module already calls by one of ``names``."""
    clashes = []
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

A [labcore](https://pypi.org/project/labcore/) plugin. It adds the model `${model}` (a small
variational autoencoder), the dataset `${dataset}` (two moons, 2-D points) and the recipe
`${recipe}`.

## Install, run, test

```bash
pip install -e .            # from this folder; labcore must be installed
labcore plugins             # lists ${package} and its components
labcore run ${recipe}       # trains the model; outputs/${recipe}/<timestamp>/
pytest                      # contract checks with labcore.testing
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
from ${package}.model import VAE

# The labcore plugin API this plugin is written for; labcore refuses it, with a clear message,
# when it provides another one.
LABCORE_PLUGIN_API = ${api}

RECIPES = Path(__file__).parent / "recipes"


@labcore.hookimpl
def labcore_models() -> list[type]:
    return [VAE]


@labcore.hookimpl
def labcore_datasets() -> list[type]:
    return [Moons]


@labcore.hookimpl
def labcore_recipes() -> list[Path]:
    return sorted(RECIPES.glob("*.toml"))
'''

MODEL = '''\
"""The ${model} model: a small variational autoencoder for vectors, to replace by your own."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import labcore
import torch
from torch import nn


@dataclasses.dataclass
class VAEConfig:
    """The hyperparameters: a recipe's [model] section is validated against these fields."""

    z_dim: int = labcore.hp(2, "latent dimension")
    hidden: int = labcore.hp(64, "width of the hidden layers")
    beta: float = labcore.hp(1.0, "weight of the KL term (1: the evidence lower bound)")

    def __post_init__(self) -> None:
        if self.z_dim < 1 or self.hidden < 1:
            raise ValueError("z_dim and hidden must be positive")


class VAE(labcore.Model):
    """Variational autoencoder (Kingma and Welling 2014) with a unit-variance Gaussian decoder.

    The encoder maps ``x`` to ``q(z|x) = N(mu, diag(sigma^2))``; the training loss is the
    negative evidence lower bound (eq. 10 of the paper, the reconstruction term up to a
    constant), with ``z = mu + sigma * eps``, ``eps ~ N(0, I)`` (the reparameterisation trick)::

        L = ||x - dec(z)||^2 / 2 + beta * KL(q(z|x) || N(0, I))

    Batches: ``{"x": (N, *shape)}``. Samples: ``dec(z)``, ``z ~ N(0, I)``, shape
    ``(n, *shape)`` where ``shape`` is the data's ``info["shape"]``.
    """

    name = "${model}"
    Config = VAEConfig

    def __init__(self, config: VAEConfig, info: dict[str, Any]) -> None:
        super().__init__(config, info)
        self.shape = tuple(info["shape"])
        features = math.prod(self.shape)
        hidden, z_dim = config.hidden, config.z_dim
        self.encoder = nn.Sequential(
            nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, 2 * z_dim)
        )
        self.decoder = nn.Sequential(
            nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, features)
        )

    def losses(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean reconstruction term and mean KL divergence over a batch ``x`` ``(N, *shape)``."""
        x = x.flatten(1)
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        recon = 0.5 * (self.decoder(z) - x).pow(2).sum(1).mean()
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()
        return recon, kl

    def configure_optimizers(self, make: Any) -> dict[str, torch.optim.Optimizer]:
        # One optimizer, "main", built from the recipe's [optimizer] section. A GAN returns two:
        # {"generator": make("generator", ...), "discriminator": make("discriminator", ...)}.
        return {"main": make("main", self.parameters())}

    def training_step(self, batch: dict[str, torch.Tensor], ctx: Any) -> dict[str, Any]:
        recon, kl = self.losses(batch["x"])
        loss = recon + self.config.beta * kl
        ctx.step("main", loss)  # the trainer zeroes, backpropagates, clips and steps "main"
        return {"loss": loss.detach(), "recon": recon.detach(), "kl": kl.detach()}

    def evaluate(self, split: Any, ctx: Any) -> dict[str, float]:
        total, count = 0.0, 0
        for batch in ctx.batches(split):
            recon, kl = self.losses(batch["x"])
            total += float(recon + kl) * len(batch["x"])
            count += len(batch["x"])
        return {"neg_elbo": total / count}

    def sample(
        self, n: int, *, generator: torch.Generator, condition: torch.Tensor | None = None
    ) -> torch.Tensor:
        z = torch.randn(n, self.config.z_dim, generator=generator, device=generator.device)
        return self.decoder(z.to(self.decoder[0].weight.device)).view(n, *self.shape)

    def sample_grid(self, generator: torch.Generator, bundle: Any) -> Any:
        # The periodic sample grid shows images; samples of other data (here 2-D points) have none.
        return super().sample_grid(generator, bundle) if len(self.shape) == 3 else None
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
# A small VAE on two moons (${dist})
[data]
name = "${dataset}"

[model]
name = "${model}"
z_dim = 2

[optimizer]
name = "adam"
lr = 1e-3

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
from ${package}.model import VAE
from ${package}.plugin import RECIPES

RECIPE = RECIPES / "${recipe}.toml"
TINY = {"train_size": 64, "val_size": 32, "test_size": 32}


def test_model_honours_the_contract(tmp_path):
    # trains, resumes exactly from a checkpoint, evaluates and samples the declared shape
    result = check_model(VAE, Moons, dataset_overrides=TINY, workdir=tmp_path)
    assert result.samples.shape == (8, 2)
    assert math.isfinite(result.metrics["test/neg_elbo"])


def test_recipe_validates_and_runs(tmp_path):
    recipe = check_recipe(RECIPE, components=[VAE, Moons])
    assert recipe.model_cls is VAE and recipe.dataset_cls is Moons
    run = run_recipe(RECIPE, tmp_path, steps=2, components=[VAE, Moons])
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
    click.echo("next:")
    click.echo(f"  pip install -e {target}      # then `labcore plugins` lists {names.package}")
    click.echo(f"  labcore run {names.recipe}")
    click.echo(f"  pytest {target}")
