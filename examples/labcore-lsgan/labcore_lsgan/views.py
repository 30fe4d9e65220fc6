"""Looking at and scoring generated points: density images and mode coverage."""

from __future__ import annotations

import torch


def density_image(
    points: torch.Tensor, low: torch.Tensor, high: torch.Tensor, size: int = 96
) -> torch.Tensor:
    """A 2-D histogram of ``points`` ``(N, 2)`` over the box ``[low, high]`` as an image.

    Returns ``(1, 1, size, size)`` in ``[-1, 1]``: white (1) where there are no points, darker
    with more (square-root scale); the y axis points up.
    """
    cells = ((points - low) / (high - low) * size).floor().long()
    inside = ((cells >= 0) & (cells < size)).all(dim=1)
    col, row = cells[inside, 0], size - 1 - cells[inside, 1]
    counts = torch.bincount(row * size + col, minlength=size * size).float()
    shade = (counts / counts.max().clamp(min=1)).sqrt().view(1, 1, size, size)
    return 1.0 - 2.0 * shade


def sample_scores(
    real: torch.Tensor,
    fake: torch.Tensor,
    modes: list[list[float]] | None = None,
    mode_std: float | None = None,
) -> dict[str, float]:
    """Scores of generated points ``fake`` ``(M, F)`` against real points ``real`` ``(N, F)``.

    - ``fake_to_real``: mean distance from a generated point to its nearest real point (quality).
    - ``real_to_fake``: mean distance from a real point to its nearest generated point (coverage).

    With mode centres ``modes`` ``(K, F)`` and their standard deviation ``mode_std`` (the
    definitions of Srivastava et al. 2017, section 5.1):

    - ``high_quality``: share of generated points within 3 standard deviations of a centre;
    - ``modes_covered``: modes that receive at least 1% of the generated points as high-quality
      points.
    """
    real, fake = real.double(), fake.double()
    scores = {
        "fake_to_real": torch.cdist(fake, real).min(dim=1).values.mean().item(),
        "real_to_fake": torch.cdist(real, fake).min(dim=1).values.mean().item(),
    }
    if modes is not None and mode_std is not None:
        centres = torch.tensor(modes, dtype=torch.float64, device=fake.device)
        distance, nearest = torch.cdist(fake, centres).min(dim=1)
        good = distance <= 3 * mode_std
        counts = torch.bincount(nearest[good], minlength=len(centres))
        scores["high_quality"] = good.double().mean().item()
        scores["modes_covered"] = float((counts >= 0.01 * len(fake)).sum().item())
    return scores
