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


class SizedBuffer:
    """Pickles as ``ctor(n)``: a zero-filled buffer asked for by a few bytes of pickle."""

    def __init__(self, ctor, n: int) -> None:
        self.ctor, self.n = ctor, n

    def __reduce__(self):
        return (self.ctor, (self.n,))


class ShapedArray:
    """Pickles as numpy's ``_reconstruct(ndarray, shape, 'b')``: an allocation sized by the shape alone."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def __reduce__(self):
        try:
            from numpy._core.multiarray import _reconstruct
        except ImportError:  # numpy 1.x
            from numpy.core.multiarray import _reconstruct
        return (_reconstruct, (np.ndarray, self.shape, b"b"))


@pytest.mark.parametrize("ctor,proto", [(bytearray, 2), (bytearray, 4), (bytes, 3), (bytes, 4)])
def test_zero_filled_buffers_are_capped(ctor, proto):
    with pytest.raises(FptError, match=rf"refusing {ctor.__name__}\({1 << 28}\)"):  # 256 MiB from a 30-byte pickle
        safe_loads(pickle.dumps(SizedBuffer(ctor, 1 << 28), protocol=proto))
    from benchmark.data.safe_pickle import MAX_ALLOC_BYTES

    assert safe_loads(pickle.dumps(SizedBuffer(ctor, 16), protocol=proto)) == ctor(16)
    assert len(safe_loads(pickle.dumps(SizedBuffer(ctor, MAX_ALLOC_BYTES), protocol=proto))) == MAX_ALLOC_BYTES
    for n in (MAX_ALLOC_BYTES + 1, 1 << 28):  # 256 MiB would be allocated by an uncapped unpickler
        with pytest.raises(FptError, match=rf"refusing {ctor.__name__}\({n}\)"):
            safe_loads(pickle.dumps(SizedBuffer(ctor, n), protocol=proto))
    # a pickled bytearray / bytes with content is untouched by the cap
    big = ctor(b"x" * (MAX_ALLOC_BYTES + 10))
    assert safe_loads(pickle.dumps(big, protocol=proto)) == big


def test_numpy_reconstruct_shape_is_capped():
    with pytest.raises(FptError, match="refusing numpy _reconstruct"):
        safe_loads(pickle.dumps(ShapedArray((1 << 28,)), protocol=2))
    assert safe_loads(pickle.dumps(ShapedArray((0,)), protocol=2)).shape == (0,)
    arr = np.arange(300_000, dtype=np.int64)  # 2.4 MB of content: real arrays are rebuilt from (0,) and filled
    assert np.array_equal(safe_loads(pickle.dumps(arr, protocol=2)), arr)
