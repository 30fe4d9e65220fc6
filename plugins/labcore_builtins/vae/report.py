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
    """Prior samples, reconstructions and interpolations; the latent map when ``z_dim`` is 2."""
    split = "test" if "test" in data.splits else "train"
    images = [
        ("prior samples", figures.prior_samples(model, data, out / "prior-samples.png")),
        (
            "reconstructions: input row, reconstruction row beneath",
            figures.reconstructions(model, data, out / "reconstructions.png", split=split),
        ),
        (
            "interpolations between the posterior means of two images",
            figures.interpolations(model, data, out / "interpolations.png", split=split),
        ),
    ]
    text = (
        f"Prior samples are decoded codes z ~ N(0, I) (seed 0). Reconstructions and "
        f"interpolations use the first {split} images; a reconstruction is the decoded posterior "
        "mean, and each interpolation row runs from one image to another through the decoded "
        "codes on the straight line between their posterior means."
    )
    sections = [Section("Samples, reconstructions, interpolations", text, images)]
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
