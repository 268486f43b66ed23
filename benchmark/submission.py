"""Submission files: a finished sweep packed into one zip that another machine can verify and import.

Format (``format_version`` 1), a zip archive holding only Parquet and JSON (no pickle anywhere)::

    manifest.json             name, environment, adapters (class, source sha256), run configs,
                              sha256 and size of every other member, and a checksum over itself
    runs/<run_id>.parquet     the harness's runs rows, as written (schema RUNS_SCHEMA)
    curves/<run_id>.parquet   the matching validation curves (schema CURVES_SCHEMA)

The checksums detect corruption and edits made without recomputing them; they are not a signature
(anyone can recompute a sha256), so a submitted row stays marked ``submitted:<name>`` on the
leaderboard until the harness has rerun the same configuration itself. Import re-validates every
row (schema, config hash, run id, value ranges, string lengths) and rewrites the rows with the
harness's own writer, so nothing from the file reaches the results store unparsed.
"""

from __future__ import annotations

import inspect
import json
import math
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .atomic import atomic_path
from .config import RunConfig
from .errors import FptError
from .hashing import sha256_json
from .profiles import Budget
from .results import CURVES_SCHEMA, RUNS_SCHEMA, read_table, write_table

FORMAT = "fptbench-submission"
FORMAT_VERSION = 1

# Bounds: generous for a real sweep (hundreds of runs), small enough that a hostile file cannot
# exhaust memory or disk. Parquet of one run is a few KiB.
MAX_FILE_BYTES = 64 * 2**20
MAX_MEMBERS = 4001
MAX_MEMBER_BYTES = 8 * 2**20
MAX_TOTAL_BYTES = 256 * 2**20
MAX_COMPRESSION_RATIO = 200
MAX_MANIFEST_BYTES = 4 * 2**20
MAX_RUN_ROWS = 64
MAX_CURVE_ROWS = 200_000
MAX_STRING = 512  # any string cell, except the config JSON
MAX_CONFIG_STRING = 16_384

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MEMBER_RE = re.compile(r"^(runs|curves)/([A-Za-z0-9_.+=-]{1,240})\.parquet$")
MANIFEST = "manifest.json"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise FptError(f"submission name {name!r} is invalid; use 1-64 letters, digits, '.', '_' or '-', "
                       "starting with a letter or digit")
    return name


def _reject(path: Path | str, why: str) -> FptError:
    return FptError(f"submission {path} rejected: {why}")


# -- packing ---------------------------------------------------------------------------------------
def adapter_source(model: str) -> dict[str, str]:
    """Where the adapter class lives and a sha256 of its module's source, so a reader can tell
    which code produced the numbers (and whether it changed since)."""
    from .hashing import sha256_text
    from .model import MODELS

    try:
        cls = MODELS.get(model)
        module = inspect.getmodule(cls)
        source = inspect.getsource(module) if module is not None else ""
    except (FptError, OSError, TypeError) as exc:
        raise FptError(f"cannot hash the source of model '{model}' ({exc}); install the adapter's package "
                       "on this machine before `fptbench submit`") from exc
    return {"class": f"{cls.__module__}:{cls.__qualname__}", "module_source_sha256": sha256_text(source),
            "module_file": Path(getattr(module, "__file__", "") or "").name}


def _member_digest(data: bytes) -> dict[str, Any]:
    import hashlib

    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def pack(results_dir: Path | str, name: str, out: Path | str, *, note: str = "") -> dict[str, Any]:
    """Pack every finished run of ``results_dir`` into the submission file ``out``; returns the manifest."""
    from .provenance import environment

    check_name(name)
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
        "note": note[:MAX_STRING],
        "environment": environment(),
        "adapters": adapters,
        "runs": configs,
        "members": {k: _member_digest(v) for k, v in sorted(members.items())},
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


# -- validation ------------------------------------------------------------------------------------
@dataclass
class Submission:
    """A validated submission: its manifest and per-run tables, ready to import."""

    path: Path
    name: str
    manifest: dict[str, Any]
    runs: dict[str, pa.Table] = field(default_factory=dict)
    curves: dict[str, pa.Table] = field(default_factory=dict)


def _read_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    with z.open(info) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"member {info.filename} is larger than declared or than {limit} bytes")
    return data


