"""Registers the data plugin's datasets with labcore."""

from __future__ import annotations

import labcore
from labcore_builtins.data import Digits, FashionMnist, ImageFolder, Mnist


@labcore.hookimpl
def labcore_datasets() -> list[type]:
    return [Digits, Mnist, FashionMnist, ImageFolder]
