"""A restricted unpickler for the pickles inside public datasets (CIFAR-10 batches, TAPE LMDB records).

``pickle.load`` runs whatever callable a pickle names, so a CIFAR batch or an LMDB record taken from
a user-supplied directory could execute code. ``safe_loads`` admits only what those files contain:
plain containers, strings, bytes, numbers, booleans, None, and numpy arrays and scalars rebuilt
through numpy's own reconstruction functions. Any other global (``os.system``, ``builtins.eval``,
``subprocess.Popen``...) is refused with an ``FptError`` naming the global and the file.

Admitted constructors cannot be turned into allocation bombs either: ``bytearray(N)`` / ``bytes(N)``
with an integer N (a zero-filled buffer: a 40-byte pickle could ask for terabytes) and numpy's
``_reconstruct`` with a non-empty shape are capped at ``MAX_ALLOC_BYTES``. Real dataset pickles never
need either: a pickled bytearray or bytes carries its content, and numpy rebuilds an array as an
empty shell of shape (0,) that ``__setstate__`` fills from bytes already in the pickle.
"""

from __future__ import annotations

import codecs
import io
import pickle
from typing import Any, Callable

import numpy as np

from ..errors import FptError


def _latin1_encode(obj: str, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """Protocol-2 pickles written by Python 3 store bytes as ``_codecs.encode(text, 'latin1')``;
    only that text-to-bytes use is admitted (no arbitrary codec lookups)."""
    if not isinstance(obj, str) or codecs.lookup(encoding).name not in ("iso8859-1", "latin-1", "utf-8"):
        raise FptError(f"refusing _codecs.encode({type(obj).__name__}, {encoding!r}) in a pickle")
    return codecs.encode(obj, encoding, errors)


MAX_ALLOC_BYTES = 1 << 20  # what a constructor may allocate from a size argument alone (content is not capped)


def _capped_size(ctor: Callable[..., Any]) -> Callable[..., Any]:
    """``bytearray``/``bytes`` that refuse an integer size above ``MAX_ALLOC_BYTES`` (a zero-filled buffer)."""

    def make(*args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], int) and args[0] > MAX_ALLOC_BYTES:
            raise FptError(f"refusing {ctor.__name__}({args[0]}) in a pickle: a zero-filled buffer of more than "
                           f"{MAX_ALLOC_BYTES} bytes is not dataset content (the file may be malicious)")
        return ctor(*args, **kwargs)

    make.__name__ = ctor.__name__
    return make


def _capped_reconstruct(reconstruct: Callable[..., Any]) -> Callable[..., Any]:
    """numpy's ``_reconstruct(subtype, shape, dtype)`` with the allocation it makes from ``shape`` capped."""

    def make(subtype: Any, shape: Any, dtype: Any) -> Any:
        try:
            dims = [int(d) for d in (shape if isinstance(shape, (tuple, list)) else (shape,))]
            nbytes = int(np.prod(dims, dtype=object)) * np.dtype(dtype).itemsize
        except (TypeError, ValueError) as exc:
            raise FptError(f"refusing numpy _reconstruct with shape {shape!r:.40} / dtype {dtype!r:.40}") from exc
        if any(d < 0 for d in dims) or nbytes > MAX_ALLOC_BYTES:
            raise FptError(f"refusing numpy _reconstruct of shape {tuple(dims)!r:.60} ({nbytes} bytes) in a pickle: "
                           f"more than {MAX_ALLOC_BYTES} bytes allocated from a shape alone (the file may be malicious)")
        return reconstruct(subtype, shape, dtype)

    return make


def _numpy_globals() -> dict[tuple[str, str], Callable[..., Any]]:
    """numpy's reconstruction entry points under both module names (numpy 1 wrote ``numpy.core``,
    numpy 2 writes ``numpy._core``); each maps to the function of the installed numpy."""
    try:
        from numpy._core import multiarray as ma
        from numpy._core import numeric
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray as ma  # type: ignore[no-redef]
        from numpy.core import numeric  # type: ignore[no-redef]
    out: dict[tuple[str, str], Callable[..., Any]] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for mod in ("numpy.core", "numpy._core"):
        out[(f"{mod}.multiarray", "_reconstruct")] = _capped_reconstruct(ma._reconstruct)
        out[(f"{mod}.multiarray", "scalar")] = ma.scalar
        if hasattr(numeric, "_frombuffer"):
            out[(f"{mod}.numeric", "_frombuffer")] = numeric._frombuffer
    return out


def _builtin(name: str) -> Callable[..., Any]:
    ctor = getattr(__import__("builtins"), name)
    return _capped_size(ctor) if name in ("bytearray", "bytes") else ctor


_BUILTINS: dict[tuple[str, str], Callable[..., Any]] = {
    ("_codecs", "encode"): _latin1_encode,
    # plain container and number constructors (used by protocol 0/1 pickles and Python 2 files)
    **{("builtins", n): _builtin(n)
       for n in ("set", "frozenset", "bytearray", "complex", "list", "dict", "tuple", "int", "float", "bool", "str",
                 "bytes")},
    **{("__builtin__", n): _builtin(n)  # Python 2 module name
       for n in ("set", "frozenset", "bytearray", "complex", "list", "dict", "tuple", "int", "float", "bool", "str")},
}


class SafeUnpickler(pickle.Unpickler):
    """Unpickler whose ``find_class`` consults an allow-list instead of importing anything."""

    def __init__(self, file: io.BufferedIOBase, *, source: str = "<bytes>", encoding: str = "ASCII") -> None:
        super().__init__(file, encoding=encoding)
        self.source = source
        self._allowed = {**_BUILTINS, **_numpy_globals()}

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise FptError(f"refusing to unpickle {source_label(self.source)}: it references '{module}.{name}', which "
                           "is not a plain container, number, string or numpy array; the file may be malicious or "
                           "not the expected dataset") from None

    def persistent_load(self, pid: Any) -> Any:
        raise FptError(f"refusing to unpickle {source_label(self.source)}: it uses persistent ids")


def source_label(source: str) -> str:
    return source if source.startswith("<") else f"'{source}'"


def safe_loads(data: bytes, *, source: str = "<bytes>", encoding: str = "ASCII") -> Any:
    """Unpickle ``data`` admitting only plain data and numpy arrays. ``source`` names the file or
    record in the error; ``encoding='bytes'`` reads Python 2 pickles (CIFAR-10's) as the authors
    recommend."""
    try:
        return SafeUnpickler(io.BytesIO(data), source=source, encoding=encoding).load()
    except FptError:
        raise
    except Exception as exc:  # truncated or garbage data: still one clear line
        raise FptError(f"cannot unpickle {source_label(source)}: {type(exc).__name__}: {exc}") from exc


def safe_load_file(path: str, *, encoding: str = "ASCII") -> Any:
    with open(path, "rb") as f:
        return safe_loads(f.read(), source=str(path), encoding=encoding)


__all__ = ["SafeUnpickler", "safe_loads", "safe_load_file"]
