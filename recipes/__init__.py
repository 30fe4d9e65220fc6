"""The lab's bundled recipes, installed as the package ``labcore_builtins.recipes``.

They live in the repository's top-level ``recipes/`` folder (``labcore run recipes/gan-digits.toml``
works from a checkout) and ship with the package, so a non-editable install finds them too
(``labcore run gan-digits``). Each built-in family announces its own through ``labcore_recipes``.
"""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).parent


def bundled(*names: str) -> list[Path]:
    """The bundled recipe files ``NAME.toml`` for ``names``; each must exist."""
    paths = [FOLDER / f"{name}.toml" for name in names]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"bundled recipes missing from {FOLDER}: {', '.join(missing)}")
    return sorted(paths)
