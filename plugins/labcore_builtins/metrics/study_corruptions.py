"""Controlled failures of an imagined generator, applied to real held-out samples.

After Xu et al., 2018 ("An empirical study on evaluation metrics of generative adversarial
networks", sec. 4): a perfect generator's output (the held-out real set, :mod:`.study_data`) is
degraded at a strength from 0 (untouched) to 1 (the full failure), and every metric is asked
whether it notices. Each corruption keeps the number of samples, so that no metric moves merely
because the sample count changed, and returns the held-out set itself at strength 0.

- ``mode_dropping``: ``round(s (C - 1))`` classes are removed; their samples are replaced by
  samples of the kept classes (fresh spare ones first, drawn again only when those run out).
- ``mode_collapse``: ``round(s C)`` classes collapse, each sample of a collapsed class becoming
  a copy of one of :data:`COLLAPSED_TO` samples of that class.
- ``memorisation``: ``round(s N)`` samples are replaced by copies of distinct reference
  (training) samples.
- ``gaussian_noise``: additive noise of standard deviation ``s`` x :data:`NOISE_STD`, clipped
  to the pixel range.
- ``blur``: a Gaussian blur of standard deviation ``s`` x :data:`BLUR_SIGMA` x the image side.
- ``mixing``: ``round(s N)`` samples are replaced by samples of another distribution, images whose
  pixels are those of the sample they replace, randomly permuted.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from labcore_builtins.metrics.study_data import RealData, Split

COLLAPSED_TO = 2
"""Distinct samples a collapsed class keeps."""
NOISE_STD = 0.5
"""Noise standard deviation at full strength, in units of the pixel range [0, 1]."""
BLUR_SIGMA = 0.15
"""Blur standard deviation at full strength, as a fraction of the image side (1.2 pixels on the
8x8 digits, 4.2 on MNIST)."""
NOT_REAL = -1
"""The label and source of a sample that is no real image (a mixed-in one)."""


@dataclasses.dataclass
class Samples:
    """A corrupted set: images ``(N, 1, H, W)`` in ``[0, 1]``; for each, the label of the real
    image it comes from and that image's index in the data (:data:`NOT_REAL` for mixed-in
    images). ``altered`` is False when every image is its source image unchanged (a selection of
    the data, whose features need no new extraction)."""

    images: torch.Tensor
    labels: torch.Tensor
    source: torch.Tensor
    altered: bool = False


def _pick(data: RealData, index: torch.Tensor) -> Samples:
    return Samples(data.images[index], data.labels[index], index.clone())


def _count(strength: float, total: int) -> int:
    """``strength x total`` rounded half up."""
    return math.floor(strength * total + 0.5)


def _classes(data: RealData, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` distinct classes in a random order."""
    return torch.randperm(data.num_classes, generator=generator)[:count]


def mode_dropping(
    data: RealData, split: Split, strength: float, generator: torch.Generator
) -> Samples:
    dropped = _classes(data, _count(strength, data.num_classes - 1), generator)
    index = split.held_out.clone()
    places = torch.isin(data.labels[index], dropped).nonzero()[:, 0]
    spare = split.spare[~torch.isin(data.labels[split.spare], dropped)]
    fill = spare[torch.randperm(len(spare), generator=generator)][: len(places)]
    if len(places) > len(fill):
        pool = torch.cat([index[~torch.isin(data.labels[index], dropped)], fill])
        extra = torch.randint(len(pool), (len(places) - len(fill),), generator=generator)
        fill = torch.cat([fill, pool[extra]])
    index[places] = fill
    return _pick(data, index)


def mode_collapse(
    data: RealData, split: Split, strength: float, generator: torch.Generator
) -> Samples:
    index = split.held_out.clone()
    labels = data.labels[index]
    for label in _classes(data, _count(strength, data.num_classes), generator):
        members = (labels == label).nonzero()[:, 0]
        if len(members) == 0:
            continue
        kept = members[torch.randperm(len(members), generator=generator)[:COLLAPSED_TO]]
        choice = torch.randint(len(kept), (len(members),), generator=generator)
        index[members] = index[kept[choice]]
    return _pick(data, index)


