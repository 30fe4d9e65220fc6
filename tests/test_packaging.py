"""What pyproject.toml installs: every package of the tree, and every bundled recipe once."""

import tomllib
from pathlib import Path

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
