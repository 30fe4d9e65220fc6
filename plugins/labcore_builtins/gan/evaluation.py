"""Sample-based evaluation that needs the conditions: a conditional GAN's samples of chosen classes,
and an image-to-image model's outputs for a split's inputs.

:func:`labcore.metrics.evaluate_generative` draws unconditional samples; these functions add what a
conditional model is judged by, with the same feature extractors and metrics:

- :func:`class_accuracy`: the share of samples requested for class ``c`` that the domain classifier
  assigns to ``c`` (per class and overall), the usual check that a cGAN obeys its label;
- :func:`translation_metrics`: the ``[evaluate]`` metrics (FID, KID, ...), L1, PSNR and SSIM of
  the outputs for a split's inputs against the split's targets, and the same for the
  copy-the-input baseline.
"""

from __future__ import annotations

from typing import Any

import torch

from labcore.metrics.generative import batches, compare
from labcore_builtins.gan.similarity import (
    l1_per_image,
    psnr_per_image,
    ssim_per_image,
    ssim_sigma_for,
)


def class_accuracy(
    model: Any,
    extractor: Any,
    value_range: tuple[float, float],
    num_classes: int,
    per_class: int = 100,
    seed: int = 0,
    batch_size: int = 500,
) -> dict[str, float]:
    """How often the classifier ``extractor`` recognises the class each sample was drawn for.

    Draws ``per_class`` samples of every class with ``model.sample(n, generator=g,
    condition=labels)`` (``g`` seeded with ``seed``) and compares the argmax of the extractor's
    ``logits`` with the requested labels. Returns ``class_accuracy`` (overall) and
    ``class_accuracy/<c>`` for each class ``c``.
    """
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(num_classes).repeat_interleave(per_class)
    correct = []
    with torch.no_grad():
        for chunk in labels.split(batch_size):
            images = model.sample(len(chunk), generator=generator, condition=chunk)
            logits = extractor.extract(images, value_range)["logits"]
            correct.append(logits.argmax(dim=1).cpu() == chunk)
    hits = torch.cat(correct).double()
    per = hits.view(num_classes, per_class).mean(dim=1)
    out = {"class_accuracy": hits.mean().item()}
    out.update({f"class_accuracy/{c}": per[c].item() for c in range(num_classes)})
    return out


def translate_split(
    model: Any, inputs: torch.Tensor, batch_size: int, seed: int = 0
) -> torch.Tensor:
    """The model's outputs for ``inputs`` ``(N, C_in, H, W)``, noise drawn with ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        outputs = [
            model.sample(len(b), generator=generator, condition=b)
            for b in batches(inputs, batch_size)
        ]
    return torch.cat(outputs)


def translation_metrics(
    model: Any, split: Any, config: Any, value_range: tuple[float, float], device: Any,
    registry: Any,
) -> dict[str, dict[str, float]]:  # fmt: skip
    """The ``[evaluate]`` metrics, L1, PSNR and SSIM of a translation model and of copying input.

    Real side: the targets ``split["x"]``; generated side: the model's outputs for the inputs
    ``split["condition"]`` (``"model"``; dropout noise from a generator seeded with
    ``config.seed``, in batches of ``config.batch_size``, as ``evaluate`` draws it), and, when
    inputs and targets have one shape, the inputs themselves (``"copy-input"``): what a model that
    learned nothing but the identity would give. ``config`` is the run's
    :class:`~labcore.metrics.EvaluateConfig`.
    """
    targets, inputs = split["x"], split["condition"]
    outputs = translate_split(model, inputs, config.batch_size, config.seed)
    candidates = [("model", outputs)]
    if inputs.shape == targets.shape:
        candidates.append(("copy-input", inputs))
    low, high = value_range
    sigma = ssim_sigma_for(*targets.shape[-2:])
    real = {"images": targets, "value_range": value_range}
    results = {}
    for name, images in candidates:
        fake = {"images": images, "value_range": value_range}
        results[name], _ = compare(real, fake, config, device, registry)
        results[name].update(
            l1=l1_per_image(images, targets).mean().item(),
            psnr=psnr_per_image(images, targets, high - low).mean().item(),
            ssim=ssim_per_image(images, targets, high - low, sigma).mean().item(),
        )
    return results
