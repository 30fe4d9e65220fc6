"""Sample-based metrics of generative models: batched tensor code on features or logits.

Metric components (registered by the built-in ``metrics`` plugin): ``fid``, ``kid``, ``mmd``,
``is``, ``mode_score``, ``wasserstein``, ``1nn`` and ``prdc``; each is state + ``update`` +
``compute`` + ``reset`` (:class:`Metric`). The functions beneath them work on whole feature
tensors and can be used alone. :func:`evaluate_generative` runs the ``[evaluate]`` section of a
recipe (:class:`EvaluateConfig`). docs/metrics.md says where the definitions differ from other
tools'.

May import: the top-level modules of :mod:`labcore`, :mod:`labcore.recipes` and
:mod:`labcore.features`.
"""

from labcore.metrics.base import FeatureSetsMetric, Metric
from labcore.metrics.fid import FID, GaussianStats, frechet_distance
from labcore.metrics.generative import compare, evaluate_generative
from labcore.metrics.inception_score import InceptionScore, inception_score
from labcore.metrics.kernel import (
    KID,
    MMD,
    GaussianKernel,
    PolynomialKernel,
    median_bandwidth,
    mmd2_unbiased,
)
from labcore.metrics.mode_score import ModeScore
from labcore.metrics.nn import PRDC, OneNN, knn_radii, kth_neighbour, one_nn_accuracy, prdc
from labcore.metrics.wasserstein import Wasserstein, sliced_wasserstein1, wasserstein1
from labcore.recipes.evaluate import EvaluateConfig

BUILTIN_METRICS = (FID, KID, MMD, InceptionScore, ModeScore, Wasserstein, OneNN, PRDC)

__all__ = [
    "BUILTIN_METRICS",
    "FID",
    "KID",
    "MMD",
    "PRDC",
    "EvaluateConfig",
    "FeatureSetsMetric",
    "GaussianKernel",
    "GaussianStats",
    "InceptionScore",
    "Metric",
    "ModeScore",
    "OneNN",
    "PolynomialKernel",
    "Wasserstein",
    "compare",
    "evaluate_generative",
    "frechet_distance",
    "inception_score",
    "knn_radii",
    "median_bandwidth",
    "mmd2_unbiased",
    "kth_neighbour",
    "one_nn_accuracy",
    "prdc",
    "sliced_wasserstein1",
    "wasserstein1",
]
