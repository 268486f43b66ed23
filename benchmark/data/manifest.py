"""Manifests of prepared datasets: every file with its size and sha256, so corruption is detected."""

from __future__ import annotations

import json
from pathlib import Path

from ..hashing import sha256_file

MANIFEST = "manifest.json"


def write_manifest(folder: Path, *, name: str, version: str) -> dict:
    files = {}
    for f in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST):
        files[str(f.relative_to(folder))] = {"bytes": f.stat().st_size, "sha256": sha256_file(str(f))}
    manifest = {"dataset": name, "version": version, "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def verify_manifest(folder: Path) -> list[str]:
    """Problems found (empty when the prepared copy is intact)."""
    path = folder / MANIFEST
    if not path.exists():
        return [f"{folder}: no {MANIFEST}"]
    manifest = json.loads(path.read_text())
    problems = []
    for rel, meta in manifest["files"].items():
        f = folder / rel
        if not f.exists():
            problems.append(f"{f}: missing")
            continue
        actual = sha256_file(str(f))
        if actual != meta["sha256"]:
            problems.append(f"{f}: sha256 {actual[:16]}... != expected {meta['sha256'][:16]}...")
    return problems
