"""The plugin manager: discovery, validation, failure isolation and the component registry.

Plugins come from the entry-point group ``labcore`` and from a local folder of modules
(``--plugins-dir`` / ``LABCORE_PLUGINS_DIR``). A plugin that fails to import, declares an
incompatible plugin API, implements an unknown hook or a hook with wrong argument names, whose hook
raises, or whose component is invalid is recorded as broken with one line naming it and the problem;
every other plugin keeps working.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from labcore import PLUGIN_API_VERSION, hookspecs
from labcore.components import KINDS
from labcore.schema import check_schema, closest

ENTRY_POINT_GROUP = "labcore"
PLUGINS_DIR_ENV = "LABCORE_PLUGINS_DIR"

REGISTRATION_HOOKS = {
    "model": "labcore_models",
    "dataset": "labcore_datasets",
    "metric": "labcore_metrics",
    "feature_extractor": "labcore_feature_extractors",
}


class PluginError(Exception):
    """A component cannot be found or is claimed by several plugins."""


@dataclasses.dataclass
class PluginRecord:
    """One plugin as the host sees it."""

    name: str
    origin: str
    module: Any = None
    problems: list[str] = dataclasses.field(default_factory=list)
    components: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    @property
    def broken(self) -> bool:
        return bool(self.problems)


@dataclasses.dataclass
class Claim:
    cls: type
    plugin: PluginRecord


class PluginManager:
    """Loads plugins and answers which component provides which name."""

    def __init__(self, plugins_dir: str | os.PathLike | None = None) -> None:
        self.pm = pluggy.PluginManager("labcore")
        self.pm.add_hookspecs(hookspecs)
        self.records: list[PluginRecord] = []
        self.claims: dict[str, dict[str, Claim]] = {kind: {} for kind in KINDS}
        self.recipes: dict[str, tuple[Path, PluginRecord]] = {}
        self._load_entry_points()
        folder = plugins_dir if plugins_dir is not None else os.environ.get(PLUGINS_DIR_ENV)
        if folder:
            self._load_folder(Path(folder))
        self._collect_components()
        self._collect_recipes()

    # -- loading ------------------------------------------------------------------------------

    def _load_entry_points(self) -> None:
        seen = set()

        def builtin_first(ep: importlib.metadata.EntryPoint) -> tuple[bool, str]:
            return (ep.dist is None or ep.dist.name != "labcore", ep.name)

        for ep in sorted(
            importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=builtin_first
        ):
            dist = ep.dist
            origin = f"{dist.name} {dist.version}" if dist is not None else "entry point"
            if (ep.name, ep.value) in seen:
                continue
            seen.add((ep.name, ep.value))
            record = PluginRecord(name=ep.name, origin=origin)
            try:
                module = ep.load()
            except (Exception, SystemExit) as exc:  # sys.exit() in a plugin ends no command
                record.problems.append(f"failed to import {ep.value}: {_one_line(exc)}")
                self.records.append(record)
                continue
            self._register(record, module)

    def _load_folder(self, folder: Path) -> None:
        if not folder.is_dir():
            self.records.append(
                PluginRecord(
                    name=str(folder),
                    origin="plugins folder",
                    problems=[f"plugins folder {folder} does not exist"],
                )
            )
            return
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_"):
                continue
            record = PluginRecord(name=path.stem, origin=str(path))
            module_name = f"labcore_local_plugins.{path.stem}"
            try:
                spec = importlib.util.spec_from_file_location(module_name, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[module_name] = module
                spec.loader.exec_module(module)
            except (Exception, SystemExit) as exc:
                sys.modules.pop(module_name, None)
                record.problems.append(f"failed to import {path}: {_one_line(exc)}")
                self.records.append(record)
                continue
            self._register(record, module)

    def _register(self, record: PluginRecord, module: ModuleType) -> None:
        record.module = module
        self.records.append(record)
        api = getattr(module, "LABCORE_PLUGIN_API", PLUGIN_API_VERSION)
        if api != PLUGIN_API_VERSION:
            record.problems.append(
                f"built for labcore plugin API {api}, but this labcore provides API "
                f"{PLUGIN_API_VERSION}; install a version of the plugin made for it"
            )
            return
        unknown = [
            name
            for name in dir(module)
            if name.startswith("labcore_")
            and callable(getattr(module, name))
            and getattr(getattr(module, name), "labcore_impl", None) is not None
            and not hasattr(self.pm.hook, name)
        ]
        if unknown:
            hooks = [n for n in dir(hookspecs) if n.startswith("labcore_")]
            hints = "; ".join(
                f"{name}: unknown hook"
                + (f", did you mean {guess}?" if (guess := closest(name, hooks)) else "")
                for name in unknown
            )
            record.problems.append(hints)
            return
        try:
            self.pm.register(module, name=record.name)
        except pluggy.PluginValidationError as exc:
            record.problems.append(_one_line(exc))
        except ValueError as exc:
            record.problems.append(_one_line(exc))

    def _call_each(
        self, hook_name: str, errors: list[str] | None = None, **kwargs: Any
    ) -> list[tuple[PluginRecord, Any]]:
        """Call ``hook_name`` on each plugin separately so one failure stays with its plugin.

        A failure marks the plugin broken, unless ``errors`` is given: then the failure is only
        described there (a report section that cannot be made does not disable the plugin).
        """
        by_name = {r.name: r for r in self.records}
        results = []
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            record = by_name[impl.plugin_name]
            if record.broken:
                continue
            try:
                results.append((record, impl.function(**{a: kwargs[a] for a in impl.argnames})))
            except (Exception, SystemExit) as exc:
                message = f"{hook_name}() raised {_one_line(exc)}"
                if errors is None:
                    record.problems.append(message)
                else:
                    errors.append(f"plugin {record.name!r} ({record.origin}): {message}")
        return results

    def _call_listing(self, hook_name: str, **kwargs: Any) -> list[tuple[PluginRecord, list]]:
        """:meth:`_call_each` of a hook that returns a list; another result marks its plugin
        broken rather than breaking every command that lists the hook's results."""
        results = []
        for record, value in self._call_each(hook_name, **kwargs):
            if value is None:
                continue
            if not isinstance(value, (list, tuple)):
                record.problems.append(f"{hook_name}() returned {value!r}, not a list")
                continue
            results.append((record, list(value)))
        return results

    def _collect_components(self) -> None:
        for kind, hook_name in REGISTRATION_HOOKS.items():
            for record, classes in self._call_listing(hook_name):
                for cls in classes:
                    problem = component_problem(kind, cls)
                    if problem is None and cls.name in self.claims[kind]:
                        first = self.claims[kind][cls.name].plugin
                        if first is not record:
                            problem = (
                                f"{kind.replace('_', ' ')} {cls.name!r} is already provided by "
                                f"plugin {first.name!r} ({first.origin}); this one is not used"
                            )
                    if problem:
                        record.problems.append(problem)
                        continue
                    self.claims[kind][cls.name] = Claim(cls, record)
                    record.components.setdefault(kind, []).append(cls.name)

    def _collect_recipes(self) -> None:
        for record, paths in self._call_listing("labcore_recipes"):
            for path in paths:
                if not isinstance(path, (str, os.PathLike)):
                    record.problems.append(f"labcore_recipes() returned {path!r}, not a path")
                    continue
                path = Path(path)
                if path.stem in self.recipes:
                    first = self.recipes[path.stem][1]
                    if first is not record:
                        record.problems.append(
                            f"recipe {path.stem!r} is already shipped by plugin {first.name!r} "
                            f"({first.origin}); this one is not used"
                        )
                    continue
                self.recipes[path.stem] = (path, record)

    # -- queries ------------------------------------------------------------------------------

    def names(self, kind: str) -> list[str]:
        return sorted(self.claims[kind])

    def get(self, kind: str, name: str) -> type:
        """The component class of ``kind`` called ``name``, or a PluginError listing the choices."""
        claim = self.claims[kind].get(name)
        if claim is None:
            available = ", ".join(self.names(kind)) or "(none installed)"
            guess = closest(name, self.claims[kind])
            hint = f" Did you mean {guess!r}?" if guess else ""
            raise PluginError(
                f"unknown {kind.replace('_', ' ')} {name!r}.{hint} Available: {available}"
            )
        return claim.cls

    def provider(self, kind: str, name: str) -> PluginRecord:
        return self.claims[kind][name].plugin

    def cli_commands(self) -> list[tuple[PluginRecord, Any]]:
        return [(r, cmd) for r, cmds in self._call_listing("labcore_cli_commands") for cmd in cmds]

    def report_sections(self, run: Any) -> tuple[list[Any], list[str]]:
        """Every plugin's report sections for ``run``, and a line for each plugin that failed."""
        errors: list[str] = []
        sections = []
        for record, value in self._call_each("labcore_report_sections", errors, run=run):
            if isinstance(value, (list, tuple)):
                sections.extend(value)
            elif value is not None:
                errors.append(
                    f"plugin {record.name!r} ({record.origin}): labcore_report_sections() "
                    f"returned {value!r}, not a list"
                )
        return sections, errors

    @property
    def hook(self) -> EventRelay:
        """Call event hooks: ``manager.hook.labcore_step_end(run=..., step=..., logs=...)``."""
        return EventRelay(self)

    def call_event(self, hook_name: str, **kwargs: Any) -> None:
        """Call an event hook on each plugin separately. A plugin whose hook raises is marked
        broken with a warning line on stderr and not called again; the run goes on."""
        known = {id(r): len(r.problems) for r in self.records}
        self._call_each(hook_name, **kwargs)
        for record in self.records:
            for problem in record.problems[known.get(id(record), 0) :]:
                print(
                    f"labcore: warning: plugin {record.name!r} ({record.origin}): {problem}; "
                    "its hooks are no longer called",
                    file=sys.stderr,
                )

    def problems(self) -> list[str]:
        return [f"plugin {r.name!r} ({r.origin}): {p}" for r in self.records for p in r.problems]


