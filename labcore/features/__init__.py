"""Feature extractors: images to the features and logits the metrics work on.

Components (registered by the built-in ``metrics`` plugin): ``inception-v3-fid`` (the FID
Inception-v3, weights from a local file) and ``classifier`` (a trained classifier run of the same
domain). :class:`TrainedClassifierFeatures` is the base of extractors made of a trained classifier,
such as the classifier family's shipped ``lenet5-digits`` and ``lenet5-mnist``.
:class:`ReferenceCache` keeps the real side's statistics of a dataset split on disk.

May import: the top-level modules of :mod:`labcore` and :mod:`labcore.recipes`.
"""

from labcore.features.base import FeatureExtractor, file_sha256, rescale, state_dict_sha256
from labcore.features.cache import ReferenceCache, default_cache_dir, tensor_sha256
from labcore.features.classifier import ClassifierFeatures, TrainedClassifierFeatures
from labcore.features.inception import FIDInceptionV3, InceptionV3FID

BUILTIN_EXTRACTORS = (InceptionV3FID, ClassifierFeatures)

__all__ = [
    "BUILTIN_EXTRACTORS",
    "ClassifierFeatures",
    "FIDInceptionV3",
    "FeatureExtractor",
    "InceptionV3FID",
    "ReferenceCache",
    "TrainedClassifierFeatures",
    "default_cache_dir",
    "file_sha256",
    "rescale",
    "state_dict_sha256",
    "tensor_sha256",
]
