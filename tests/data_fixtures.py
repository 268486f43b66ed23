"""Test fixtures in the canonical dataset formats, written by the tests themselves, and a loopback HTTP server.

- ``write_cifar_tarball``: ``cifar-10-python.tar.gz`` with the real member names
  (``cifar-10-batches-py/data_batch_1..5``, ``test_batch``, ``batches.meta``) and keys
  (``b'data'`` uint8 (N, 3072) CHW rows, ``b'labels'``, ``b'batch_label'``, ``b'filenames'``),
  pickled with protocol 2 like the original Python-2 files.
- ``write_tape_lmdb`` / ``write_tape_json``: TAPE's ``remote_homology_<split>.lmdb`` (key
  ``b'num_examples'`` and ``str(i)``) and ``.json`` files with TAPE's record keys.
- ``FileServer``: ``http.server`` on 127.0.0.1 in a thread, with ``Range`` support and switches to
  cut a response midway or to ignore ``Range``.
"""

from __future__ import annotations

import io
import json
import pickle
import tarfile
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from benchmark.task import TASKS, SplitSpec

TAPE_SPLIT_SIZES = {"train": 12, "valid": 5, "test_fold_holdout": 4, "test_superfamily_holdout": 3,
                    "test_family_holdout": 3}
CIFAR_PER_BATCH = 8  # 40 train images, 10 test
CIFAR_TEST = 10
LETTERS = "ACDEFGHIKLMNPQRSTVWY"


# -- CIFAR-10 -------------------------------------------------------------------------------------
def cifar_batches(seed: int = 0) -> dict[str, dict]:
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(1, 6):
        n = CIFAR_PER_BATCH
        out[f"data_batch_{i}"] = {
            b"batch_label": f"training batch {i} of 5".encode(),
            b"labels": [int(v) for v in rng.integers(0, 10, n)],
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [f"img_{i}_{j}.png".encode() for j in range(n)],
        }
    out["test_batch"] = {
        b"batch_label": b"testing batch 1 of 1",
        b"labels": [int(v) for v in rng.integers(0, 10, CIFAR_TEST)],
        b"data": rng.integers(0, 256, (CIFAR_TEST, 3072), dtype=np.uint8),
        b"filenames": [f"test_{j}.png".encode() for j in range(CIFAR_TEST)],
    }
    return out


def write_cifar_tarball(path: Path, batches: dict[str, dict] | None = None, raw_override: dict[str, bytes] | None = None) -> Path:
    batches = batches if batches is not None else cifar_batches()
    files = {name: pickle.dumps(d, protocol=2) for name, d in batches.items()}
    files["batches.meta"] = pickle.dumps({b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer",
                                                           b"dog", b"frog", b"horse", b"ship", b"truck"],
                                          b"num_cases_per_batch": CIFAR_PER_BATCH, b"num_vis": 3072}, protocol=2)
    files.update(raw_override or {})
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def write_cifar_folder(folder: Path, batches: dict[str, dict] | None = None) -> Path:
    batches = batches if batches is not None else cifar_batches()
    folder.mkdir(parents=True, exist_ok=True)
    for name, d in batches.items():
        (folder / name).write_bytes(pickle.dumps(d, protocol=2))
    return folder


# -- TAPE remote homology ----------------------------------------------------------------------------
def tape_records(seed: int = 0, long_len: int = 1100) -> dict[str, list[dict]]:
    """Records with TAPE's keys; the first train sequence is longer than 1024 tokens."""
    rng = np.random.default_rng(seed)
    out = {}
    for split, n in TAPE_SPLIT_SIZES.items():
        recs = []
        for i in range(n):
            length = long_len if (split == "train" and i == 0) else int(rng.integers(5, 40))
            primary = "".join(rng.choice(list(LETTERS), length))
            recs.append({
                "primary": primary, "protein_length": length, "class_label": int(rng.integers(0, 7)),
                "fold_label": int(rng.integers(0, 1195)), "superfamily_label": int(rng.integers(0, 1823)),
                "family_label": int(rng.integers(0, 3439)),
                "secondary_structure": rng.integers(0, 3, length).astype(np.int64),
                "solvent_accessibility": rng.integers(0, 2, length).astype(np.int64),
                "evolutionary": rng.random((length, 4)).astype(np.float32),
                "id": f"d{split}{i}",
            })
        out[split] = recs
    return out


def write_tape_lmdb(folder: Path, records: dict[str, list[dict]] | None = None,
                    raw_override: dict[tuple[str, int], bytes] | None = None) -> Path:
    import lmdb

    records = records if records is not None else tape_records()
    base = folder / "remote_homology"
    base.mkdir(parents=True, exist_ok=True)
    for split, recs in records.items():
        env = lmdb.open(str(base / f"remote_homology_{split}.lmdb"), map_size=1 << 26)
        with env.begin(write=True) as txn:
            txn.put(b"num_examples", pickle.dumps(len(recs)))
            for i, r in enumerate(recs):
                txn.put(str(i).encode(), (raw_override or {}).get((split, i)) or pickle.dumps(r))
        env.close()
    return folder


def write_tape_json(folder: Path, records: dict[str, list[dict]] | None = None) -> Path:
    records = records if records is not None else tape_records()
    base = folder / "remote_homology"
    base.mkdir(parents=True, exist_ok=True)
    for split, recs in records.items():
        plain = [{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in r.items()} for r in recs]
        (base / f"remote_homology_{split}.json").write_text(json.dumps(plain))
    return folder


def write_tape_tarball(path: Path, lmdb_root: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        tar.add(lmdb_root / "remote_homology", arcname="remote_homology")
    return path


# -- small task variants over fixture data -----------------------------------------------------------
_SMALL: set[str] = set()


def small_task(cls: type, name: str, sizes: dict[str, int]) -> type:
    """A registered subclass of ``cls`` whose spec differs only in name and split sizes, so the real
    task code runs unchanged on fixture-sized data. Unregistered after the test by
    ``unregister_small_tasks`` (import it into the test module: it is autouse)."""
    splits = {k: replace(v, size=sizes[k]) if isinstance(v, SplitSpec) else v for k, v in cls.spec.splits.items()}
    sub = type(f"Small{cls.__name__}", (cls,), {"spec": replace(cls.spec, name=name, splits=splits)})
    TASKS.names()  # load the built-ins first
    TASKS._items.pop(name, None)
    TASKS.add(name, sub)
    _SMALL.add(name)
    return sub


@pytest.fixture(autouse=True)
def unregister_small_tasks():
    """Fixture tasks must not leak into other tests that list every registered task."""
    yield
    for name in list(_SMALL):
        TASKS._items.pop(name, None)
        _SMALL.discard(name)


# -- loopback HTTP server ------------------------------------------------------------------------------
class FileServer:
    """Serve ``files`` (name -> bytes) on 127.0.0.1 with Range support.

    ``cut_first``: the first GET of a file sends its full Content-Length but only this many bytes,
    then closes the connection. ``ignore_range``: answer every request with the whole file (200).
    ``requests`` records (path, Range header) per request.
    """

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = dict(files)
        self.cut_first: int | None = None
        self.ignore_range = False
        self.requests: list[tuple[str, str | None]] = []
        self._served: set[str] = set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802
                name = self.path.lstrip("/")
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                if name not in server.files:
                    self.send_error(404)
                    return
                data = server.files[name]
                start = 0
                if rng and not server.ignore_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                if server.cut_first is not None and name not in server._served:
                    server._served.add(name)
                    self.wfile.write(body[: server.cut_first])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                server._served.add(name)
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> "FileServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
