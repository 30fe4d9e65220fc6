"""Figures of the VAE family: prior samples, reconstructions, latent interpolations and, for
two-dimensional latents, the map of the latent space.

Each function takes a trained model (anything with ``encode``, ``decode`` and ``sample``, see
:class:`~labcore_builtins.vae.base.LatentModel`) and the run's data (a
:class:`labcore.DataBundle`), writes one PNG and returns its path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from labcore.data import DataBundle
from labcore.images import display_scale, make_grid, save_grid
from labcore_builtins.gan.base import eval_mode

PER_ROW = 8


def _value_range(data: DataBundle) -> tuple[float, float]:
    low, high = data.info.get("value_range", (-1.0, 1.0))
    return float(low), float(high)


def _split_images(data: DataBundle, split: str, n: int) -> torch.Tensor:
    name = split if split in data.splits else "train"
    return data.split(name)["x"][:n]


def prior_samples(model: Any, data: DataBundle, path: Path, n: int = 64, seed: int = 0) -> Path:
    """``n`` prior samples :math:`Dec(z)`, :math:`z \\sim \\mathcal N(0, I)` (seeded), 8 per row."""
    with torch.no_grad():
        images = model.sample(n, generator=torch.Generator().manual_seed(seed))
    return save_grid(images, path, PER_ROW, _value_range(data), display_scale(images))


def reconstructions(
    model: Any, data: DataBundle, path: Path, n: int = 32, split: str = "test"
) -> Path:
    """The first ``n`` images of ``split`` and their reconstructions (the decoded posterior
    mean), in pairs of rows labelled input and reconstruction: 8 inputs, then their 8
    reconstructions beneath."""
    images = _split_images(data, split, n)
    per_row = min(PER_ROW, images.shape[0])
    images = images[: images.shape[0] // per_row * per_row]
    recon = model.reconstruct(images)
    pairs = torch.stack([images.unflatten(0, (-1, per_row)), recon.unflatten(0, (-1, per_row))], 1)
    labels = ["input", "reconstruction"] * pairs.shape[0]
    return save_grid(pairs.flatten(0, 2), path, per_row, _value_range(data), display_scale(images),
                     row_labels=labels)  # fmt: skip


@torch.no_grad()
def interpolations(
    model: Any, data: DataBundle, path: Path, pairs: int = 8, steps: int = 8, split: str = "test"
) -> Path:
    """Latent interpolations between pairs of ``split`` images, one pair per row:
    :math:`x_a`, then :math:`Dec((1 - t) \\mu(x_a) + t \\mu(x_b))` for ``steps`` values of
    :math:`t` from 0 to 1, then :math:`x_b`; the columns are headed a, the values of t, b."""
    images = _split_images(data, split, 2 * pairs)
    pairs = images.shape[0] // 2
    a, b = images[:pairs], images[pairs : 2 * pairs]
    with eval_mode(model):
        mu_a, mu_b = model.encode(a)[0], model.encode(b)[0]
        t = torch.linspace(0.0, 1.0, steps, device=mu_a.device).view(1, steps, 1)
        codes = (1 - t) * mu_a.unsqueeze(1) + t * mu_b.unsqueeze(1)  # (pairs, steps, z_dim)
        middle = model.decode(codes.flatten(0, 1)).unflatten(0, (pairs, steps))
    rows = torch.cat([a.unsqueeze(1), middle, b.unsqueeze(1)], dim=1)
    headers = ["a", *(f"t={v:.2g}" for v in t.flatten().tolist()), "b"]
    return save_grid(rows.flatten(0, 1), path, steps + 2, _value_range(data),
                     display_scale(images), column_labels=headers)  # fmt: skip


@torch.no_grad()
def latent_map(
    model: Any, data: DataBundle, path: Path, split: str = "test", lattice: int = 12
) -> Path:
    """The 2-D latent space: the posterior means of ``split``'s images coloured by class (left),
    and the decoded images on a ``lattice x lattice`` grid over the same area (right).

    Raises ValueError for a latent size other than 2.
    """
    if model.config.z_dim != 2:
        raise ValueError(
            f"a latent map needs z_dim = 2, the model has z_dim = {model.config.z_dim}"
        )
    name = split if split in data.splits else "train"
    x, y = data.split(name)["x"], data.split(name)["y"]
    with eval_mode(model):
        mu = torch.cat([model.encode(part)[0] for part in x.split(512)]).float().cpu()
    low = torch.quantile(mu, 0.01, dim=0)
    high = torch.quantile(mu, 0.99, dim=0)
    xs = torch.linspace(float(low[0]), float(high[0]), lattice)
    ys = torch.linspace(float(high[1]), float(low[1]), lattice)  # top row = largest z_2
    grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij")[::-1], -1).reshape(-1, 2)
    with eval_mode(model):
        decoded = model.decode(grid.to(model.fixed_noise.device))
    picture = make_grid(decoded, lattice, _value_range(data), padding=1)

    fig = Figure(figsize=(11, 5), dpi=100)
    FigureCanvasAgg(fig)
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    names = data.info.get("class_names") or [str(c) for c in range(int(y.max()) + 1)]
    colours = [f"C{c % 10}" for c in y.tolist()]
    left.scatter(mu[:, 0].numpy(), mu[:, 1].numpy(), c=colours, s=8, alpha=0.8, linewidths=0)
    for c, label in enumerate(names):
        left.scatter([], [], c=f"C{c % 10}", s=20, label=label)
    left.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    left.set_xlim(float(low[0]), float(high[0]))
    left.set_ylim(float(low[1]), float(high[1]))
    left.set_xlabel("$z_1$")
    left.set_ylabel("$z_2$")
    left.set_title(f"posterior means of the {name} images")
    extent = (float(low[0]), float(high[0]), float(low[1]), float(high[1]))
    right.imshow(
        np.asarray(picture), cmap="gray", extent=extent, aspect="auto", interpolation="nearest"
    )
    right.set_xlabel("$z_1$")
    right.set_title("decoded images on a grid of codes")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
