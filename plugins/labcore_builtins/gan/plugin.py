"""Registers the GAN family with labcore: models, datasets, recipes and report sections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import labcore
from labcore_builtins.gan.cgan import CGAN
from labcore_builtins.gan.gan import GAN
from labcore_builtins.gan.paired import Edges2Digits, PairedFolder
from labcore_builtins.gan.pix2pix import Pix2Pix
from labcore_builtins.gan.toy import Ring, SwissRoll
from labcore_builtins.gan.wgan import WGAN
from labcore_builtins.recipes import bundled

MODELS = [GAN, WGAN, CGAN, Pix2Pix]
RECIPES = (
    "cgan-digits",
    "cgan-projection-digits",
    "dcgan-cifar10",
    "dcgan-mnist32",
    "gan-digits",
    "gan-mnist",
    "gan-toy",
    "pix2pix-edges2digits",
    "sngan-cifar10",
    "sngan-mnist32",
    "sngan-projection-cifar10",
    "sngan-projection-mnist32",
    "unet-l1-edges2digits",
    "wgan-gp-cifar10",
    "wgan-gp-digits",
    "wgan-gp-mnist32",
    "wgan-sn-digits",
)


@labcore.hookimpl
def labcore_models() -> list[type]:
    return list(MODELS)


@labcore.hookimpl
def labcore_datasets() -> list[type]:
    return [Ring, SwissRoll, Edges2Digits, PairedFolder]


@labcore.hookimpl
def labcore_recipes() -> list[Path]:
    return bundled(*RECIPES)


@labcore.hookimpl
def labcore_cli_commands() -> list[Any]:
    from labcore_builtins.gan.translate import translate

    return [translate]


@labcore.hookimpl
def labcore_report_sections(run: Any) -> list[Any]:
    """Sample grids over training; real vs generated points; the WGAN critic's estimate."""
    if run.recipe.get("model", {}).get("name") not in {m.name for m in MODELS}:
        return []
    from labcore_builtins.gan.report import report_sections

    return report_sections(run)