def _check_members(path: Path, z: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    infos = z.infolist()
    if len(infos) > MAX_MEMBERS:
        raise _reject(path, f"{len(infos)} members, limit {MAX_MEMBERS}")
    seen: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        n = info.filename
        if n != MANIFEST and not MEMBER_RE.match(n) or ".." in n or n.startswith("/") or "\\" in n:
            raise _reject(path, f"member name {n[:80]!r} is not allowed (only manifest.json, runs/<id>.parquet, "
                                "curves/<id>.parquet; no directories, '..' or absolute paths)")
        if n in seen:
            raise _reject(path, f"member {n} appears twice")
        if info.flag_bits & 0x1:
            raise _reject(path, f"member {n} is encrypted")
        if info.file_size > MAX_MEMBER_BYTES:
            raise _reject(path, f"member {n} is {info.file_size} bytes, limit {MAX_MEMBER_BYTES}")
        if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1) and info.file_size > 2**20:
            raise _reject(path, f"member {n} compresses {info.file_size // max(info.compress_size, 1)}:1 (zip bomb?)")
        total += info.file_size
        seen[n] = info
    if total > MAX_TOTAL_BYTES:
        raise _reject(path, f"{total} bytes uncompressed, limit {MAX_TOTAL_BYTES}")
    if MANIFEST not in seen:
        raise _reject(path, "no manifest.json")
    return seen


