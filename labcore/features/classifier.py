"""Trained classifiers as feature extractors: the domain's own "Inception network".

On small domains (digits, MNIST) an ImageNet network measures little; a classifier trained on the
same data is the usual substitute (as in the MNIST experiments of Xu et al., 2018). Any model with
``features(x)`` (penultimate features ``(N, F)``) and ``forward(x)`` (logits ``(N, K)``) serves.
:class:`TrainedClassifierFeatures` wraps such a model; :class:`ClassifierFeatures` (``classifier``)
takes it from a run folder, e.g. a run of the ``classifier-digits`` or ``classifier-mnist`` recipe.
Weights shipped with a plugin (the ``lenet5-digits`` and ``lenet5-mnist`` extractors of the
classifier family) subclass :class:`TrainedClassifierFeatures` too.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from labcore.features.base import FeatureExtractor, rescale, state_dict_sha256
from labcore.schema import hp


@dataclasses.dataclass
class ClassifierInputConfig:
    """How images reach a trained classifier."""

    center_crop: bool = hp(
        False,
        "centre-crop larger images to the classifier's input size instead of refusing them "
        "(MNIST padded to 32x32 back to its 28x28)",
    )


@dataclasses.dataclass
class ClassifierFeaturesConfig(ClassifierInputConfig):
    run: str = hp(
        "",
        "a trained classifier's run folder, or a folder of runs (its newest finished run), e.g. "
        "{out}/classifier-digits",
        path=True,
    )


def resolve_run(path: str | Path) -> Path:
    """``path`` if it is a run folder; in a folder of runs (``outputs/classifier-digits``) the
    newest finished one; otherwise a FileNotFoundError saying how to make one."""
    path = Path(path).expanduser()
    if (path / "recipe.toml").is_file():
        return path
    runs = sorted(p.parent for p in path.glob("*/recipe.toml")) if path.is_dir() else []
    finished = [r for r in runs if _status(r) == "finished"]
    if finished:
        return finished[-1]
    found = f"no finished run among {len(runs)}" if runs else "no run folder"
    raise FileNotFoundError(
        f"classifier extractor: {path} has {found}; train one with `labcore run "
        "classifier-digits` (or classifier-mnist) and point [evaluate.extractor] run at its "
        'run folder or at the folder holding its runs (run = "{out}/classifier-digits"), or use '
        'the LeNet-5 shipped with labcore (name = "lenet5-digits" or "lenet5-mnist")'
    )


def _status(run: Path) -> str | None:
    try:
        return json.loads((run / "status.json").read_text()).get("status")
    except (OSError, ValueError):
        return None


class TrainedClassifierFeatures(FeatureExtractor):
    """Penultimate features and logits of a trained classifier ``model`` of one image domain.

    ``info`` is the data info the model was trained with: images must have its ``shape`` and are
    rescaled from the value range they come in to its ``value_range``. ``source`` says where the
    weights came from (a run folder, a weights file) in metric reports. With ``center_crop``,
    images larger than ``shape`` by an even margin are centre-cropped to it first: MNIST padded to
    32x32 for the 32 px GANs is measured on exactly the 28x28 digits the classifier knows.
    """

    Config = ClassifierInputConfig

    def __init__(self, config: Any, model: nn.Module, info: dict[str, Any], source: str) -> None:
        super().__init__(config)
        for method in ("features", "forward"):
            if not callable(getattr(model, method, None)):
                raise TypeError(
                    f"{source}: model {getattr(model, 'name', type(model).__name__)!r} has no "
                    f"{method}(x); a classifier extractor needs features(x) and forward(x)"
                )
        self.model = model.eval()
        self.shape = tuple(info.get("shape", ()))
        self.value_range = tuple(info.get("value_range", (0.0, 1.0)))
        self._source = source

    @property
    def weights_sha256(self) -> str:
        """SHA-256 of the classifier's own parameters and buffers (as its checkpoint names them)."""
        return state_dict_sha256(self.model)

    @property
    def source(self) -> str:
        return self._source

    @torch.no_grad()
    def extract(
        self, images: torch.Tensor, value_range: tuple[float, float] = (0.0, 1.0)
    ) -> dict[str, torch.Tensor]:
        if getattr(self.config, "center_crop", False):
            images = center_crop(images, self.shape)
        if self.shape and tuple(images.shape[1:]) != self.shape:
            raise ValueError(
                f"the classifier of {self.source} takes images of shape {self.shape}, "
                f"got {tuple(images.shape[1:])}; pick a classifier trained on this dataset (or "
                "set [evaluate.extractor] center_crop = true for images padded around its input)"
            )
        x = rescale(images.float(), tuple(value_range), self.value_range)
        return {"features": self.model.features(x).flatten(1), "logits": self.model(x)}


def center_crop(images: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """The central ``shape[1:]`` window of ``images (N, C, H, W)``; unchanged when it does not
    fit (same size, smaller, an odd margin or other channels), for the shape check to report."""
    if len(shape) != 3 or images.dim() != 4 or images.shape[1] != shape[0]:
        return images
    (height, width), (h, w) = images.shape[2:], shape[1:]
    if (height, width) == (h, w) or height < h or width < w or (height - h) % 2 or (width - w) % 2:
        return images
    top, left = (height - h) // 2, (width - w) // 2
    return images[:, :, top : top + h, left : left + w]


class ClassifierFeatures(TrainedClassifierFeatures):
    """Penultimate features and logits of a trained classifier run (a domain extractor)."""

    name = "classifier"
    Config = ClassifierFeaturesConfig

    def __init__(self, config: ClassifierFeaturesConfig) -> None:
        if not config.run:
            raise ValueError(
                "the classifier extractor needs a trained classifier: set [evaluate.extractor] "
                'run = "<run folder>" (train one with `labcore run classifier-digits` or '
                "`labcore run classifier-mnist`)"
            )
        from labcore.runfolder import load_model

        run_dir = resolve_run(config.run)
        model, _, info = load_model(run_dir, "cpu")
        super().__init__(config, model, info, str(run_dir))
        self.run_dir = run_dir
