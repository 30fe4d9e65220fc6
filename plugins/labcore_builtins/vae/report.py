"""The VAE family's report sections: samples, reconstructions, interpolations, the latent map and
the likelihood bounds.

:func:`figure_sections` and :func:`bounds_section` take plain inputs (a model and its data, a
metrics dict) so they can be used and tested without a run; :func:`report_sections` gathers them
for a run folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from labcore.data import DataBundle
from labcore.report import Section
from labcore_builtins.vae import figures

REPORT_DIR = "report"


def figure_sections(model: Any, data: DataBundle, out: Path) -> list[Section]:
    """Prior samples, reconstructions and interpolations, a section each so that every figure
    is shown at its own size (small images enlarged, see :func:`labcore.images.display_scale`);
    the latent map when ``z_dim`` is 2."""
    split = "test" if "test" in data.splits else "train"
    prior = figures.prior_samples(model, data, out / "prior-samples.png")
    recon = figures.reconstructions(model, data, out / "reconstructions.png", split=split)
    between = figures.interpolations(model, data, out / "interpolations.png", split=split)
    sections = [
        Section(
            "Prior samples",
            "Decoded codes z ~ N(0, I), drawn with seed 0: other codes than the run's fixed draw, "
            "which the sample grids decode at each step.",
            [("prior samples", prior)],
        ),
        Section(
            "Reconstructions",
            f"The first {split} images (rows labelled input) and, beneath each row, their "
            "reconstructions: the decoded posterior means.",
            [("input rows, reconstruction rows beneath", recon)],
        ),
        Section(
            "Interpolations",
            f"Each row runs from one {split} image (a) to another (b) through the decoded codes "
            "on the straight line between their posterior means, at the values of t heading the "
            "columns.",
            [("interpolations between the posterior means of two images", between)],
        ),
    ]
    if model.config.z_dim == 2:
        path = figures.latent_map(model, data, out / "latent-map.png", split=split)
        sections.append(
            Section(
                "Latent space",
                f"Posterior means of the {split} images, coloured by class, beside the decoder's "
                "images on a lattice of codes over the same area.",
                [("latent map", path)],
            )
        )
    return sections


def bounds_section(metrics: dict[str, Any], k: int) -> Section | None:
    """The test (or val) IWAE bound against the ELBO, in nats, when the run measured both."""
    for split in ("test", "val"):
        iwae, elbo = metrics.get(f"{split}/iwae"), metrics.get(f"{split}/elbo")
        if iwae is not None and elbo is not None:
            break
    else:
        return None
    rows = [
        "| bound | nats per example |",
        "| --- | --- |",
        f"| ELBO (one posterior sample) | {elbo:.3f} |",
        f"| IWAE, k = {k} (Burda et al. 2016) | {iwae:.3f} |",
        f"| IWAE − ELBO | {iwae - elbo:.3f} |",
    ]
    text = (
        f"Lower bounds of log p(x) on the {split} split. The importance-weighted bound is the "
        "tighter one; their gap measures how far the encoder's posterior is from the true one.\n\n"
        + "\n".join(rows)
    )
    return Section("Log-likelihood bounds", text)


def report_sections(run: Any) -> list[Section]:
    """The sections of a VAE or VAE-GAN run folder."""
    from labcore.runfolder import load_data, load_model

    model, recipe, _ = load_model(run.dir, "cpu")
    data = load_data(recipe)
    sections = figure_sections(model, data, run.dir / REPORT_DIR)
    if model.name == "vae":
        bounds = bounds_section(run.metrics().get("metrics", {}), model.config.iwae_k)
        if bounds is not None:
            sections.append(bounds)
    return sections
