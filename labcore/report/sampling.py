"""What `labcore sample` does: draw from a run's generative model and write the samples in the
form the output's name asks for, with a record of how they were made beside them.

- ``.png``: images as a grid (rows of :func:`labcore.images.grid_columns` unless ``--nrow``; one
  labelled row per class when several classes are asked for); points as a scatter plot over the
  run's real points.
- ``.npz``: images as ``images`` ``uint8 (N, C, H, W)``, the pixels the PNG files hold, which
  `labcore metrics` reads; points as ``points`` ``float32 (N, D)``; ``y`` the class of each
  sample when classes are asked for.
- ``.csv``: points, one per line.
- a folder (a name without a suffix, or an existing folder): one PNG per image.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np
import torch

from labcore.images import display_scale, grid_columns, save_grid, to_uint8
from labcore.plugins import PluginManager
from labcore.points import save_points_csv, save_scatter
from labcore.recipes.recipe import RecipeError
from labcore.report.provenance import TrainedRun, load_trained, record_path, write_record

FORMATS = {
    ".png": "a grid of images or a scatter plot of points",
    ".npz": "the samples as arrays (`labcore metrics` reads the images)",
    ".csv": "points, one per line",
}
"""The suffixes ``-o`` takes, and what each writes; a name without a suffix is a folder."""
CLASS_RANGE = re.compile(r"^(\d+)-(\d+)$")
REAL_POINTS = 2000
"""Most real points drawn under the samples of a point model."""


def supported() -> str:
    return ", ".join(f"{suffix} ({what})" for suffix, what in FORMATS.items()) + (
        ", or a folder (a name without a suffix) for one PNG per image"
    )


def output_kind(output: Path) -> str:
    """``"folder"`` or the suffix of ``output``; an unknown suffix is a usage error."""
    if output.is_dir() or not output.suffix:
        return "folder"
    suffix = output.suffix.lower()
    if suffix not in FORMATS:
        raise click.BadParameter(
            f"{output}: unknown suffix {output.suffix!r}; -o takes {supported()}", param_hint="-o"
        )
    return suffix


def check_replaceable(output: Path) -> None:
    """Refuse to write over a file or a non-empty folder that no labcore command wrote (no
    record beside it): it may be the user's own."""
    made_here = record_path(output).is_file()
    if output.is_file() and not made_here:
        raise click.BadParameter(
            f"{output} exists and has no {record_path(output).name} beside it, so labcore did not "
            "write it; choose another name or move it away",
            param_hint="-o",
        )
    if output.is_dir() and any(output.iterdir()) and not made_here:
        raise click.BadParameter(
            f"folder {output} is not empty and has no {record_path(output).name} beside it; "
            "choose a new or empty folder",
            param_hint="-o",
        )


def parse_classes(values: Sequence[str], num_classes: int | None) -> list[int]:
    """Class labels from ``--class`` values, in order: ``3``, ``3,5``, ``0-9`` or ``all``."""
    valid = f"0 to {num_classes - 1}" if num_classes else "none: the data have no classes"

    def bad(text: str) -> click.BadParameter:
        return click.BadParameter(
            f"{text}; the classes of this run are {valid} (give e.g. --class 3, --class 3,5, "
            "--class 0-9 or --class all)",
            param_hint="--class",
        )

    classes: list[int] = []
    for value in values:
        for part in (p.strip() for p in value.split(",")):
            if part == "all":
                if not num_classes:
                    raise bad("'all' needs a dataset with classes")
                classes.extend(range(num_classes))
            elif (match := CLASS_RANGE.match(part)) is not None:
                low, high = int(match[1]), int(match[2])
                if low > high:
                    raise bad(f"{part!r} runs backwards")
                classes.extend(range(low, high + 1))
            elif part.isdigit():
                classes.append(int(part))
            else:
                raise bad(f"{part!r} is not a class, a range or 'all'")
    out_of_range = [c for c in classes if num_classes is not None and c >= num_classes]
    if out_of_range:
        raise bad(f"{sorted(set(out_of_range))} out of range")
    return classes


def class_names(info: dict[str, Any], classes: Sequence[int]) -> list[str]:
    """Row labels: the dataset's class names where it has them, else ``class N``."""
    names = info.get("class_names")
    return [str(names[c]) if names else f"class {c}" for c in classes]


def layout(count: int, classes: Sequence[int], nrow: int | None) -> tuple[int, bool]:
    """Images per row, and whether each row is one class (several classes and no ``--nrow``)."""
    if len(classes) > 1 and nrow is None:
        return count, True
    return nrow or grid_columns(count), False


def describe(total: int, columns: int, classes: Sequence[int], per_class: bool) -> str:
    """``10 rows of 10``, ``3 rows of 5, one per class (0, 1, 2)``, ``2 rows of 4, the last 1``."""
    columns = min(columns, total)
    rows, rest = divmod(total, columns)
    text = f"{rows} row{'s' if rows != 1 else ''} of {columns}"
    if rest:
        text = f"{rows + 1} rows of {columns}, the last {rest}"
    if per_class:
        text += f", one per class ({', '.join(map(str, classes))})"
    return text


