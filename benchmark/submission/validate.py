"""Validation: open a submission file and check every byte of it before anything is imported.

Refuses, in one line each: archives that are not what ``pack`` writes (member names, sizes, zip
bombs, encryption), manifests with a wrong type, checksum or name, Parquet members with another
schema, rows whose config does not reproduce their run id and hash, values out of range, a finished
run that did not train its whole budget, and curves outside the run's budget.
"""

from __future__ import annotations

import json
import math
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..config import RunConfig
from ..errors import FptError
from ..hashing import sha256_json
from ..results import CURVES_SCHEMA, RUNS_SCHEMA, complete, older_schema
from .format import (FORMAT, FORMAT_VERSION, MANIFEST, MANIFEST_KEYS, MAX_COMPRESSION_RATIO, MAX_CONFIG_STRING,
                     MAX_CURVE_ROWS, MAX_FILE_BYTES, MAX_MANIFEST_BYTES, MAX_MEMBER_BYTES, MAX_MEMBERS, MAX_RUN_ROWS,
                     MAX_STRING, MAX_TOTAL_BYTES, MEMBER_RE, SHA256_RE, _reject, _walk_strings, check_name,
                     control_char, member_digest)


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
    _check_manifest_types(path, manifest)
    claimed = manifest["checksum"]
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    if sha256_json(body) != claimed:
        raise _reject(path, "manifest checksum mismatch (the manifest was modified after packing)")
    try:
        check_name(manifest["name"])
    except FptError as exc:
        raise _reject(path, str(exc)) from exc
    return manifest


def _kind(v: Any) -> str:
    return "a string" if isinstance(v, str) else "a number" if isinstance(v, (int, float)) else type(v).__name__


def _check_manifest_types(path: Path, m: dict[str, Any]) -> None:
    """Every manifest field has its type, and every string is short and free of control characters."""
    extra = sorted(set(m) - set(MANIFEST_KEYS))
    if extra:
        raise _reject(path, f"manifest has unknown fields {extra[:5]}; pack it with `fptbench submit`")
    for key, kind in MANIFEST_KEYS.items():
        v = m.get(key)
        if not isinstance(v, kind) or isinstance(v, bool):
            raise _reject(path, f"manifest field '{key}' is missing or not a {kind.__name__} (got {_kind(v)})")
    if len(m["note"]) > MAX_STRING:
        raise _reject(path, f"manifest note is {len(m['note'])} characters, limit {MAX_STRING}")
    for k, v in m["environment"].items():
        if not (v is None or isinstance(v, (str, bool, int, float))):
            raise _reject(path, f"manifest environment field '{str(k)[:40]}' is not a scalar (got {_kind(v)})")
        if isinstance(v, str) and len(v) > MAX_STRING:
            raise _reject(path, f"manifest environment field '{str(k)[:40]}' is {len(v)} characters, limit {MAX_STRING}")
    for model, a in m["adapters"].items():
        if not isinstance(a, dict) or not all(isinstance(a.get(f), str) for f in ("class", "module_source_sha256")):
            raise _reject(path, f"manifest adapter '{str(model)[:40]}' needs string 'class' and 'module_source_sha256'")
    for run_id, r in m["runs"].items():
        if not isinstance(r, dict) or not isinstance(r.get("config"), dict) or not isinstance(r.get("status"), str):
            raise _reject(path, f"manifest run '{str(run_id)[:80]}' needs a 'config' object and a 'status' string")
    for member, d in m["members"].items():
        if (not isinstance(d, dict) or not isinstance(d.get("sha256"), str) or not SHA256_RE.match(d["sha256"])
                or not isinstance(d.get("size"), int) or isinstance(d.get("size"), bool) or d["size"] < 0):
            raise _reject(path, f"manifest member '{str(member)[:80]}' needs a hex 'sha256' and an integer 'size'")
    try:
        _walk_strings(m, "manifest")
    except FptError as exc:
        raise _reject(path, str(exc)) from exc


def _check_strings(path: Path, member: str, table: pa.Table) -> None:
    for f in table.schema:
        if not pa.types.is_string(f.type):
            continue
        limit = MAX_CONFIG_STRING if f.name == "config" else MAX_STRING
        for v in table.column(f.name).to_pylist():
            if v is not None and len(v) > limit:
                raise _reject(path, f"{member}: a '{f.name}' value is {len(v)} characters, limit {limit}")
            if v is not None and control_char(v) is not None:
                raise _reject(path, f"{member}: a '{f.name}' value contains the control character "
                                    f"U+{ord(control_char(v)):04X}")  # type: ignore[arg-type]


