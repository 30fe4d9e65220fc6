"""labcore: a plugin-based lab for generative models and graph neural networks.

Public API for plugin authors, stable within a plugin API version (``PLUGIN_API_VERSION``):
``hookimpl``, ``hp``, ``Model``, ``Dataset``, ``DataBundle``, ``DataError``, ``TensorSplit``,
``FullBatch``, ``ItemSplit`` from this module, and the modules :mod:`labcore.hookspecs`,
:mod:`labcore.model`, :mod:`labcore.metrics`, :mod:`labcore.features`, :mod:`labcore.report`,
:mod:`labcore.runfolder`, :mod:`labcore.images` and :mod:`labcore.testing`
(see docs/plugins.md, "The compatibility promise").
"""

import pluggy

__version__ = "0.1.0"
PLUGIN_API_VERSION = 1

hookimpl = pluggy.HookimplMarker("labcore")

from labcore.data import (  # noqa: E402
    DataBundle,
    DataError,
    Dataset,
    FullBatch,
    ItemSplit,
    TensorSplit,
)
from labcore.model import Model  # noqa: E402
from labcore.moved import install as _install_moved_paths  # noqa: E402
from labcore.schema import hp  # noqa: E402

_install_moved_paths()

__all__ = [
    "PLUGIN_API_VERSION",
    "DataBundle",
    "DataError",
    "Dataset",
    "FullBatch",
    "ItemSplit",
    "Model",
    "TensorSplit",
    "hookimpl",
    "hp",
]
