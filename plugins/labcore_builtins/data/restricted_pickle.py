"""Unpickling data files without running their code.

``pickle.load`` calls whatever function a pickle names (``os.system`` included), so a data file
from elsewhere must not be unpickled as is. :func:`load_restricted_pickle` resolves only the
names on the :class:`AllowList` its caller passes, the types that kind of file holds, and
refuses every other one before anything is called; bytes, str and int need no name. Each reader
builds its list from the pieces here: the CIFAR archives hold numpy arrays in lists and dicts,
the Planetoid files add numpy scalars, scipy sparse matrices and ``collections.defaultdict``.
Both are pickles of Python 2, hence the module name ``__builtin__``.

The data family imports no other family, so the graph family's Planetoid reader imports this
module without making a cycle.
"""

from __future__ import annotations

import codecs
import dataclasses
import pickle
from collections.abc import Mapping
from typing import IO, Any

import numpy as np

from labcore.data import DataError

# numpy's pickle helpers moved from numpy.core to numpy._core in numpy 2; take them from what
# numpy itself writes, so that both module names resolve to the installed functions.
_RECONSTRUCT = np.ndarray((0,)).__reduce__()[0]
_FROMBUFFER = np.ndarray((0,)).__reduce_ex__(5)[0]
_SCALAR = np.float64(0).__reduce__()[0]
NUMPY_CORES = ("numpy.core", "numpy._core")

#: numpy arrays as every protocol up to 4 writes them.
NUMPY_ARRAYS: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    **{(f"{core}.multiarray", "_reconstruct"): _RECONSTRUCT for core in NUMPY_CORES},
}
#: numpy arrays as protocol 5 writes them (out of a buffer).
NUMPY_BUFFERS: dict[tuple[str, str], Any] = {
    (f"{core}.numeric", "_frombuffer"): _FROMBUFFER for core in NUMPY_CORES
}
#: numpy scalars (``np.float64(1.5)``).
NUMPY_SCALARS: dict[tuple[str, str], Any] = {
    (f"{core}.multiarray", "scalar"): _SCALAR for core in NUMPY_CORES
}
#: lists and dicts under their Python 2 and 3 module names, and bytes as Python 3 writes them
#: in protocol 2: ``_codecs.encode(text, "latin1")``.
CONTAINERS: dict[tuple[str, str], Any] = {
    ("__builtin__", "list"): list,
    ("builtins", "list"): list,
    ("__builtin__", "dict"): dict,
    ("builtins", "dict"): dict,
    ("_codecs", "encode"): codecs.encode,
}


@dataclasses.dataclass(frozen=True)
class AllowList:
    """The global names a kind of data file may hold, ``(module, name)`` to the object it
    resolves to, and how a refusal describes them (``"numpy arrays, lists and dicts"``)."""

    names: Mapping[tuple[str, str], Any]
    description: str


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the names of its :class:`AllowList`."""

    def __init__(self, file: IO[bytes], allowed: AllowList, *, encoding: str) -> None:
        super().__init__(file, encoding=encoding)
        self.allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self.allowed.names[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"it names {module}.{name}, which a data file has no need of (only "
                f"{self.allowed.description} are read)"
            ) from None


def load_restricted_pickle(
    file: IO[bytes], name: str, allowed: AllowList, *, encoding: str
) -> Any:
    """The object pickled in the open binary ``file``, built from the types ``allowed`` only.

    ``encoding`` is :class:`pickle.Unpickler`'s, for the strings of Python 2 pickles:
    ``"bytes"`` keeps them bytes, ``"latin1"`` decodes them to str.

    Raises:
        DataError: naming ``name`` (the file or archive member), when the pickle refers to
            anything else or is truncated or corrupt.
    """
    try:
        return RestrictedUnpickler(file, allowed, encoding=encoding).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, MemoryError) as exc:
        raise DataError(
            f"{name} cannot be read as a data pickle: {exc or type(exc).__name__}; "
            "replace the file with the original"
        ) from exc
