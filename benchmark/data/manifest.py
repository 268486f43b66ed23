"""Manifests of prepared datasets: every file with its size and sha256, so corruption is detected."""

from __future__ import annotations

import json
from pathlib import Path

from ..hashing import sha256_file

MANIFEST = "manifest.json"


def write_manifest(folder: Path, *, name: str, version: str, source: dict | None = None) -> dict:
    """Record every file's size and sha256; ``source`` is the builder's provenance (where the raw
    files came from and their checksums), kept so ``fptbench data status`` can say it."""
    files = {}
    for f in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST):
        files[str(f.relative_to(folder))] = {"bytes": f.stat().st_size, "sha256": sha256_file(str(f))}
    manifest = {"dataset": name, "version": version, "files": files}
    if source:
        manifest["source"] = source
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def verify_manifest(folder: Path) -> list[str]:
    """Problems found (empty when the prepared copy is intact)."""
    path = folder / MANIFEST
    if not path.exists():
        return [f"{folder}: no {MANIFEST}"]
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        return [f"{path}: unreadable manifest ({exc})"]
    problems = []
    for rel, meta in manifest["files"].items():
        f = folder / rel
        if not f.exists():
            problems.append(f"{f}: missing")
            continue
        if f.stat().st_size != meta["bytes"]:
            problems.append(f"{f}: {f.stat().st_size} bytes != expected {meta['bytes']}")
            continue
        actual = sha256_file(str(f))
        if actual != meta["sha256"]:
            problems.append(f"{f}: sha256 {actual[:16]}... != expected {meta['sha256'][:16]}...")
    return problems


def read_manifest(folder: Path) -> dict | None:
    path = folder / MANIFEST
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
