"""Hyperparameter schemas: dataclasses that validate a recipe section.

A component declares its hyperparameters as a dataclass (its ``Config``). A recipe section is
checked against it before anything trains: unknown keys get the closest valid key, wrong types
the expected type, missing values the section they belong to. Values are coerced where the intent
is obvious (an int where a float is expected, a TOML array where a tuple is expected).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints


class SchemaError(ValueError):
    """A recipe section does not match the schema its component declares."""


#: Integers outside a signed 64-bit range fit no tensor, seed or size torch accepts.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


def closest(name: str, candidates: typing.Iterable[str]) -> str | None:
    """The candidate closest to ``name``, or None when nothing is reasonably close."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_key_message(path: str, key: str, valid: typing.Iterable[str]) -> str:
    full = f"{path}.{key}" if path else key
    guess = closest(key, valid)
    if guess is not None:
        hint = f"did you mean {path + '.' if path else ''}{guess}?"
    else:
        hint = "valid keys: " + (", ".join(sorted(valid)) or "(none)")
    return f"{full}: unknown key; {hint}"


def type_name(tp: Any) -> str:
    if tp is type(None):
        return "None"
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(type_name(a) for a in get_args(tp))
    if origin is not None:
        args = ", ".join(type_name(a) for a in get_args(tp))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, path: str) -> Any:
    """Return ``value`` converted to ``tp`` or raise SchemaError naming ``path``."""
    if tp is Any:
        return value
    origin = get_origin(tp)
    if origin is Literal:
        if value in get_args(tp):
            return value
        raise SchemaError(f"{path}: expected one of {type_name(tp)}, got {value!r}")
    if origin in (Union, types.UnionType):
        errors = []
        for arg in get_args(tp):
            try:
                return _coerce(value, arg, path)
            except SchemaError as exc:
                errors.append(exc)
        raise SchemaError(f"{path}: expected {type_name(tp)}, got {value!r}")
    if tp is type(None):
        if value is None:
            return None
        raise SchemaError(f"{path}: expected None, got {value!r}")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise SchemaError(f"{path}: expected {type_name(tp)}, got {value!r}")
        args = get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise SchemaError(
                    f"{path}: expected {len(args)} values ({type_name(tp)}), got {len(value)}"
                )
            items = [_coerce(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args))]
        else:
            item_tp = args[0] if args else Any
            items = [_coerce(v, item_tp, f"{path}[{i}]") for i, v in enumerate(value)]
        return origin(items)
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise SchemaError(f"{path}: expected a table, got {value!r}")
        return dict(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise SchemaError(f"{path}: expected bool (true or false), got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if not INT_MIN <= value <= INT_MAX:
                raise SchemaError(
                    f"{path}: {value} is out of range; integers must lie between -2**63 and "
                    "2**63 - 1"
                )
            return value
        raise SchemaError(f"{path}: expected int, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:
                raise SchemaError(f"{path}: {value} is too large for a float") from None
            if math.isnan(number):
                raise SchemaError(f"{path}: expected a number, got nan")
            return number
        raise SchemaError(f"{path}: expected float, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise SchemaError(f"{path}: expected str, got {value!r}")
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise SchemaError(f"{path}: expected {type_name(tp)}, got {value!r}")


def fields_of(schema: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(schema) if f.init}


def build(schema: type, section: Mapping[str, Any], path: str, ignore: set[str] = frozenset()):
    """Validate ``section`` against the dataclass ``schema`` and return an instance.

    ``path`` is the dotted recipe path of the section (``model``, ``optimizer.generator``), used in
    every message. Keys in ``ignore`` (such as the component's ``name``) are skipped.
    """
    if not dataclasses.is_dataclass(schema):
        raise TypeError(f"{schema!r} is not a dataclass")
    if not isinstance(section, Mapping):
        raise SchemaError(
            f"[{path}]: expected a table of values (a [{path}] section), got {section!r}"
        )
    fields = fields_of(schema)
    hints = get_type_hints(schema)
    for key in section:
        if key not in fields and key not in ignore:
            raise SchemaError(unknown_key_message(path, key, [*fields, *ignore]))
    values = {}
    for name, field in fields.items():
        if name in section:
            values[name] = _coerce(section[name], hints[name], f"{path}.{name}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise SchemaError(f"{path}.{name}: missing value; set it in the [{path}] section")
    try:
        return schema(**values)
    except (ValueError, TypeError) as exc:
        raise SchemaError(f"[{path}]: {exc}") from exc


def describe(schema: type) -> list[tuple[str, str, Any, str]]:
    """(name, type, default, doc) for each hyperparameter, for ``labcore plugins --verbose``.

    The doc comes from ``field(metadata={"doc": ...})``.
    """
    hints = get_type_hints(schema)
    rows = []
    for name, field in fields_of(schema).items():
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            default = "(required)"
        rows.append((name, type_name(hints[name]), default, field.metadata.get("doc", "")))
    return rows


def check_schema(schema: Any) -> None:
    """Raise TypeError when ``schema`` cannot serve as a hyperparameter schema."""
    if not (isinstance(schema, type) and dataclasses.is_dataclass(schema)):
        raise TypeError(f"Config must be a dataclass, got {schema!r}")
    try:
        get_type_hints(schema)
    except Exception as exc:
        raise TypeError(f"Config {schema.__name__}: type hints cannot be resolved ({exc})") from exc


def hp(
    default: Any = dataclasses.MISSING,
    doc: str = "",
    *,
    path: bool = False,
    applies: Callable[[Any], bool] | None = None,
    **kwargs: Any,
) -> Any:
    """A documented hyperparameter field: ``z_dim: int = hp(64, "latent size")``.

    ``path=True`` marks a file or folder: a relative value is resolved when the recipe is loaded,
    against the folder of the recipe file that sets it (``--set``: the working folder), and the
    run folder's recipe.toml keeps it absolute (see :mod:`labcore.recipes.paths`).

    ``applies`` says when the value matters, given the others: a predicate of the whole config,
    ``hidden: int = hp(128, "mlp: units", applies=lambda c: c.arch == "mlp")``. Reports leave
    out the keys that do not apply (see :func:`inapplicable`); the value is validated either way.
    """
    metadata: dict[str, Any] = {"doc": doc, "path": True} if path else {"doc": doc}
    if applies is not None:
        metadata["applies"] = applies
    if isinstance(default, (list, dict, set)):
        value = default
        return dataclasses.field(
            default_factory=lambda: type(value)(value), metadata=metadata, **kwargs
        )
    return dataclasses.field(default=default, metadata=metadata, **kwargs)


def inapplicable(config: Any) -> set[str]:
    """The hyperparameters of the dataclass instance ``config`` that do not apply given its other
    values (their ``hp(..., applies=...)`` predicate is false)."""
    return {
        name
        for name, f in fields_of(type(config)).items()
        if "applies" in f.metadata and not f.metadata["applies"](config)
    }


def path_fields(schema: type) -> set[str]:
    """The hyperparameters of ``schema`` declared with ``hp(..., path=True)``."""
    return {name for name, f in fields_of(schema).items() if f.metadata.get("path")}


def to_dict(config: Any) -> dict[str, Any]:
    """A dataclass instance as plain TOML-friendly values (tuples become lists, None dropped)."""
    out = {}
    for key, value in dataclasses.asdict(config).items():
        if value is None:
            continue
        out[key] = list(value) if isinstance(value, tuple) else value
    return out
