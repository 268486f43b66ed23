"""The data layer: registered datasets, where their prepared copies live, and preparing them.

A dataset knows how to build its *prepared* copy (memory-mappable arrays plus a manifest with
checksums) from its sources in order: a user directory, an offline package, the canonical
download. A dataset with a pinned Hugging Face hub copy (``DatasetSpec.hub``, see ``hub.py``) can be
prepared from it instead, into byte-identical files. Tasks only ever read prepared copies, through
``prepared_dir``; a missing one raises ``NeedsData`` carrying the exact command to get it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..atomic import atomic_dir
from ..errors import FptError, NeedsData
from ..paths import data_dir
from ..registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    from .hub import HubSource

MANIFEST = "manifest.json"
SOURCES = ("auto", "url", "hub")  # what `fptbench data prepare --source` accepts


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset plugin.

    ``build(dest, source_dir)`` writes the prepared files into ``dest`` (a fresh temporary directory
    that the layer moves into place atomically afterwards, with a manifest of file checksums).
    ``source_dir`` is a user-supplied directory of raw files or None (then the builder uses its
    offline package or canonical download). ``offline`` says whether it can be built on a machine
    without internet from what ``make install`` installs. ``build`` may return a dict describing
    where the raw files came from (e.g. ``{"from": "download https://...", "md5": ...}``); it is
    stored as the manifest's ``source`` and shown by ``fptbench data status``.
    Canonical downloads are cached in ``downloads_dir(dest)`` (``<data root>/_downloads``).
    """

    name: str
    description: str
    build: Callable[[Path, Path | None], Any]
    offline: bool
    how_to_get: str = ""  # shown when the data is absent and cannot be built offline
    sources: tuple[str, ...] = field(default_factory=tuple)  # human-readable, in the order tried
    version: str = "1"  # bump when the prepared format changes
    hub: "HubSource | None" = None  # a pinned hub copy that prepares the same files (``--source hub``)


DATASETS: Registry[DatasetSpec] = Registry("dataset", "fptbench.datasets", declared_builtins=True)


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    DATASETS.add(spec.name, spec)
    return spec


def dataset_path(name: str, root: Path | None = None) -> Path:
    return (root or data_dir()) / name


def is_prepared(name: str, root: Path | None = None) -> bool:
    return (dataset_path(name, root) / MANIFEST).exists()


def downloads_dir(dest: Path) -> Path:
    """Where builders cache canonical downloads: ``_downloads`` beside the prepared copies, so a
    re-prepare (``--force``, a format bump) never downloads again."""
    return Path(dest).parent / "_downloads"


def prepared_dir(name: str, root: Path | None = None) -> Path:
    """The prepared copy of ``name``; raises NeedsData with the command that prepares it.

    A copy prepared by an older format version counts as absent (the command then says ``--force``).
    """
    from .manifest import read_manifest

    path = dataset_path(name, root)
    if not (path / MANIFEST).exists():
        raise NeedsData(f"dataset '{name}' is not prepared: run `fptbench data prepare {name}`")
    manifest = read_manifest(path) or {}
    spec = DATASETS.get(name) if name in DATASETS.names() else None
    if spec is not None and manifest.get("version") != spec.version:
        raise NeedsData(f"dataset '{name}' was prepared in format {manifest.get('version')!r}, this code reads "
                        f"{spec.version!r}: run `fptbench data prepare {name} --force`")
    problem = check_prepared(path, manifest)
    if problem:
        raise DataDamaged(f"dataset '{name}' prepared copy is damaged ({problem}): run "
                          f"`fptbench data prepare {name} --force`")
    return path


class DataDamaged(NeedsData):
    """A prepared copy that no longer matches its manifest: re-prepare it with ``--force``."""


_CHECKED: dict[tuple[str, int, int], str] = {}  # (file, size, mtime_ns) -> sha256 seen intact in this process


