"""A trained classifier run as a feature extractor: the domain's own "Inception network".

On small domains (digits, MNIST) an ImageNet network measures little; a classifier trained on the
same data is the usual substitute (as in the MNIST experiments of Xu et al., 2018). Any run of a
model with ``features(x)`` (penultimate features ``(N, F)``) and ``forward(x)`` (logits ``(N, K)``)
serves, e.g. the runs of the ``classifier-digits`` and ``classifier-mnist`` recipes.
"""

from __future__ import annotations

import dataclasses

import torch

from labcore.features.base import FeatureExtractor, rescale, state_dict_sha256
from labcore.schema import hp


@dataclasses.dataclass
class ClassifierFeaturesConfig:
    run: str = hp("", "run folder of a trained classifier (e.g. of the classifier-digits recipe)")


class ClassifierFeatures(FeatureExtractor):
    """Penultimate features and logits of a trained classifier run (a domain extractor)."""

    name = "classifier"
    Config = ClassifierFeaturesConfig

    def __init__(self, config: ClassifierFeaturesConfig) -> None:
        super().__init__(config)
        if not config.run:
            raise ValueError(
                "the classifier extractor needs a trained classifier: set [evaluate.extractor] "
                'run = "<run folder>" (train one with `labcore run classifier-digits` or '
                "`labcore run classifier-mnist`)"
            )
        from labcore.runfolder import load_model

        model, _, info = load_model(config.run, "cpu")
        for method in ("features", "forward"):
            if not callable(getattr(model, method, None)):
                raise TypeError(
                    f"run {config.run}: model {getattr(model, 'name', type(model).__name__)!r} "
                    f"has no {method}(x); a classifier extractor needs features(x) and forward(x)"
                )
        self.model = model.eval()
        self.shape = tuple(info.get("shape", ()))
        self.value_range = tuple(info.get("value_range", (0.0, 1.0)))

    @property
    def weights_sha256(self) -> str:
        """SHA-256 of the classifier's own parameters and buffers (as its checkpoint names them)."""
        return state_dict_sha256(self.model)

    @torch.no_grad()
    def extract(
        self, images: torch.Tensor, value_range: tuple[float, float] = (0.0, 1.0)
    ) -> dict[str, torch.Tensor]:
        if self.shape and tuple(images.shape[1:]) != self.shape:
            raise ValueError(
                f"the classifier of run {self.config.run} takes images of shape {self.shape}, "
                f"got {tuple(images.shape[1:])}; pick a classifier trained on this dataset"
            )
        x = rescale(images.float(), tuple(value_range), self.value_range)
        return {"features": self.model.features(x).flatten(1), "logits": self.model(x)}
