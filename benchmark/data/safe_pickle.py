"""A restricted unpickler for the pickles inside public datasets (CIFAR-10 batches, TAPE LMDB records).

``pickle.load`` runs whatever callable a pickle names, so a CIFAR batch or an LMDB record taken from
a user-supplied directory could execute code. ``safe_loads`` admits only what those files contain:
plain containers, strings, bytes, numbers, booleans, None, and numpy arrays and scalars rebuilt
through numpy's own reconstruction functions. Any other global (``os.system``, ``builtins.eval``,
``subprocess.Popen``...) is refused with an ``FptError`` naming the global and the file.
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
        out[(f"{mod}.multiarray", "_reconstruct")] = ma._reconstruct
        out[(f"{mod}.multiarray", "scalar")] = ma.scalar
        if hasattr(numeric, "_frombuffer"):
            out[(f"{mod}.numeric", "_frombuffer")] = numeric._frombuffer
    return out


_BUILTINS: dict[tuple[str, str], Callable[..., Any]] = {
    ("_codecs", "encode"): _latin1_encode,
    # plain container and number constructors (used by protocol 0/1 pickles and Python 2 files)
    **{("builtins", n): getattr(__import__("builtins"), n)
       for n in ("set", "frozenset", "bytearray", "complex", "list", "dict", "tuple", "int", "float", "bool", "str",
                 "bytes")},
    **{("__builtin__", n): getattr(__import__("builtins"), n)  # Python 2 module name
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
