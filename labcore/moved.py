"""The old import paths of the modules that moved into labcore's layer packages, kept for one
release: ``import labcore.trainer`` still gives :mod:`labcore.train.trainer` (the same module
object), with a DeprecationWarning naming the new path. Removed in labcore 0.3.

The table is the one place that knows the old paths; nothing imports a moved module by its old
name (tests/labcore/test_layers.py checks both).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings

#: Old module path -> new module path.
MOVED = {
    "labcore.recipe": "labcore.recipes.recipe",
    "labcore.recipe_paths": "labcore.recipes.paths",
    "labcore.recipe_docs": "labcore.recipes.docs",
    "labcore.optim": "labcore.recipes.optim",
    "labcore.metrics.config": "labcore.recipes.evaluate",
    "labcore.trainer": "labcore.train.trainer",
    "labcore.monitor": "labcore.train.monitor",
    "labcore.batching": "labcore.train.batching",
    "labcore.preflight": "labcore.train.preflight",
    "labcore.interrupts": "labcore.train.interrupts",
    "labcore.lock": "labcore.train.lock",
    "labcore.dry_run": "labcore.train.dry_run",
    "labcore.sweep": "labcore.sweeps.sweep",
    "labcore.sweep_report": "labcore.sweeps.report",
    "labcore.evaluation": "labcore.train.evaluation",
    "labcore.logs": "labcore.report.logs",
    "labcore.sampling": "labcore.report.sampling",
    "labcore.provenance": "labcore.report.provenance",
    "labcore.plots": "labcore.report.plots",
    "labcore.markup": "labcore.report.markup",
    "labcore.run_sections": "labcore.report.run_sections",
    "labcore.evaluation_sections": "labcore.report.evaluation_sections",
    "labcore.compare": "labcore.report.compare",
    "labcore.runs": "labcore.report.listing",
    "labcore.cli_options": "labcore.cli.options",
    "labcore.report_cli": "labcore.cli.report",
    "labcore.sweep_cli": "labcore.cli.sweep",
    "labcore.summary": "labcore.cli.summary",
    "labcore.scaffold": "labcore.cli.scaffold",
}


class _Alias(importlib.abc.Loader):
    """Loads an old path as the module at its new path."""

    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = importlib.import_module(self.new)
        self.spec = module.__spec__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run (the module at the new path is imported): only give it back its own
        spec, which the import system replaced by the old path's."""
        module.__spec__ = self.spec


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds the old paths of :data:`MOVED`, warning that they moved."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        new = MOVED.get(fullname)
        if new is None:
            return None
        warnings.warn(
            f"{fullname} moved to {new}: import it from there (the old path goes in labcore 0.3)",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.machinery.ModuleSpec(fullname, _Alias(new))


def install() -> None:
    """Make the old paths importable (once per interpreter)."""
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
