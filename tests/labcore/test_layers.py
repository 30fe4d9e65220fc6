"""labcore's layers: every module imports alone, the import graph has no cycle, each layer package
imports only the layers below it (as its docstring says), and the old paths of moved modules
still import, as the modules they moved to."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import labcore
from labcore.moved import MOVED

PACKAGE = Path(labcore.__file__).parent

#: The layer packages, lowest first; a module may import its own layer and those before it. The
#: top-level modules (the contract, the host and what plugins import) are the lowest layer.
LAYERS = [
    "labcore",
    "labcore.recipes",
    "labcore.features",
    "labcore.metrics",
    "labcore.train",
    "labcore.report",
    "labcore.sweeps",
    "labcore.cli",
]
#: Top-level modules of the interface: they may import every layer.
INTERFACE = {"labcore.__main__", "labcore.testing"}
#: The top-level modules in their own order: the contract, the host, what every layer shares.
TOP_LEVEL = [
    {"labcore", "labcore.components", "labcore.schema", "labcore.data", "labcore.model",
     "labcore.run", "labcore.hookspecs", "labcore.moved"},
    {"labcore.plugins"},
    {"labcore.runfolder", "labcore.checkpoint", "labcore.distributed", "labcore.measurement",
     "labcore.images", "labcore.points"},
]  # fmt: skip


def module_names() -> dict[str, Path]:
    names = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


MODULES = module_names()


def imported_modules(name: str, path: Path) -> set[str]:
    """The labcore modules ``name`` imports anywhere: at the top, in functions and for type
    checking alone (a cycle through any of them is a cycle to a reader)."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


GRAPH = {name: imported_modules(name, path) for name, path in MODULES.items()}


def layer(name: str) -> str:
    """The layer package of module ``name``: ``labcore`` for the top-level modules."""
    package = ".".join(name.split(".")[:2])
    return package if package in LAYERS else "labcore"


def test_the_import_graph_has_no_cycle():
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for target in sorted(GRAPH[name]):
            if state.get(target) == 1:
                cycle = path[path.index(target) :] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[name] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)


def test_each_layer_imports_only_the_layers_below_it():
    upward = [
        f"{name} ({layer(name)}) imports {target} ({layer(target)})"
        for name in sorted(GRAPH)
        if name not in INTERFACE
        for target in sorted(GRAPH[name])
        if LAYERS.index(layer(target)) > LAYERS.index(layer(name))
    ]
    assert not upward, "\n".join(upward)


def test_the_top_level_modules_are_the_contract_the_host_and_what_every_layer_shares():
    top = {name for name in MODULES if layer(name) == "labcore"} - INTERFACE
    assert top == set().union(*TOP_LEVEL), "a new top-level module: give it its place in TOP_LEVEL"
    rank = {name: i for i, group in enumerate(TOP_LEVEL) for name in group}
    upward = [
        f"{name} imports {target}"
        for name in sorted(top)
        for target in sorted(GRAPH[name])
        if target in rank and rank[target] > rank[name]
    ]
    assert not upward, "\n".join(upward)


def test_each_layer_package_says_its_job_and_what_it_may_import():
    for package in LAYERS[1:]:
        doc = importlib.import_module(package).__doc__ or ""
        assert "May import" in doc, f"{package}'s docstring should say what it may import"


def raw_imports(path: Path) -> set[str]:
    """Every absolute module path ``path`` imports, as written."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_nothing_in_labcore_imports_a_moved_module_by_its_old_path():
    assert not set(MOVED) & set(MODULES), "an old path is a module again"
    assert all(new in MODULES for new in MOVED.values())
    old_paths = [
        f"{name} imports {imported}"
        for name, path in MODULES.items()
        for imported in sorted(raw_imports(path))
        if imported in MOVED
    ]
    assert not old_paths, "\n".join(old_paths)


def test_every_module_imports_alone():
    """Each module in a fresh set of labcore modules (torch and the rest stay loaded, so that
    this takes seconds): an import that only works after another labcore module fails here.
    ``labcore.__main__`` is left out: importing it runs the command line."""
    script = (
        "import importlib, sys\n"
        "import torch\n"
        f"names = {sorted(set(MODULES) - {'labcore.__main__'})!r}\n"
        "failed = []\n"
        "for name in names:\n"
        "    for loaded in [m for m in sys.modules if m.split('.')[0] == 'labcore']:\n"
        "        del sys.modules[loaded]\n"
        "    sys.meta_path[:] = [f for f in sys.meta_path\n"
        "                        if type(f).__module__ != 'labcore.moved']\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        failed.append(f'{name}: {type(exc).__name__}: {exc}')\n"
        "print('\\n'.join(failed))\n"
        "sys.exit(1 if failed else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_path_imports_the_moved_module_with_a_warning(old):
    with pytest.warns(DeprecationWarning, match=MOVED[old].replace(".", r"\.")):
        module = importlib.import_module(old) if old not in sys.modules else None
        if module is None:  # imported by an earlier test in this process: import it afresh
            del sys.modules[old]
            module = importlib.import_module(old)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert module is importlib.import_module(MOVED[old])
    assert module.__spec__.name == MOVED[old]
