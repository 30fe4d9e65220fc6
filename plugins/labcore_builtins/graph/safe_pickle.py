"""Unpickling data files without running their code.

``pickle.load`` calls whatever function a pickle names (``os.system`` included), so a data file
from elsewhere must not be unpickled as is. :class:`RestrictedUnpickler` resolves only the names
on an allow-list of data types and refuses every other one before anything is called; objects
are then built from those types alone. The allow-list is what the Planetoid files of Kipf's GCN
repository hold (pickles of Python 2, hence the module name ``__builtin__``).
"""

from __future__ import annotations

import codecs
import collections
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse

from labcore.data import DataError

# numpy's pickle helpers moved from numpy.core to numpy._core in numpy 2; take them from what
# numpy itself writes, so that both module names resolve to the installed functions.
_RECONSTRUCT = np.ndarray((0,)).__reduce__()[0]
_SCALAR = np.float64(0).__reduce__()[0]

ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    **{
        (module, name): getattr(scipy.sparse, name)
        for name in ("csr_matrix", "csc_matrix", "coo_matrix")
        for module in (
            "scipy.sparse",
            f"scipy.sparse.{name[:3]}",
            f"scipy.sparse._{name[:3]}",
        )
    },
    ("__builtin__", "list"): list,
    ("builtins", "list"): list,
    ("__builtin__", "dict"): dict,
    ("builtins", "dict"): dict,
    ("collections", "defaultdict"): collections.defaultdict,
    # Python 3 writes bytes in protocol 2 as _codecs.encode(text, "latin1")
    ("_codecs", "encode"): codecs.encode,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the names in :data:`ALLOWED`."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"it names {module}.{name}, which a data file has no need of (only numpy "
                "arrays, scipy sparse matrices, lists and dicts are read)"
            ) from None


def load_data_pickle(path: Path) -> Any:
    """The object pickled in ``path`` (Python 2 pickles read as latin-1), built from allowed
    types only.

    Raises:
        DataError: naming the file, when it refers to anything else or is truncated or corrupt.
    """
    try:
        with open(path, "rb") as f:
            return RestrictedUnpickler(f, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, MemoryError) as exc:
        raise DataError(
            f"{path} cannot be read as a data pickle: {exc or type(exc).__name__}; "
            "replace the file with the original"
        ) from exc