class EventRelay:
    """``relay.labcore_step_end(**kwargs)`` calls :meth:`PluginManager.call_event`."""

    def __init__(self, manager: PluginManager) -> None:
        self._manager = manager

    def __getattr__(self, hook_name: str) -> Any:
        if not hasattr(self._manager.pm.hook, hook_name):
            raise AttributeError(f"no event hook {hook_name!r}")
        return lambda **kwargs: self._manager.call_event(hook_name, **kwargs)


def component_problem(kind: str, cls: Any) -> str | None:
    label = kind.replace("_", " ")
    if not isinstance(cls, type):
        return f"{label} hook returned {cls!r}, not a class"
    name = getattr(cls, "name", "")
    if not isinstance(name, str) or not name:
        return f"{label} {cls.__qualname__} has no 'name'"
    if getattr(cls, "kind", kind) != kind:
        return f"{cls.__qualname__} is a {cls.kind}, returned by the {label} hook"
    try:
        check_schema(getattr(cls, "Config", None))
    except TypeError as exc:
        return f"{label} {name!r}: invalid hyperparameter schema: {exc}"
    return None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<")]
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {text}{where}"


_managers: dict[str | None, PluginManager] = {}


def get_manager(plugins_dir: str | os.PathLike | None = None) -> PluginManager:
    """The process-wide plugin manager for ``plugins_dir`` (created on first use)."""
    key = str(plugins_dir) if plugins_dir is not None else os.environ.get(PLUGINS_DIR_ENV)
    if key not in _managers:
        _managers[key] = PluginManager(plugins_dir)
    return _managers[key]
