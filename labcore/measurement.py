"""What a run's numbers were measured with, and which way each of its metrics is better.

Sample-based metrics (FID, KID, precision, ...; keys without a ``split/`` prefix) depend on the
feature extractor, its weights and the sample counts as much as on the model: a FID on 1,000
samples is not the FID on 10,000, nor one measured with other weights. :class:`Setting` is that
measurement setting, read from an evaluation record (``metrics.json``); comparisons put only
numbers of one setting in a ranked column.

The direction of a metric comes from the record, where each metric declares it
(``evaluation.higher_is_better``, from :attr:`labcore.metrics.base.Metric.higher_is_better`);
the words of its name decide only for the model's own metrics (``test/accuracy``, ``val/loss``)
and for records written before directions were recorded.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

Mode = Literal["max", "min"]

SHA_DIGITS = 12
"""Hex digits of the extractor weights' SHA-256 shown to people."""


@dataclasses.dataclass(frozen=True)
class Setting:
    """The measurement setting of an evaluation's sample-based metrics."""

    extractor: str | None
    weights_sha256: str | None
    num_real: int | None
    num_generated: int | None

    def describe(self) -> str:
        """``lenet5-digits (weights 29967d23a461), 359 real / 359 generated samples``."""
        name = self.extractor or "an unnamed extractor"
        weights = f" (weights {self.weights_sha256[:SHA_DIGITS]})" if self.weights_sha256 else ""
        counts = f"{_count(self.num_real)} real / {_count(self.num_generated)} generated samples"
        return f"{name}{weights}, {counts}"

    def short(self) -> str:
        """``lenet5-digits@29967d23a461 359/359``, for one cell of a text table."""
        name = self.extractor or "?"
        weights = f"@{self.weights_sha256[:SHA_DIGITS]}" if self.weights_sha256 else ""
        return f"{name}{weights} {_count(self.num_real)}/{_count(self.num_generated)}"

    def differences(self, other: Setting) -> list[str]:
        """The parts in which ``other`` differs from this setting, in words."""
        parts = []
        if self.extractor != other.extractor:
            parts.append("feature extractor")
        elif self.weights_sha256 != other.weights_sha256:
            parts.append("extractor weights")
        if (self.num_real, self.num_generated) != (other.num_real, other.num_generated):
            parts.append("sample counts")
        return parts


def _count(value: int | None) -> str:
    return "?" if value is None else str(value)


def is_sample_based(metric: str) -> bool:
    """Whether ``metric`` is a sample-based metric (no ``split/`` prefix, unlike the model's)."""
    return "/" not in metric


def setting(record: dict[str, Any]) -> Setting | None:
    """The setting the sample-based metrics of an evaluation record were measured with; None
    when it has none."""
    metrics = record.get("metrics") or {}
    details = record.get("evaluation") or {}
    if not isinstance(details, dict) or not any(map(is_sample_based, metrics)):
        return None
    extractor = details.get("extractor")
    if isinstance(extractor, dict):
        name, sha = extractor.get("name"), extractor.get("weights_sha256")
    else:
        name, sha = extractor, details.get("weights_sha256")
    return Setting(
        extractor=name if isinstance(name, str) else None,
        weights_sha256=sha if isinstance(sha, str) else None,
        num_real=details.get("num_real"),
        num_generated=details.get("num_generated"),
    )


#: Words in a metric's name that mean lower values are better (looked for first).
LOWER_IS_BETTER = (
    "loss", "fid", "kid", "mmd", "error", "bits_per_char", "bpc", "perplexity", "nll", "mse",
    "mae", "distance",
)  # fmt: skip

#: Words in a metric's name that mean higher values are better.
HIGHER_IS_BETTER = (
    "accuracy", "elbo", "iwae", "f1", "auc", "precision", "recall", "coverage", "density",
    "likelihood", "inception_score", "covered",
)  # fmt: skip


def lower_is_better(metric: str) -> bool:
    """Whether smaller values of ``metric`` are better, judged by the words in its name (for the
    model's own metrics and old records: see :func:`direction`)."""
    name = metric.lower()
    return any(word in name for word in LOWER_IS_BETTER)


def declared_mode(metric: str) -> Mode | None:
    """``"min"`` or ``"max"`` when the name of ``metric`` says which way is better, else None."""
    name = metric.rsplit("/", 1)[-1].lower()
    if lower_is_better(name):
        return "min"
    if any(word in name for word in HIGHER_IS_BETTER):
        return "max"
    return None


def name_direction(metric: str) -> bool | None:
    """Whether higher values of ``metric`` are better, judged by the words of its name (see
    :func:`declared_mode`); None when the name does not say."""
    mode = declared_mode(metric)
    return None if mode is None else mode == "max"


def direction(record: dict[str, Any], metric: str) -> bool | None:
    """Whether higher values of ``metric`` are better: as its metric declared it in the record
    (``evaluation.higher_is_better``; None there means neither), else by its name."""
    details = record.get("evaluation") or {}
    declared = details.get("higher_is_better") if isinstance(details, dict) else None
    if isinstance(declared, dict) and metric in declared:
        return declared[metric]
    return name_direction(metric)


def is_discriminator_output(metric: str) -> bool:
    """Whether ``metric`` reports a GAN's discriminator or critic (``test/d_real``,
    ``d_accuracy``): a number about the game, not the model's quality."""
    name = metric.rsplit("/", 1)[-1].lower()
    return name.startswith(("d_", "critic")) or "discriminator" in name
