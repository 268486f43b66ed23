"""What is prepared, where it came from, and whether it is intact: the truth behind ``fptbench data status``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from . import DATASETS, MANIFEST, dataset_path
from .manifest import read_manifest, verify_manifest


@dataclass
class DatasetStatus:
    name: str
    present: bool
    source: str  # where the prepared copy came from, or how to get it
    bytes: int
    checksum: str  # "ok", "BAD: ...", "stale format ...", or "-" when absent / not checked
    offline: bool
    path: str
    via: str = "-"  # which source prepared it: hub | url | dir (a user folder) | local (generated / package)

    def to_dict(self) -> dict:
        return asdict(self)


def dataset_status(name: str, root: Path | None = None, verify: bool = True) -> DatasetStatus:
    spec = DATASETS.get(name)
    path = dataset_path(name, root)
    manifest = read_manifest(path) if (path / MANIFEST).exists() else None
    if manifest is None:
        how = f"fptbench data prepare {name}" + ("" if spec.offline else " (needs internet or --source-dir)")
        return DatasetStatus(name, False, how, 0, "-", spec.offline, str(path))
    size = sum(int(f["bytes"]) for f in manifest.get("files", {}).values())
    source = str((manifest.get("source") or {}).get("from", "unrecorded"))
    if manifest.get("version") != spec.version:
        check = f"stale format {manifest.get('version')!r} (code reads {spec.version!r}): prepare --force"
    elif verify:
        problems = verify_manifest(path)
        check = "ok" if not problems else f"BAD: {len(problems)} file(s): {problems[0]}"
    else:
        check = "not checked"
    return DatasetStatus(name, True, source, size, check, spec.offline, str(path), source_kind(manifest.get("source")))


def source_kind(source: dict | None) -> str:
    """Which source prepared a copy, from its manifest's ``source``: ``hub`` (a pinned hub copy), ``url``
    (the canonical download), ``dir`` (a user's folder) or ``local`` (generated here or an offline
    package). Manifests written before hub sources existed classify the same way."""
    source = source or {}
    if source.get("via") == "hub":
        return "hub"
    origin = str(source.get("from", ""))
    if origin.startswith("download"):
        return "url"
    if origin.startswith("user directory"):
        return "dir"
    return "local" if origin else "-"


def human_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


__all__ = ["DatasetStatus", "dataset_status", "human_bytes", "source_kind"]
