"""``labcore translate RUN INPUTS -o OUT``: an image-to-image run (pix2pix) applied to image files.

The inputs are read as the run's dataset holds its conditions: the channels and size of
``info["condition_shape"]``, values mapped onto ``info["value_range"]``. Images of another size are
refused, not resized, so that what the model sees is what the user gave.
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
import torch

from labcore.cli import handle_errors
from labcore.images import display_scale, save_grid, to_uint8
from labcore.report.provenance import load_trained, write_record
from labcore_builtins.data.image_folder import IMAGE_SUFFIXES
from labcore_builtins.data.pixels import image_array, is_regular_file, read_image
from labcore_builtins.data.preprocess import to_value_range

BATCH = 256


def input_files(path: Path) -> list[Path]:
    """``path`` itself, or the image files of the folder ``path`` in name order (regular files
    only: a FIFO would block)."""
    if not path.is_dir():
        if not is_regular_file(path):
            raise click.BadParameter(
                f"{path} is neither a folder nor a regular file", param_hint="INPUTS"
            )
        return [path]
    files = sorted(
        p for p in path.iterdir()
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and is_regular_file(p)
    )  # fmt: skip
    if not files:
        raise click.BadParameter(
            f"{path} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})",
            param_hint="INPUTS",
        )
    return files


def read_inputs(
    files: list[Path],
    shape: tuple[int, int, int],
    value_range: tuple[float, float],
    what: tuple[str, str] = ("inputs", "INPUTS"),
) -> torch.Tensor:
    """``files`` as ``(N, *shape)`` float32 in ``value_range`` (grey for 1 channel, else RGB);
    ``what`` names them and their option in errors."""
    channels, height, width = shape
    color = "grayscale" if channels == 1 else "rgb"
    arrays = []
    for path in files:
        image = read_image(path)
        if image.size != (width, height):
            raise click.BadParameter(
                f"{path} is {image.size[0]}x{image.size[1]}; the model takes {width}x{height} "
                f"{what[0]} (as in its dataset)",
                param_hint=what[1],
            )
        arrays.append(image_array(image, color))
    pixels = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
    return to_value_range(pixels, value_range)


def target_files(targets: Path, inputs: list[Path]) -> list[Path]:
    """The target of each input: ``targets`` itself for one input, else the file of the folder
    ``targets`` with the input's name."""
    if not targets.is_dir():
        if len(inputs) != 1:
            raise click.BadParameter(
                f"{targets} is one file for {len(inputs)} inputs; give a folder of targets named "
                "as the inputs",
                param_hint="--targets",
            )
        return [targets]
    missing = [p.name for p in inputs if not is_regular_file(targets / p.name)]
    if missing:
        raise click.BadParameter(
            f"{targets} has no target for {', '.join(missing[:5])}"
            + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            + "; each input needs a target file of the same name",
            param_hint="--targets",
        )
    return [targets / p.name for p in inputs]


def save_rows(
    output: Path,
    columns: list[torch.Tensor],
    names: list[str],
    value_range: tuple[float, float],
) -> None:
    """A grid PNG with one row per input: its name, then input | output (| target), headed."""
    channels = max(c.shape[1] for c in columns)
    rows = torch.stack([c.expand(-1, channels, -1, -1) for c in columns], dim=1).flatten(0, 1)
    headers = ["input", "output", "target"][: len(columns)]
    save_grid(rows, output, len(columns), value_range, display_scale(rows),
              column_labels=headers, row_labels=names)  # fmt: skip


@click.command("translate")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("inputs", type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o",
    "output",
    type=click.Path(path_type=Path),
    required=True,
    help="A folder for one PNG per input (named after it), or a .png file for a grid of "
    "input | output rows.",
)
@click.option(
    "--targets",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="The expected outputs (a file, or a folder with a file named as each input): a third "
    "column of the .png grid.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of any noise.")
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@handle_errors
def translate(
    run_dir: Path, inputs: Path, output: Path, targets: Path | None, seed: int, device: str
) -> None:
    """Translate INPUTS (an image file or a folder of them) with RUN_DIR's image-to-image model.

    Each input must have the size and channels of the conditions the model was trained on.
    Beside the output, OUTPUT.json records the run, checkpoint and step, seed and command.
    """
    from labcore.plugins import get_manager
    from labcore.report.sampling import check_replaceable

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    check_replaceable(output)
    trained = load_trained(run_dir, device, get_manager())
    model, info = trained.model, trained.info
    if "condition_shape" not in info:
        raise click.UsageError(
            f"model {model.name!r} of {run_dir} does not translate images; `labcore translate` "
            "needs an image-to-image run such as pix2pix (use `labcore sample` for the others)"
        )
    value_range = tuple(info.get("value_range", (-1.0, 1.0)))
    files = input_files(inputs)
    sources = read_inputs(files, tuple(info["condition_shape"]), value_range)
    expected = None
    if targets is not None:
        paths = target_files(targets, files)
        expected = read_inputs(paths, tuple(info["shape"]), value_range, ("targets", "--targets"))
    generator = torch.Generator(device).manual_seed(seed)
    with torch.no_grad():
        outputs = torch.cat([
            model.sample(len(batch), generator=generator, condition=batch.to(device)).cpu()
            for batch in sources.split(BATCH)
        ])  # fmt: skip
    record = {"inputs": [str(p.resolve()) for p in files],
              "targets": str(targets.resolve()) if targets is not None else None}  # fmt: skip
    if output.suffix.lower() == ".png":
        columns = [sources, outputs] + ([expected] if expected is not None else [])
        save_rows(output, columns, [p.stem for p in files], value_range)
        write_record(output, trained, seed, **record, format=".png")
        headers = " | ".join(["input", "output", "target"][: len(columns)])
        click.echo(f"wrote {len(files)} rows of {headers} to {output}")
        return
    from PIL import Image

    output.mkdir(parents=True, exist_ok=True)
    for path, pixels in zip(files, to_uint8(outputs, value_range), strict=True):
        Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(
            output / f"{path.stem}.png"
        )
    write_record(output, trained, seed, **record, format="folder")
    click.echo(f"wrote {len(files)} PNG files to {output}")
