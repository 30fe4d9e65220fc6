"""Registers the VAE family with labcore: models, recipes and report sections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import labcore
from labcore_builtins.recipes import bundled
from labcore_builtins.vae.vae import VAE
from labcore_builtins.vae.vaegan import VAEGAN

MODELS = [VAE, VAEGAN]
RECIPES = (
    "vae-2d-digits",
    "vae-conv-digits",
    "vae-digits",
    "vae-mnist",
    "vaegan-digits",
    "vaegan-mnist",
)


@labcore.hookimpl
def labcore_models() -> list[type]:
    return list(MODELS)


@labcore.hookimpl
def labcore_recipes() -> list[Path]:
    return bundled(*RECIPES)


@labcore.hookimpl
def labcore_report_sections(run: Any) -> list[Any]:
    """Prior samples, reconstructions, interpolations, the latent map and the likelihood bounds."""
    if run.recipe.get("model", {}).get("name") not in {m.name for m in MODELS}:
        return []
    from labcore_builtins.vae.report import report_sections

    return report_sections(run)
