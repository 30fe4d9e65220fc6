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
from labcore.images import save_grid, to_uint8
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
    files: list[Path], shape: tuple[int, int, int], value_range: tuple[float, float]
) -> torch.Tensor:
    """``files`` as ``(N, *shape)`` float32 in ``value_range`` (grey for 1 channel, else RGB)."""
    channels, height, width = shape
    color = "grayscale" if channels == 1 else "rgb"
    arrays = []
    for path in files:
        image = read_image(path)
        if image.size != (width, height):
            raise click.BadParameter(
                f"{path} is {image.size[0]}x{image.size[1]}; the model takes {width}x{height} "
                "inputs (as its dataset's conditions)",
                param_hint="INPUTS",
            )
        arrays.append(image_array(image, color))
    pixels = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
    return to_value_range(pixels, value_range)


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
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of any noise.")
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@handle_errors
def translate(run_dir: Path, inputs: Path, output: Path, seed: int, device: str) -> None:
    """Translate INPUTS (an image file or a folder of them) with RUN_DIR's image-to-image model.

    Each input must have the size and channels of the conditions the model was trained on.
    """
    from labcore.plugins import get_manager
    from labcore.runfolder import load_model

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model, _, info = load_model(run_dir, device, get_manager())
    if "condition_shape" not in info:
        raise click.UsageError(
            f"model {model.name!r} of {run_dir} does not translate images; `labcore translate` "
            "needs an image-to-image run such as pix2pix (use `labcore sample` for the others)"
        )
    value_range = tuple(info.get("value_range", (-1.0, 1.0)))
    files = input_files(inputs)
    sources = read_inputs(files, tuple(info["condition_shape"]), value_range)
    generator = torch.Generator(device).manual_seed(seed)
    with torch.no_grad():
        outputs = torch.cat([
            model.sample(len(batch), generator=generator, condition=batch.to(device)).cpu()
            for batch in sources.split(BATCH)
        ])  # fmt: skip
    if output.suffix.lower() == ".png":
        channels = max(sources.shape[1], outputs.shape[1])
        rows = [t.expand(-1, channels, -1, -1) for t in (sources, outputs)]
        grid = torch.stack(rows, dim=1).flatten(0, 1)
        save_grid(grid, output, 2, value_range, scale=max(1, 64 // outputs.shape[-1]))
        click.echo(f"wrote {len(files)} input | output rows to {output}")
        return
    from PIL import Image

    output.mkdir(parents=True, exist_ok=True)
    for path, pixels in zip(files, to_uint8(outputs, value_range), strict=True):
        Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(
            output / f"{path.stem}.png"
        )
    click.echo(f"wrote {len(files)} PNG files to {output}")
