"""The restricted unpickler: the allow-list its caller passes decides what a pickle may name."""

import collections
import io
import os
import pickle

import numpy as np
import pytest

from labcore.data import DataError
from labcore_builtins.data.restricted_pickle import (
    CONTAINERS,
    NUMPY_ARRAYS,
    NUMPY_BUFFERS,
    NUMPY_SCALARS,
    AllowList,
    load_restricted_pickle,
)

ARRAYS = AllowList({**NUMPY_ARRAYS, **NUMPY_BUFFERS, **CONTAINERS}, "arrays, lists and dicts")


def load(data: bytes, allowed: AllowList = ARRAYS, encoding: str = "latin1"):
    return load_restricted_pickle(io.BytesIO(data), "some.file", allowed, encoding=encoding)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_numpy_arrays_in_lists_and_dicts_read_back_under_every_protocol(protocol):
    value = {"x": np.arange(12, dtype=np.float32).reshape(3, 4), "y": [np.int8(-1).item(), 7]}
    read = load(pickle.dumps(value, protocol=protocol))
    assert read.keys() == value.keys() and read["y"] == [-1, 7]
    assert read["x"].dtype == np.float32 and np.array_equal(read["x"], value["x"])


def test_the_allow_list_decides_which_names_resolve():
    data = pickle.dumps(collections.defaultdict(list, {0: [1, 2]}), protocol=2)
    with pytest.raises(DataError, match=r"some\.file cannot be read.*names collections\."
                       r"defaultdict.*only arrays, lists and dicts are read"):
        load(data)
    graphs = AllowList(
        {**ARRAYS.names, ("collections", "defaultdict"): collections.defaultdict}, "graphs"
    )
    assert load(data, graphs) == {0: [1, 2]}
    scalar = pickle.dumps(np.float64(1.5), protocol=2)
    with pytest.raises(DataError, match=r"names numpy\._?core\.multiarray\.scalar"):
        load(scalar)
    assert load(scalar, AllowList({**ARRAYS.names, **NUMPY_SCALARS}, "scalars")) == 1.5


class Payload:
    """Unpickling this runs ``touch <marker>``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_pickle_that_runs_code_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "payload-ran"
    with pytest.raises(DataError, match=r"some\.file cannot be read.*names posix\.system"):
        load(pickle.dumps([1, Payload(marker)], protocol=2))
    assert not marker.exists()


def test_a_truncated_pickle_is_named():
    with pytest.raises(DataError, match=r"some\.file cannot be read as a data pickle.*original"):
        load(pickle.dumps(np.ones(100), protocol=2)[:50])


def test_the_encoding_reads_python_2_strings_as_bytes_or_str():
    python2_string = b"\x80\x02U\x03abcq\x00."  # what Python 2 writes for 'abc'
    assert load(python2_string, encoding="bytes") == b"abc"
    assert load(python2_string, encoding="latin1") == "abc"