def check_prepared(path: Path, manifest: dict) -> str | None:
    """The first way the prepared files differ from their manifest (missing, size, sha256), or None.

    Why at load: a damaged copy used to be trained on silently (only the task fingerprint moved) or
    fail deep inside numpy. Sizes are checked on every call; each file's sha256 once per process and
    file state (size, mtime), which costs one read of what the run reads anyway (a few hundred MB at
    most, well under a second per 100 MB).
    """
    from ..hashing import sha256_file

    files = manifest.get("files")
    if not isinstance(files, dict):
        return "its manifest lists no files"
    for rel, meta in sorted(files.items()):
        f = path / rel
        try:
            st = f.stat()
        except OSError:
            return f"{rel} is missing"
        if not isinstance(meta, dict) or st.st_size != meta.get("bytes"):
            return f"{rel} is {st.st_size} bytes, its manifest says {meta.get('bytes') if isinstance(meta, dict) else '?'}"
        key = (str(f), st.st_size, st.st_mtime_ns)
        if _CHECKED.get(key) == meta.get("sha256"):
            continue
        digest = sha256_file(str(f))
        if digest != meta.get("sha256"):
            return f"{rel} sha256 {digest[:12]}... differs from its manifest"
        _CHECKED[key] = digest
    return None


def prepare(name: str, root: Path | None = None, source_dir: Path | None = None, force: bool = False,
            source: str = "auto") -> Path:
    """Build the prepared copy of ``name`` atomically and write its manifest. Idempotent.

    ``source``: ``url`` runs the dataset's own builder (``--source-dir``, offline package, canonical
    download); ``hub`` reads its pinned hub copy; ``auto`` runs the builder and, only when that fails
    and the dataset has a hub copy, falls back to the hub (the canonical source comes first because it
    is the one with the authors' checksum). Both paths write the same files; the manifest's
    ``source.via`` says which one ran.
    """
    from .manifest import write_manifest

    if source not in SOURCES:
        raise FptError(f"unknown data source '{source}': choose one of {', '.join(SOURCES)}")
    spec = DATASETS.get(name)
    target = dataset_path(name, root)
    if (target / MANIFEST).exists() and not force:
        return target
    if source_dir is not None and not Path(source_dir).is_dir():
        raise FptError(f"--source-dir '{source_dir}' is not a directory")
    if source == "hub":
        if spec.hub is None:
            raise FptError(f"dataset '{name}' has no hub source (see docs/data.md); prepare it with --source url")
        if source_dir is not None:
            raise FptError("--source-dir is a folder of canonical raw files: use it with --source url (or auto), "
                           "not --source hub")
        return _prepare_from_hub(name, target)
    try:
        with atomic_dir(target) as tmp:
            built = spec.build(tmp, Path(source_dir) if source_dir is not None else None)
            write_manifest(tmp, name=name, version=spec.version, source=built if isinstance(built, dict) else None)
    except FptError as exc:
        if source == "auto" and spec.hub is not None and source_dir is None:
            try:
                return _prepare_from_hub(name, target)
            except FptError as hub_exc:
                raise FptError(f"{exc}; the hub copy failed too: {hub_exc}") from hub_exc
        raise
    return target


def _prepare_from_hub(name: str, target: Path) -> Path:
    from .hub import split_loader
    from .manifest import write_manifest

    spec = DATASETS.get(name)
    assert spec.hub is not None
    load, provenance = split_loader(spec.hub, downloads_dir(target) / "hub")
    with atomic_dir(target) as tmp:
        details = spec.hub.build(tmp, load) or {}
        write_manifest(tmp, name=name, version=spec.version, source={**provenance, **details})
    return target


__all__ = ["DatasetSpec", "DATASETS", "DataDamaged", "check_prepared", "SOURCES", "register_dataset", "prepared_dir", "prepare", "is_prepared", "dataset_path",
           "downloads_dir", "FptError", "NeedsData", "MANIFEST"]
