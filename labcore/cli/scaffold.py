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

The files are templates in ``labcore/plugin-template/`` (see :data:`TEMPLATES`); this module
holds the logic: the names derived from NAME, their checks, and writing without overwriting.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import keyword
import re
import shlex
from collections.abc import Iterator
from importlib import resources
from importlib.resources.abc import Traversable
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

TEMPLATES = "plugin-template"
"""The package's files, shipped with labcore in ``labcore/plugin-template/``.

Each ``FILE.tmpl`` there becomes ``FILE`` in the new package. Its path and its text are
:class:`string.Template` s: ``${package}``, ``${dist}``, ``${model}``, ``${dataset}``,
``${recipe}``, ``${api}`` and ``${labcore_version}`` are replaced (a literal ``$`` is ``$$``).
"""

TEMPLATE_SUFFIX = ".tmpl"


def template_files() -> dict[str, str]:
    """The templates, relative path (itself a template) -> text, in the order they are written.

    Read with :mod:`importlib.resources`, so they are found in an installed wheel as in the
    source tree. A folder's files come before its subfolders, each in name order.
    """
    return dict(_templates_in(resources.files("labcore").joinpath(TEMPLATES), ""))


def _templates_in(folder: Traversable, prefix: str) -> Iterator[tuple[str, str]]:
    entries = sorted(folder.iterdir(), key=lambda entry: entry.name)
    for entry in entries:
        if entry.is_file() and entry.name.endswith(TEMPLATE_SUFFIX):
            path = prefix + entry.name.removesuffix(TEMPLATE_SUFFIX)
            yield path, entry.read_text(encoding="utf-8")
    for entry in entries:
        if entry.is_dir() and entry.name != "__pycache__":
            yield from _templates_in(entry, f"{prefix}{entry.name}/")


def render(names: PluginNames) -> dict[str, str]:
    """The new package's files, relative path -> text."""
    values = {
        **dataclasses.asdict(names),
        "api": str(labcore.PLUGIN_API_VERSION),
        "labcore_version": labcore.__version__,
    }
    return {
        Template(path).substitute(values): Template(text).substitute(values)
        for path, text in template_files().items()
    }


def write_plugin(target: Path, names: PluginNames) -> list[Path]:
    """Write the package into the new folder ``target``; FileExistsError if it exists."""
    target.mkdir(parents=True, exist_ok=False)
    written = []
    for relative, text in render(names).items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
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
