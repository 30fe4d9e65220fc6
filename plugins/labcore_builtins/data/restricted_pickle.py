"""Unpickling array files without running their code.

``pickle.load`` calls whatever function a pickle names (``os.system`` included), so a data file
from elsewhere must not be unpickled as is. :func:`load_array_pickle` resolves only the names of
numpy arrays, lists and dicts and refuses every other one before anything is called; bytes, str
and int need no name. That is what the python versions of the CIFAR archives hold (pickles of
Python 2, hence the module name ``__builtin__``), and what numpy writes under any protocol.
"""

from __future__ import annotations

import codecs
import pickle
from typing import IO, Any

import numpy as np

from labcore.data import DataError

# numpy's pickle helpers moved from numpy.core to numpy._core in numpy 2; take them from what
# numpy itself writes, so that both module names resolve to the installed functions.
_RECONSTRUCT = np.ndarray((0,)).__reduce__()[0]
_FROMBUFFER = np.ndarray((0,)).__reduce_ex__(5)[0]
NUMPY_CORES = ("numpy.core", "numpy._core")

ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    **{(f"{core}.multiarray", "_reconstruct"): _RECONSTRUCT for core in NUMPY_CORES},
    **{(f"{core}.numeric", "_frombuffer"): _FROMBUFFER for core in NUMPY_CORES},
    ("__builtin__", "list"): list,
    ("builtins", "list"): list,
    ("__builtin__", "dict"): dict,
    ("builtins", "dict"): dict,
    # Python 3 writes bytes in protocol 2 as _codecs.encode(text, "latin1")
    ("_codecs", "encode"): codecs.encode,
}


class ArrayUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the names in :data:`ALLOWED`."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"it names {module}.{name}, which a data file has no need of (only numpy "
                "arrays, lists, dicts, bytes, str and int are read)"
            ) from None


def load_array_pickle(file: IO[bytes], name: str) -> Any:
    """The object pickled in the open binary ``file`` (strings of Python 2 read as bytes, as
    ``encoding='bytes'`` does), built from allowed types only.

    Raises:
        DataError: naming ``name`` (the file or archive member), when the pickle refers to
            anything else or is truncated or corrupt.
    """
    try:
        return ArrayUnpickler(file, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, MemoryError) as exc:
        raise DataError(
            f"{name} cannot be read as a data pickle: {exc or type(exc).__name__}; "
            "replace the file with the original"
        ) from exc
