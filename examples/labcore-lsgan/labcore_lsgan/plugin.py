"""Registers labcore-lsgan with labcore: the LSGAN model, the Gaussian grid and two recipes."""

from __future__ import annotations

from pathlib import Path

import labcore
from labcore_lsgan.data import GaussianGrid
from labcore_lsgan.model import LSGAN

#: The labcore plugin API this plugin is written for.
LABCORE_PLUGIN_API = 1

RECIPES = Path(__file__).parent / "recipes"


@labcore.hookimpl
def labcore_models() -> list[type]:
    return [LSGAN]


@labcore.hookimpl
def labcore_datasets() -> list[type]:
    return [GaussianGrid]


@labcore.hookimpl
def labcore_recipes() -> list[Path]:
    return sorted(RECIPES.glob("*.toml"))