def _check_manifest(path: Path, raw: bytes) -> dict[str, Any]:
    def no_constants(c: str) -> Any:
        raise ValueError(f"JSON constant {c} is not allowed")

    try:
        manifest = json.loads(raw.decode("utf-8"), parse_constant=no_constants)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _reject(path, f"manifest.json is not valid JSON ({str(exc)[:120]})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _reject(path, f"not an fptbench submission (manifest format is not '{FORMAT}')")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise _reject(path, f"format_version {manifest.get('format_version')!r} is not supported (expected "
                            f"{FORMAT_VERSION}); pack it with this fptbench version")
    for key, kind in (("name", str), ("members", dict), ("runs", dict), ("adapters", dict), ("environment", dict),
                      ("checksum", str)):
        if not isinstance(manifest.get(key), kind):
            raise _reject(path, f"manifest field '{key}' is missing or not a {kind.__name__}")
    claimed = manifest["checksum"]
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    if sha256_json(body) != claimed:
        raise _reject(path, "manifest checksum mismatch (the manifest was modified after packing)")
    try:
        check_name(manifest["name"])
    except FptError as exc:
        raise _reject(path, str(exc)) from exc
    return manifest


def _check_strings(path: Path, member: str, table: pa.Table) -> None:
    for f in table.schema:
        if not pa.types.is_string(f.type):
            continue
        limit = MAX_CONFIG_STRING if f.name == "config" else MAX_STRING
        for v in table.column(f.name).to_pylist():
            if v is not None and len(v) > limit:
                raise _reject(path, f"{member}: a '{f.name}' value is {len(v)} characters, limit {limit}")


def _read_parquet(path: Path, member: str, data: bytes, schema: pa.Schema, max_rows: int) -> pa.Table:
    try:
        # Footer first: schema, row count and uncompressed size are checked before any data page is
        # decoded, so a small file cannot expand into gigabytes of rows or strings.
        meta = pq.ParquetFile(pa.BufferReader(data)).metadata
        if not meta.schema.to_arrow_schema().equals(schema, check_metadata=False):
            got = [(f.name, str(f.type)) for f in meta.schema.to_arrow_schema()]
            raise _reject(path, f"{member} does not match the results schema (columns {got[:6]}...); "
                                "pack it with `fptbench submit` from this version")
        if meta.num_rows == 0 or meta.num_rows > max_rows:
            raise _reject(path, f"{member} has {meta.num_rows} rows (expected 1..{max_rows})")
        expanded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if expanded > MAX_MEMBER_BYTES * 4:
            raise _reject(path, f"{member} expands to {expanded} bytes, limit {MAX_MEMBER_BYTES * 4}")
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _reject(path, f"{member} is not a readable Parquet file ({str(exc)[:120]})") from exc
    if not table.schema.equals(schema, check_metadata=False) or table.num_rows != meta.num_rows:
        raise _reject(path, f"{member} contradicts its own footer (schema or row count)")
    _check_strings(path, member, table)
    return table


def _check_run(path: Path, run_id: str, runs: pa.Table, curves: pa.Table, declared: Any) -> None:
    rows = runs.to_pylist()
    if {r["run_id"] for r in rows} != {run_id} or set(curves.column("run_id").to_pylist()) != {run_id}:
        raise _reject(path, f"rows of run {run_id} carry another run_id")
    if {r["source"] for r in rows} != {"harness"}:
        raise _reject(path, f"run {run_id} was not produced by the harness (source {sorted({r['source'] for r in rows})})")
    configs = {r["config"] for r in rows}
    if len(configs) != 1:
        raise _reject(path, f"run {run_id} has rows with different configs")
    try:
        raw = json.loads(configs.pop())
        raw.pop("device", None)
        cfg = RunConfig(**{**raw, "budget": Budget(**raw["budget"])})
    except (TypeError, ValueError, KeyError, FptError) as exc:
        raise _reject(path, f"run {run_id} has an invalid config ({str(exc)[:120]})") from exc
    if cfg.run_id != run_id or {r["config_hash"] for r in rows} != {cfg.config_hash}:
        raise _reject(path, f"run {run_id}: config hash or run id does not match its config (edited rows?)")
    declared_cfg = declared.get("config") if isinstance(declared, dict) else None
    if not isinstance(declared_cfg, dict) or {k: v for k, v in declared_cfg.items() if k != "device"} != raw:
        raise _reject(path, f"run {run_id}: manifest config differs from the rows' config")
    for r in rows:
        for key in ("task", "model", "backbone", "seed", "profile"):
            if r[key] != getattr(cfg, key):
                raise _reject(path, f"run {run_id}: column '{key}' ({r[key]!r}) contradicts its config")
        if r["status"] not in ("finished", "diverged"):
            raise _reject(path, f"run {run_id}: status {r['status']!r} is not finished or diverged")
        if r["split"] not in ("val", "test"):
            raise _reject(path, f"run {run_id}: split {r['split']!r} is not val or test")
        v = r["value"]
        if v is not None and not math.isnan(v):
            if not math.isfinite(v) or (r["metric"] != "loss" and not -1e-9 <= v <= 1 + 1e-9):
                raise _reject(path, f"run {run_id}: {r['split']} {r['metric']} value {v} is out of range")
        elif r["status"] == "finished":
            raise _reject(path, f"run {run_id}: finished but {r['split']} {r['metric']} is missing")
        if r["n_params_total"] is None or r["n_params_trainable"] is None or not 0 < r["n_params_trainable"] <= r["n_params_total"]:
            raise _reject(path, f"run {run_id}: parameter counts are missing or inconsistent")


def load(path: Path | str) -> Submission:
    """Open and fully validate a submission file, or raise FptError with one line saying why."""
    path = Path(path)
    if not path.is_file():
        raise FptError(f"submission file {path} does not exist")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _reject(path, f"{size} bytes, limit {MAX_FILE_BYTES}")
    if not zipfile.is_zipfile(path):
        raise _reject(path, "not a zip archive (make it with `fptbench submit`)")
    try:
        with zipfile.ZipFile(path) as z:
            infos = _check_members(path, z)
            manifest = _check_manifest(path, _read_member(z, infos[MANIFEST], MAX_MANIFEST_BYTES))
            declared = manifest["members"]
            present = set(infos) - {MANIFEST}
            if set(declared) != present:
                extra, lost = sorted(present - set(declared)), sorted(set(declared) - present)
                raise _reject(path, f"members differ from the manifest (undeclared {extra[:3]}, missing {lost[:3]})")
            sub = Submission(path, manifest["name"], manifest)
            for member in sorted(present):
                data = _read_member(z, infos[member], MAX_MEMBER_BYTES)
                want = declared[member]
                if not isinstance(want, dict) or _member_digest(data) != {"sha256": want.get("sha256"), "size": want.get("size")}:
                    raise _reject(path, f"checksum mismatch for {member} (the file was modified after packing)")
                kind, run_id = MEMBER_RE.match(member).groups()  # type: ignore[union-attr]
                if kind == "runs":
                    sub.runs[run_id] = _read_parquet(path, member, data, RUNS_SCHEMA, MAX_RUN_ROWS)
                else:
                    sub.curves[run_id] = _read_parquet(path, member, data, CURVES_SCHEMA, MAX_CURVE_ROWS)
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise _reject(path, f"corrupt zip archive ({str(exc)[:120]})") from exc
    except ValueError as exc:
        raise _reject(path, str(exc)[:200]) from exc
    if set(sub.runs) != set(sub.curves):
        raise _reject(path, "every run needs both its runs and curves member")
    if set(sub.runs) != set(manifest["runs"]):
        raise _reject(path, "the manifest's run list differs from the packed runs")
    if not sub.runs:
        raise _reject(path, "it holds no runs")
    for run_id in sorted(sub.runs):
        _check_run(path, run_id, sub.runs[run_id], sub.curves[run_id], manifest["runs"][run_id])
    models = {m for t in sub.runs.values() for m in t.column("model").to_pylist()}
    if not models <= set(manifest["adapters"]):
        raise _reject(path, f"models {sorted(models - set(manifest['adapters']))} have no adapter source hash")
    return sub


# -- import ----------------------------------------------------------------------------------------
def check_tasks(sub: Submission) -> list[str]:
    """Every run must be on a task registered here, with the same fingerprint as this harness's
    (when the task's data is prepared here; otherwise the returned notes say it was not checked)."""
    from .task import TASKS, get_task

    notes = []
    by_task: dict[str, set[str]] = {}
    for t in sub.runs.values():
        for task, fp in zip(t.column("task").to_pylist(), t.column("task_fingerprint").to_pylist()):
            by_task.setdefault(task, set()).add(fp)
    for task, fps in sorted(by_task.items()):
        if task not in TASKS:
            raise _reject(sub.path, f"task '{task}' is not registered here; install its plugin package first")
        local = get_task(task)
        ok, _ = local.available()
        if not ok:
            notes.append(f"task '{task}': data not prepared here, so its fingerprint was not checked")
            continue
        if fps != {local.fingerprint}:
            raise _reject(sub.path, f"task '{task}' fingerprint {sorted(fps)} differs from this harness's "
                                    f"{local.fingerprint} (version {local.spec.version}); rerun on the current task version")
    return notes


def import_submission(path: Path | str, dest: Path | str) -> tuple[Submission, list[str], list[str], list[str]]:
    """Validate ``path`` and write its runs into ``dest`` marked ``source='submitted:<name>'``.

    Returns (submission, imported run ids, skipped run ids, notes). A run already imported from the
    same submitter is skipped; a run id imported from another submitter is a conflict.
    """
    sub = load(path)
    notes = check_tasks(sub)
    dest = Path(dest)
    source = f"submitted:{sub.name}"
    existing = read_table([dest], "runs")
    imported, skipped = [], []
    for run_id in sorted(sub.runs):
        have = existing[existing.run_id == run_id]
        if not have.empty:
            if set(have.source) != {source}:
                raise FptError(f"run {run_id} is already in {dest} from {sorted(set(have.source))}; "
                               f"remove {dest}/runs/{run_id}.parquet to replace it")
            skipped.append(run_id)
            continue
        rows = [{**r, "source": source} for r in sub.runs[run_id].to_pylist()]
        write_table(dest, "curves", run_id, sub.curves[run_id].to_pylist())
        write_table(dest, "runs", run_id, rows)  # written last: marks the run complete
        imported.append(run_id)
    return sub, imported, skipped, notes


def summarize(sub: Submission) -> str:
    n_rows = sum(t.num_rows for t in sub.runs.values())
    models = sorted({m for t in sub.runs.values() for m in t.column("model").to_pylist()})
    return f"submission '{sub.name}': {len(sub.runs)} runs ({n_rows} rows), models {', '.join(models)}"


def read_manifest(path: Path | str) -> dict[str, Any]:
    """The manifest of an already validated file (for display)."""
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read(MANIFEST))


__all__ = ["pack", "load", "import_submission", "Submission", "check_name", "read_manifest", "summarize",
           "adapter_source"]
