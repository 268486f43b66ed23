"""The restricted unpickler: plain data and numpy arrays pass, anything callable is refused."""

from __future__ import annotations

import os
import pickle
import subprocess

import numpy as np
import pytest

from benchmark.data.safe_pickle import safe_load_file, safe_loads
from benchmark.errors import FptError


class SystemCall:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class EvalCall:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


class PopenCall:
    def __reduce__(self):
        return (subprocess.Popen, (["true"],))


@pytest.mark.parametrize("proto", [0, 2, 4, 5])
def test_os_system_reduce_is_refused_and_not_run(tmp_path, proto):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({b"data": SystemCall(str(marker))}, protocol=proto)
    with pytest.raises(FptError, match=r"refusing to unpickle 'evil.pkl'.*system"):
        safe_loads(payload, source="evil.pkl")
    assert not marker.exists()


@pytest.mark.parametrize("obj", [EvalCall(), PopenCall()])
def test_other_callables_are_refused(obj):
    with pytest.raises(FptError, match="refusing"):
        safe_loads(pickle.dumps(obj))


def test_arbitrary_classes_are_refused():
    with pytest.raises(FptError, match="collections.OrderedDict"):
        import collections

        safe_loads(pickle.dumps(collections.OrderedDict(a=1)))


def test_codecs_encode_only_for_text_to_bytes():
    class Rot13:
        def __reduce__(self):
            import codecs

            return (codecs.encode, ("abc", "rot13"))

    with pytest.raises(FptError):
        safe_loads(pickle.dumps(Rot13(), protocol=2))


@pytest.mark.parametrize("proto", [0, 1, 2, 3, 4, 5])
def test_plain_data_and_numpy_arrays_round_trip(proto):
    obj = {b"data": np.arange(24, dtype=np.uint8).reshape(2, 12), "labels": [1, 2, 3], "f": np.float32(1.5),
           "nested": ({"x": None, "b": True}, frozenset({1}), b"raw", 2.5, 10**30, complex(1, 2)),
           "floats": np.linspace(0, 1, 7).astype(np.float64).reshape(7, 1)}
    out = safe_loads(pickle.dumps(obj, protocol=proto), encoding="bytes")
    assert np.array_equal(out[b"data"], obj[b"data"]) and out[b"data"].dtype == np.uint8
    assert out["labels"] == [1, 2, 3] and out["nested"] == obj["nested"] and out["f"] == np.float32(1.5)
    assert np.array_equal(out["floats"], obj["floats"])


def test_garbage_and_truncated_input_give_one_line(tmp_path):
    good = pickle.dumps({"a": np.zeros(100)})
    with pytest.raises(FptError, match="cannot unpickle"):
        safe_loads(good[: len(good) // 2], source="cut.pkl")
    f = tmp_path / "junk.pkl"
    f.write_bytes(b"not a pickle at all")
    with pytest.raises(FptError, match="junk.pkl"):
        safe_load_file(str(f))
