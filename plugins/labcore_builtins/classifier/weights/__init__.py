"""The weights of the shipped LeNet-5 feature extractors, installed as package data.

``<name>.pt`` is a state dict (read with ``torch.load(weights_only=True)``), ``<name>.json`` its
card; :mod:`labcore_builtins.classifier.reference` writes and reads them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).parent


def weights_file(name: str, folder: Path = FOLDER) -> Path:
    return folder / f"{name}.pt"


def card_file(name: str, folder: Path = FOLDER) -> Path:
    return folder / f"{name}.json"


def read_card(name: str, folder: Path = FOLDER) -> dict[str, Any]:
    """The card of the weights ``name`` in ``folder``."""
    return json.loads(card_file(name, folder).read_text())
