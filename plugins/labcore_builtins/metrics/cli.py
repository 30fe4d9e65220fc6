"""``labcore metrics A B``: metrics between two sets of images or features, as the FID tools do."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import click
import torch

from labcore.metrics.generative import compare
from labcore.recipes.evaluate import EvaluateConfig
from labcore.schema import SchemaError, build
from labcore_builtins.metrics.inputs import check_pair, load_set


class DataError(click.ClickException):
    """Inputs that cannot be compared as they are (exit code 2, like usage errors)."""

    exit_code = 2


class MetricsCommand(click.Command):
    """``labcore metrics``, whose help lists the metrics installed now, plugins' included."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from labcore.plugins import get_manager

        manager = get_manager(ctx.find_root().params.get("plugins_dir"))
        rows = []
        for name in manager.names("metric"):
            cls = manager.get("metric", name)
            rows.append((name, " ".join(filter(None, [first_paragraph(cls), directions(cls)]))))
        with formatter.section("Installed metrics"):
            formatter.write_dl(rows)
        super().format_epilog(ctx, formatter)


def first_paragraph(cls: type) -> str:
    """The first paragraph of a class's docstring, on one line."""
    return " ".join((inspect.getdoc(cls) or "").split("\n\n")[0].split())


def directions(cls: type) -> str:
    """``"(lower is better: fid)"`` from the metric's ``higher_is_better`` declarations."""
    declared = getattr(cls, "higher_is_better", {}) or {}
    groups = [
        f"{word} is better: {', '.join(k for k, v in declared.items() if v is higher)}"
        for word, higher in (("higher", True), ("lower", False))
        if higher in declared.values()
    ]
    return f"({'; '.join(groups)})" if groups else ""


def _config(metrics: str, extractor: str, overrides: tuple[str, ...]) -> EvaluateConfig:
    from labcore.recipes.recipe import RecipeError, parse_override

    section: dict[str, Any] = {
        "metrics": [m.strip() for m in metrics.split(",") if m.strip()],
        "extractor": {"name": extractor},
    }
    for text in overrides:
        try:
            parts, value = parse_override(text)
        except RecipeError as exc:
            raise click.BadParameter(str(exc), param_hint="--set") from None
        if parts[0] == "extractor" and len(parts) == 2:
            section["extractor"][parts[1]] = value
        elif len(parts) == 1:
            section[parts[0]] = value
        else:
            raise click.BadParameter(
                f"{text!r}: set [evaluate] keys (knn_k=3) or extractor.KEY=VALUE",
                param_hint="--set",
            )
    try:
        return build(EvaluateConfig, section, "evaluate")
    except SchemaError as exc:
        raise click.BadParameter(str(exc), param_hint="--set") from None


def _device(choice: str) -> torch.device:
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise click.BadParameter("CUDA is not available", param_hint="--device")
    return torch.device(choice)


def _table(values: dict[str, float], details: dict[str, Any]) -> str:
    extractor = details["extractor"]
    lines = [
        f"A: {details['num_real']} samples   B: {details['num_generated']} samples",
        f"extractor: {extractor['name'] or '(given features)'}"
        + (f"   weights sha256: {extractor['weights_sha256']}" if extractor["name"] else ""),
        "",
    ]
    width = max(len(name) for name in values)
    better = details.get("higher_is_better", {})
    arrows = {True: "  (higher is better)", False: "  (lower is better)", None: ""}
    lines += [
        f"{name.ljust(width)}  {value:<12.6g}{arrows[better.get(name)]}".rstrip()
        for name, value in values.items()
    ]
    return "\n".join(lines)


@click.command("metrics", cls=MetricsCommand)
@click.argument("a", type=click.Path(exists=True, path_type=Path))
@click.argument("b", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--metrics", "names", default="fid", show_default=True,
    help="Comma-separated metrics (the installed ones are listed below).",
)
@click.option(
    "--extractor", default="inception-v3-fid", show_default=True,
    help="Feature extractor for image inputs (e.g. classifier with --set extractor.run=DIR).",
)
@click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE",
    help="[evaluate] options (knn_k=3, kid_subsets=0, chunk_size=512, cache_dir=DIR) and "
    "extractor hyperparameters (extractor.weights=PATH).",
)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (metrics and details).")
def metrics(
    a: Path, b: Path, names: str, extractor: str, overrides: tuple[str, ...], device: str,
    as_json: bool,
) -> None:
    """Metrics between A (reference) and B (generated): image folders or .npz files.

    An .npz holds images (images, x or arr_0; uint8 or floats in [0, 1]) or features (features,
    optionally logits). IS is computed for B. The statistics of A are cached (keyed by its content
    and the extractor), so comparing many sets against one reference extracts it once.
    """
    from labcore.features.cache import ReferenceCache
    from labcore.plugins import PluginError, get_manager

    config = _config(names, extractor, overrides)
    try:
        real, fake = load_set(a), load_set(b)
        check_pair(real, fake, a, b)
        values, details = compare(
            real, fake, config, _device(device), get_manager(),
            ReferenceCache(config.cache_dir or None),
        )
    except PluginError as exc:
        raise click.UsageError(str(exc)) from None
    except ValueError as exc:
        raise DataError(str(exc)) from None
    except (FileNotFoundError, TypeError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"metrics": values, "details": details}, indent=2, default=str))
    else:
        click.echo(_table(values, details))
