"""Packing: a finished sweep's results into one submission file (``fptbench submit``)."""

from __future__ import annotations

import inspect
import json
import zipfile
from pathlib import Path
from typing import Any

from ..atomic import atomic_path
from ..errors import FptError
from ..hashing import sha256_json
from ..results import read_table
from .format import (FORMAT, FORMAT_VERSION, MANIFEST, MAX_FILE_BYTES, MAX_MEMBERS, MAX_STRING, MEMBER_RE, check_name,
                     check_text, member_digest)


def adapter_source(model: str) -> dict[str, str]:
    """Where the adapter class lives and a sha256 of its module's source, so a reader can tell
    which code produced the numbers (and whether it changed since)."""
    from ..hashing import sha256_text
    from ..model import MODELS

    try:
        cls = MODELS.get(model)
        module = inspect.getmodule(cls)
        source = inspect.getsource(module) if module is not None else ""
    except (FptError, OSError, TypeError) as exc:
        raise FptError(f"cannot hash the source of model '{model}' ({exc}); install the adapter's package "
                       "on this machine before `fptbench submit`") from exc
    return {"class": f"{cls.__module__}:{cls.__qualname__}", "module_source_sha256": sha256_text(source),
            "module_file": Path(getattr(module, "__file__", "") or "").name}


def pack(results_dir: Path | str, name: str, out: Path | str, *, note: str = "") -> dict[str, Any]:
    """Pack every finished run of ``results_dir`` into the submission file ``out``; returns the manifest."""
    from ..provenance import environment

    check_name(name)
    if not isinstance(note, str):
        raise FptError(f"--note must be text, got {type(note).__name__}")
    if len(note) > MAX_STRING:
        raise FptError(f"--note is {len(note)} characters, limit {MAX_STRING}; shorten it")
    check_text(note, "--note")
    results_dir = Path(results_dir)
    run_files = sorted((results_dir / "runs").glob("*.parquet"))
    if not run_files:
        raise FptError(f"no finished runs under {results_dir}/runs; run `fptbench sweep` or `fptbench run` first")
    if len(run_files) * 2 + 1 > MAX_MEMBERS:
        raise FptError(f"{len(run_files)} runs exceed the submission limit of {(MAX_MEMBERS - 1) // 2}; split the sweep")
    runs = read_table([results_dir], "runs")
    foreign = sorted(set(runs.source) - {"harness"})
    if foreign:
        raise FptError(f"{results_dir} holds rows from {foreign}; submit only runs made by your own harness")
    members: dict[str, bytes] = {}
    configs: dict[str, Any] = {}
    for f in run_files:
        run_id = f.stem
        if not MEMBER_RE.match(f"runs/{f.name}") or ".." in f.name:
            raise FptError(f"run id {run_id!r} has characters a submission cannot carry; rename the task, "
                           "backbone or profile to letters, digits, '.', '_', '-'")
        curve = results_dir / "curves" / f.name
        if not curve.exists():
            raise FptError(f"run {run_id} has no curves file {curve}; rerun it (delete {f} first)")
        members[f"runs/{f.name}"] = f.read_bytes()
        members[f"curves/{f.name}"] = curve.read_bytes()
        rows = runs[runs.run_id == run_id]
        configs[run_id] = {"config": json.loads(rows.config.iloc[0]), "status": rows.status.iloc[0]}
    adapters = {m: adapter_source(m) for m in sorted(runs.model.unique())}
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "note": note,
        "environment": environment(),
        "adapters": adapters,
        "runs": configs,
        "members": {k: member_digest(v) for k, v in sorted(members.items())},
    }
    manifest["checksum"] = sha256_json(manifest)
    blob = json.dumps(manifest, sort_keys=True, indent=1).encode()
    with atomic_path(out) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr(MANIFEST, blob)
            for member, data in sorted(members.items()):
                z.writestr(member, data)
    size = Path(out).stat().st_size
    if size > MAX_FILE_BYTES:
        Path(out).unlink()
        raise FptError(f"the submission would be {size} bytes, above the {MAX_FILE_BYTES}-byte limit; split the sweep")
    return manifest