def draw(
    trained: TrainedRun, count: int, classes: Sequence[int], seed: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``count`` samples (per class, class after class, when ``classes`` are given) and their
    labels; a model that refuses the request is a usage error naming the run."""
    model = trained.model
    if not model.can_sample:
        raise RecipeError(
            f"model {model.name!r} of {trained.folder} cannot sample: `labcore sample` needs a "
            "generative model (GAN, VAE, ...)"
        )
    labels = torch.tensor([c for c in classes for _ in range(count)]) if classes else None
    generator = torch.Generator().manual_seed(seed)
    try:
        with torch.no_grad():
            samples = model.sample(
                len(labels) if labels is not None else count, generator=generator, condition=labels
            )
    except ValueError as exc:  # the model refuses this request (a class, or no input images)
        hint = " (--class needs a class-conditional model such as cgan)" if classes else ""
        raise RecipeError(f"{trained.folder}: {exc}{hint}") from None
    return samples.detach().cpu(), labels


def real_points(trained: TrainedRun, dim: int) -> torch.Tensor:
    """Up to :data:`REAL_POINTS` held-out points of the run's data (test, else val, train)."""
    for name in ("test", "val", "train"):
        if name in trained.data.splits:
            x = trained.data.split(name)["x"]
            if x.dim() == 2 and x.shape[1] == dim:
                return x[:REAL_POINTS].float()
    raise RecipeError(f"{trained.folder}: the run's data hold no ({dim}-dimensional) points")


def write_points(
    trained: TrainedRun, points: torch.Tensor, labels: torch.Tensor | None, output: Path, kind: str
) -> str:
    """Write points as a scatter plot, an ``.npz`` or a CSV; returns what was written."""
    if kind == "folder":
        raise click.BadParameter(
            f"model {trained.model.name!r} samples {points.shape[1]}-dimensional points, not "
            f"images; -o takes .png (a scatter plot), .npz or .csv for them",
            param_hint="-o",
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    if kind == ".csv":
        save_points_csv(points, output, labels)
        return f"{len(points)} points"
    if kind == ".npz":
        arrays = {"points": points.float().numpy()}
        np.savez(output, **arrays, **({"y": labels.numpy()} if labels is not None else {}))
        return f"{len(points)} points"
    if points.shape[1] != 2:
        raise click.BadParameter(
            f"a scatter plot needs 2-dimensional points, model {trained.model.name!r} samples "
            f"{points.shape[1]}-dimensional ones; write .npz or .csv",
            param_hint="-o",
        )
    real = real_points(trained, 2)
    save_scatter(real, points, output, title=f"{trained.model.name}: {len(points)} samples")
    return f"a scatter plot of {len(points)} points over {len(real)} real ones (light grey)"


def write_images(
    trained: TrainedRun,
    images: torch.Tensor,
    labels: torch.Tensor | None,
    output: Path,
    kind: str,
    grid: tuple[int, list[str]],
) -> str:
    """Write images as a grid PNG (``grid``: per row, row labels), an ``.npz`` or a folder."""
    value_range = tuple(trained.info.get("value_range", (-1.0, 1.0)))
    if kind == ".csv":
        raise click.BadParameter(
            f"a .csv holds points; model {trained.model.name!r} samples images: write .png, "
            ".npz or a folder",
            param_hint="-o",
        )
    if kind == ".png":
        columns, row_labels = grid
        save_grid(images, output, columns, value_range, display_scale(images),
                  row_labels=row_labels)  # fmt: skip
        return f"{len(images)} samples"
    pixels = to_uint8(images, value_range)  # (N, H, W, C)
    if kind == ".npz":
        output.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"images": pixels.transpose(0, 3, 1, 2)}
        np.savez(output, **arrays, **({"y": labels.numpy()} if labels is not None else {}))
        return f"{len(images)} samples (uint8, as the PNG files would hold them)"
    from PIL import Image

    output.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(pixels):
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(
            output / f"sample-{i:05d}.png"
        )
    return f"{len(images)} PNG files"


def sample_command(
    run_dir: Path,
    count: int,
    output: Path,
    class_values: Sequence[str],
    seed: int,
    nrow: int | None,
    manager: PluginManager,
) -> None:
    """`labcore sample`: see the module's docstring."""
    kind = output_kind(output)
    check_replaceable(output)
    trained = load_trained(run_dir, "cpu", manager)
    classes = parse_classes(class_values, trained.info.get("num_classes"))
    samples, labels = draw(trained, count, classes, seed)
    settings: dict[str, Any] = {"count": len(samples), "classes": classes or None}
    if classes:
        settings["per_class"] = count
    if samples.dim() == 2:
        what = write_points(trained, samples, labels, output, kind)
        layout_text = ""
    elif samples.dim() == 4:
        columns, per_class = layout(count, classes, nrow)
        row_labels = class_names(trained.info, classes) if per_class else []
        what = write_images(trained, samples, labels, output, kind, (columns, row_labels))
        layout_text = (
            f": {describe(len(samples), columns, classes, per_class)}" if kind == ".png" else ""
        )
        if kind == ".png":
            settings["images_per_row"] = min(columns, len(samples))
    else:
        raise RecipeError(
            f"model {trained.model.name!r} samples neither images (N, C, H, W) nor points "
            f"(N, D): shape {tuple(samples.shape)}"
        )
    settings["format"] = kind
    write_record(output, trained, seed, **settings)
    click.echo(f"wrote {what} to {output}{layout_text}")
