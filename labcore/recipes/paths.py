"""Where a relative path in a recipe points: one rule for every key that names a file or folder.

A relative path resolves against the folder of the recipe file it is written in (for a value
inherited through ``extends``, the file that wrote it, not the one extending it); a value given on
the command line (``--set``) resolves against the working folder. ``~`` is the home folder, and a
path starting with ``{out}`` is inside the outputs folder of the command (``labcore run --out``,
``outputs`` in the working folder by default), so a recipe can name the runs of another recipe
(``run = "{out}/classifier-digits"``) wherever the outputs go.

Which keys are paths is declared by the components: their ``Config`` fields made with
``hp(..., path=True)`` (:func:`labcore.schema.path_fields`). ``extends`` follows the same rule
(see :func:`labcore.recipes.recipe.load_chain`). The resolved recipe, saved in the run folder, holds
absolute paths, so ``labcore resume`` and ``labcore evaluate`` work from any folder.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from labcore.schema import path_fields

OUT = "{out}"
"""The placeholder of the outputs folder at the start of a path."""

DEFAULT_OUT = Path("outputs")
"""The outputs folder of ``labcore run`` when ``--out`` is not given (in the working folder)."""

Key = tuple[str, ...]


def origins(data: Mapping[str, Any], folder: Path, prefix: Key = ()) -> dict[Key, Path]:
    """``folder`` for the key of every value in ``data`` (a recipe file's tables, read from a file
    in ``folder``): the base its relative paths resolve against."""
    found: dict[Key, Path] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            found.update(origins(value, folder, (*prefix, key)))
        else:
            found[(*prefix, key)] = folder
    return found


def forget(found: dict[Key, Path], prefix: Key) -> None:
    """Drop the origins of ``prefix`` and everything under it (a ``--set`` replaced them)."""
    for key in [k for k in found if k[: len(prefix)] == prefix]:
        del found[key]


def absolute(value: str, base: Path, out: Path | str = DEFAULT_OUT) -> str:
    """``value`` as an absolute path: ``{out}/...`` inside ``out``, ``~`` expanded, a relative
    path joined to ``base``; an empty value (a component's "not given") stays empty."""
    if not value:
        return value
    if value == OUT or value.startswith((OUT + "/", OUT + "\\")):
        path = Path(out).expanduser() / value[len(OUT) + 1 :]
    else:
        path = Path(value).expanduser()
    if not path.is_absolute():
        path = Path(base) / path
    return str(path.resolve())


def absolute_paths(
    raw: Mapping[str, Any],
    schemas: Mapping[Key, type],
    where: Mapping[Key, Path],
    out: Path | str = DEFAULT_OUT,
) -> dict[str, Any]:
    """A copy of ``raw`` whose path hyperparameters are absolute.

    ``schemas`` maps a table (``("data",)``, ``("evaluate", "extractor")``) to the ``Config`` that
    validates it; ``where`` maps a key to the folder its value was written in (missing: the
    working folder, as for ``--set``). Relative ``out`` is taken in the working folder.
    """
    resolved = copy.deepcopy(dict(raw))
    cwd = Path.cwd()
    outputs = cwd / Path(out).expanduser()
    for table_key, schema in schemas.items():
        table: Any = resolved
        for part in table_key:
            table = table.get(part) if isinstance(table, Mapping) else None
        if not isinstance(table, dict):
            continue
        for name in path_fields(schema):
            value = table.get(name)
            if isinstance(value, str):
                table[name] = absolute(value, where.get((*table_key, name), cwd), outputs)
    return resolved