def memorisation(
    data: RealData, split: Split, strength: float, generator: torch.Generator
) -> Samples:
    index = split.held_out.clone()
    count = _count(strength, len(index))
    places = torch.randperm(len(index), generator=generator)[:count]
    copies = torch.randperm(len(split.reference), generator=generator)[:count]
    index[places] = split.reference[copies]
    return _pick(data, index)


def gaussian_noise(
    data: RealData, split: Split, strength: float, generator: torch.Generator
) -> Samples:
    samples = _pick(data, split.held_out)
    if strength > 0:
        noise = torch.randn(samples.images.shape, generator=generator)
        samples.images = (samples.images + strength * NOISE_STD * noise).clamp(0.0, 1.0)
        samples.altered = True
    return samples


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """``images`` ``(N, C, H, W)`` blurred with a separable Gaussian of standard deviation
    ``sigma`` pixels: the kernel reaches 3 sigma rounded to a pixel (as scipy's
    ``gaussian_filter``, but at most the image side less one), edges mirrored."""
    if sigma <= 0:
        return images
    radius = min(math.floor(3 * sigma + 0.5), min(images.shape[-2:]) - 1)
    offsets = torch.arange(-radius, radius + 1, dtype=images.dtype)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    channels = images.shape[1]
    rows = kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)
    padded = F.pad(images, (radius, radius, 0, 0), mode="reflect")
    out = F.conv2d(padded, rows, groups=channels)
    padded = F.pad(out, (0, 0, radius, radius), mode="reflect")
    return F.conv2d(padded, rows.transpose(2, 3), groups=channels)


def blur(data: RealData, split: Split, strength: float, generator: torch.Generator) -> Samples:
    samples = _pick(data, split.held_out)
    samples.images = gaussian_blur(samples.images, strength * BLUR_SIGMA * data.images.shape[-1])
    samples.altered = strength > 0
    return samples


def mixing(data: RealData, split: Split, strength: float, generator: torch.Generator) -> Samples:
    samples = _pick(data, split.held_out)
    count = _count(strength, len(split.held_out))
    places = torch.randperm(len(split.held_out), generator=generator)[:count]
    flat = samples.images[places].flatten(1)
    order = torch.rand(flat.shape, generator=generator).argsort(1)
    samples.images[places] = flat.gather(1, order).view_as(samples.images[places])
    samples.labels[places] = NOT_REAL
    samples.source[places] = NOT_REAL
    samples.altered = count > 0
    return samples


Corruption = Callable[[RealData, Split, float, torch.Generator], Samples]

CORRUPTIONS: dict[str, tuple[Corruption, str]] = {
    "mode_dropping": (mode_dropping, "classes removed (up to all but one)"),
    "mode_collapse": (mode_collapse, f"classes collapsed to copies of {COLLAPSED_TO} samples"),
    "memorisation": (memorisation, "samples replaced by copies of reference (training) samples"),
    "gaussian_noise": (gaussian_noise, f"additive Gaussian noise, std up to {NOISE_STD}"),
    "blur": (blur, f"Gaussian blur, sigma up to {BLUR_SIGMA} x the image side"),
    "mixing": (mixing, "samples replaced by images of shuffled pixels"),
}
"""Each corruption's function and a line saying what full strength means."""


def corruption_generator(seed: int, repeat: int, corruption: str) -> torch.Generator:
    """The random stream of one corruption in one repeat, from the study's seed
    (``numpy.random.SeedSequence``). Every strength starts from the same stream, so the stronger
    corruptions extend the weaker ones (the same classes dropped first, the same samples
    memorised first, the same noise scaled up) and the curves are smooth."""
    code = list(CORRUPTIONS).index(corruption)
    state = np.random.SeedSequence([seed, repeat, code]).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def corrupt(
    name: str, data: RealData, split: Split, strength: float, generator: torch.Generator
) -> Samples:
    """The held-out set of ``split`` with corruption ``name`` at ``strength`` in ``[0, 1]``,
    drawing what it needs from ``generator``."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must lie in [0, 1], got {strength}")
    function, _ = CORRUPTIONS[name]
    return function(data, split, strength, generator)
