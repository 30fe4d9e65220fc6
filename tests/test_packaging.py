"""What pyproject.toml installs: every package of the tree, every bundled recipe once, and the
files `labcore new-plugin` writes."""

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from labcore.cli.scaffold import PluginNames, render
from labcore.plugins import PluginManager

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_ROOTS = {
    "labcore": ROOT / "labcore",
    "labcore_builtins": ROOT / "plugins" / "labcore_builtins",
}


def tree_packages() -> set[str]:
    found = {"labcore_builtins.recipes"} if (ROOT / "recipes" / "__init__.py").is_file() else set()
    for name, folder in PACKAGE_ROOTS.items():
        for init in folder.rglob("__init__.py"):
            if "__pycache__" not in init.parts:
                parts = init.parent.relative_to(folder).parts
                found.add(".".join((name, *parts)))
    return found


def test_pyproject_lists_every_package_of_the_tree():
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert sorted(listed) == sorted(tree_packages())


def test_every_bundled_recipe_is_announced_by_a_family():
    manager = PluginManager()
    announced = [p.resolve() for p, record in manager.recipes.values()
                 if record.name in {"classifier", "gan", "graph", "sequence", "vae"}]
    recipes = (ROOT / "recipes").glob("*.toml")
    files = sorted(p.resolve() for p in recipes if not p.name.endswith(".space.toml"))
    assert sorted(announced) == files


def test_the_wheel_ships_the_new_plugin_templates(tmp_path):
    # `labcore new-plugin` reads its templates with importlib.resources from the installed package
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in ("labcore", "plugins", "recipes"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "-w", str(tmp_path / "dist"), str(source)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("labcore-*.whl")
    templates = sorted((ROOT / "labcore" / "plugin-template").rglob("*.tmpl"))
    assert len(templates) == len(render(PluginNames.from_name("my-flow")))
    with zipfile.ZipFile(wheel) as archive:
        shipped = {
            name: archive.read(name)
            for name in archive.namelist()
            if name.startswith("labcore/plugin-template/")
        }
    assert shipped == {p.relative_to(ROOT).as_posix(): p.read_bytes() for p in templates}
