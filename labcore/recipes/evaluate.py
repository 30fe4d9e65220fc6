"""The ``[evaluate]`` section of a recipe: which sample-based metrics, on what, with what options.

::

    [evaluate]
    split = "test"
    metrics = ["fid", "kid", "1nn", "prdc"]
    num_samples = 1000
    knn_k = 5
    [evaluate.extractor]
    name = "classifier"          # a feature extractor component + its hyperparameters
    run = "{out}/classifier-digits"

A metric's options are the ``[evaluate]`` keys of the same name as its ``Config`` fields
(``kid_subsets`` for KID, ``knn_k`` for precision/recall, ``chunk_size`` for every pairwise metric,
``seed`` for KID's subsets and the sliced Wasserstein distance's directions).
"""

from __future__ import annotations

import dataclasses

from labcore.schema import hp


@dataclasses.dataclass
class EvaluateConfig:
    """Hyperparameters of the generative evaluation (the ``[evaluate]`` section)."""

    split: str = hp("test", "dataset split the real images come from")
    metrics: list[str] = hp(
        [], "sample-based metrics: fid, kid, mmd, is, mode_score, wasserstein, 1nn, prdc"
    )
    num_samples: int = hp(1000, "generated samples drawn for the metrics")
    num_real: int = hp(
        0, "real images used, a fixed random subset of the split (0: as many as num_samples)"
    )
    batch_size: int = hp(256, "images per sampling and feature-extraction batch")
    chunk_size: int = hp(1024, "tile edge of the pairwise products (memory ~ chunk_size^2)")
    seed: int = hp(0, "seed of the sample generator and of KID's subsets")
    extractor: dict = hp({}, "[evaluate.extractor]: the feature extractor's name + hyperparameters")
    cache_dir: str = hp(
        "",
        "reference statistics cache ('': $LABCORE_CACHE_DIR or ~/.cache/labcore/reference)",
        path=True,
    )
    is_splits: int = hp(10, "Inception Score: splits for the mean and standard deviation")
    kid_subsets: int = hp(100, "KID: random subsets averaged (0: one estimate on all samples)")
    kid_subset_size: int = hp(
        1000, "KID: samples per subset and side (not below the smaller side: one estimate on all)"
    )
    knn_k: int = hp(5, "precision/recall, density/coverage: k of the k-NN radii")
    mmd_bandwidth: float = hp(0.0, "Gaussian MMD: kernel bandwidth (0: median heuristic)")
    wasserstein_exact_max: int = hp(
        2000, "Wasserstein: largest side solved exactly (above it: the sliced distance)"
    )
    wasserstein_projections: int = hp(1000, "Wasserstein: random directions of the sliced one")
    noise_floor: bool = hp(
        True, "also measure each two-sample metric between two disjoint real sets (real vs real)"
    )

    def __post_init__(self) -> None:
        positive = {
            "num_samples": self.num_samples,
            "batch_size": self.batch_size,
            "chunk_size": self.chunk_size,
            "is_splits": self.is_splits,
            "kid_subset_size": self.kid_subset_size,
            "knn_k": self.knn_k,
            "wasserstein_exact_max": self.wasserstein_exact_max,
            "wasserstein_projections": self.wasserstein_projections,
        }
        for key, value in positive.items():
            if value < 1:
                raise ValueError(f"{key} must be at least 1, got {value}")
        for key in ("num_real", "kid_subsets"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key} must be 0 or more, got {getattr(self, key)}")
        if self.mmd_bandwidth < 0:
            raise ValueError(
                f"mmd_bandwidth must be 0 (median heuristic) or positive, got {self.mmd_bandwidth}"
            )
        if self.metrics and not self.extractor.get("name"):
            raise ValueError(
                "metrics need a feature extractor: add an [evaluate.extractor] table with its "
                'name, e.g. name = "lenet5-digits" (shipped with labcore), or name = "classifier" '
                'and run = "<classifier run folder>", or name = "inception-v3-fid"'
            )