def _read_parquet(path: Path, member: str, data: bytes, schema: pa.Schema, max_rows: int) -> pa.Table:
    try:
        # Footer first: schema, row count and uncompressed size are checked before any data page is
        # decoded, so a small file cannot expand into gigabytes of rows or strings.
        meta = pq.ParquetFile(pa.BufferReader(data)).metadata
        if not older_schema(meta.schema.to_arrow_schema(), "runs" if schema is RUNS_SCHEMA else "curves"):
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
    if not table.schema.equals(meta.schema.to_arrow_schema(), check_metadata=False) or table.num_rows != meta.num_rows:
        raise _reject(path, f"{member} contradicts its own footer (schema or row count)")
    _check_strings(path, member, table)
    return complete(table, "runs" if schema is RUNS_SCHEMA else "curves")


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
        if not isinstance(raw, dict):
            raise FptError("not a JSON object")
        raw.pop("device", None)
        cfg = RunConfig.from_json(raw)
    except (ValueError, FptError) as exc:
        raise _reject(path, f"run {run_id} has an invalid config ({str(exc)[:120]})") from exc
    try:
        _walk_strings(raw, f"run {run_id} config")
    except FptError as exc:
        raise _reject(path, str(exc)) from exc
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
        for key in ("steps_trained", "selected_step", "steps_to_threshold"):
            if r[key] is not None and not 0 <= r[key] <= cfg.budget.steps:
                raise _reject(path, f"run {run_id}: {key} {r[key]} is outside its budget of {cfg.budget.steps} steps")
        # The trainer stops early only when the loss diverges: a finished run trained its whole budget,
        # so a short run relabelled with a longer profile's budget is refused, not shown under it.
        if r["status"] == "finished" and r["steps_trained"] != cfg.budget.steps:
            raise _reject(path, f"run {run_id}: finished after {r['steps_trained']} steps but its budget is "
                                f"{cfg.budget.steps} (profile '{cfg.profile}'); a finished run trains its whole budget")
    curve_rows = curves.to_pylist()
    _check_curves(path, run_id, curve_rows, cfg.budget.steps, rows[0]["status"])
    steps = {r["step"] for r in curve_rows}
    trained = rows[0]["steps_trained"]
    if rows[0]["status"] == "finished" and steps and max(steps) != trained:
        raise _reject(path, f"run {run_id}: its curve ends at step {max(steps)} but it trained {trained} steps "
                            "(the harness evaluates at the last step)")
    if rows[0]["selected_step"] is not None and steps and rows[0]["selected_step"] not in steps:
        raise _reject(path, f"run {run_id}: selected step {rows[0]['selected_step']} is not a step of its curve")


def _check_curves(path: Path, run_id: str, rows: list[dict[str, Any]], budget_steps: int, status: str) -> None:
    """Curve rows are validation points inside the run's budget with finite numbers.

    A diverged run may carry a non-finite loss (its training blew up); its task metric stays finite.
    The training loss is undefined before the first step (step 0)."""
    seen: set[tuple[int, str]] = set()
    for r in rows:
        step, metric = r["step"], r["metric"]
        if r["split"] != "val":
            raise _reject(path, f"run {run_id}: curve row with split {r['split']!r} (curves are validation only)")
        if step is None or not 0 <= step <= budget_steps:
            raise _reject(path, f"run {run_id}: curve step {step} is outside its budget of {budget_steps} steps")
        if (step, metric) in seen:
            raise _reject(path, f"run {run_id}: curve step {step} of '{metric}' appears twice")
        seen.add((step, metric))
        loss_like = metric == "loss"
        v, tl, wall = r["value"], r["train_loss"], r["wall_time_s"]
        if v is None or not math.isfinite(v):
            if not (loss_like and status == "diverged"):
                raise _reject(path, f"run {run_id}: curve {metric} at step {step} is not finite ({v})")
        elif not loss_like and not -1e-9 <= v <= 1 + 1e-9:
            raise _reject(path, f"run {run_id}: curve {metric} at step {step} is {v}, outside [0, 1]")
        if tl is not None and not math.isfinite(tl) and step > 0 and status != "diverged":
            raise _reject(path, f"run {run_id}: curve train loss at step {step} is not finite ({tl})")
        if wall is None or not math.isfinite(wall) or wall < 0:
            raise _reject(path, f"run {run_id}: curve wall time at step {step} is not a finite non-negative number")


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
                if not isinstance(want, dict) or member_digest(data) != {"sha256": want.get("sha256"), "size": want.get("size")}:
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


def summarize(sub: Submission) -> str:
    n_rows = sum(t.num_rows for t in sub.runs.values())
    models = sorted({m for t in sub.runs.values() for m in t.column("model").to_pylist()})
    return f"submission '{sub.name}': {len(sub.runs)} runs ({n_rows} rows), models {', '.join(models)}"


def read_manifest(path: Path | str) -> dict[str, Any]:
    """The manifest of an already validated file (for display)."""
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read(MANIFEST))
