"""Submission files: a finished sweep packed into one zip that another machine can verify and import.

Format (``format_version`` 1), a zip archive holding only Parquet and JSON (no pickle anywhere)::

    manifest.json             name, environment, adapters (class, source sha256), run configs,
                              sha256 and size of every other member, and a checksum over itself
    runs/<run_id>.parquet     the harness's runs rows, as written (schema RUNS_SCHEMA)
    curves/<run_id>.parquet   the matching validation curves (schema CURVES_SCHEMA)

The checksums detect corruption and edits made without recomputing them; they are not a signature
(anyone can recompute a sha256), so a submitted row stays marked ``submitted:<name>`` on the
leaderboard until the harness has rerun the same configuration itself. Import re-validates every
row (schema, config hash, run id, value ranges, string lengths, no control characters, curve rows
finite and inside the run's budget), type-checks the manifest, and rewrites the rows with the
harness's own writer, so nothing from the file reaches the results store unparsed. Provenance the
harness cannot check (device, library versions, git commit) is stored prefixed ``claimed:``.

Verification (``fptbench leaderboard --add/--verify``) writes a sidecar per submission,
``<submissions dir>/verification/<name>.json``: at import, each run's test numbers are checked
against its own curves (``consistency_problems``: no rerun needed); ``--verify`` reruns a seeded sample
of the configurations with this harness (``benchmark.verification``). ``verification_status(dirs)``
reads the sidecars back: ``submitted`` (not checked beyond the format), ``verified`` (the rerun sample
agrees within the gate's tolerance) or ``contradicted`` (its own curves or a rerun disagree).
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
from .results import CURVES_SCHEMA, RUNS_SCHEMA, complete, older_schema, read_table, write_table

SUBMITTED_SUBDIR = "submitted"  # submitted runs live in <results>/submitted, apart from harness runs

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
RESERVED_NAMES = frozenset({"harness"})  # the source value of the harness's own runs: a submitter is never it
CLAIMED = "claimed:"  # prefix of provenance values the harness cannot check (device, versions, commit)
CLAIMED_COLUMNS = ("device", "torch_version", "transformers_version", "package_version", "git_commit")
VERIFICATION_DIR = "verification"
STATUSES = ("submitted", "verified", "contradicted")
MANIFEST_KEYS = {"format": str, "format_version": int, "name": str, "note": str, "environment": dict,
                 "adapters": dict, "runs": dict, "members": dict, "checksum": str}
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_BIDI = set(range(0x200E, 0x2010)) | set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A)) | {0x2028, 0x2029}
MEMBER_RE = re.compile(r"^(runs|curves)/([A-Za-z0-9_.+=-]{1,240})\.parquet$")
MANIFEST = "manifest.json"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise FptError(f"submission name {name!r} is invalid; use 1-64 letters, digits, '.', '_' or '-', "
                       "starting with a letter or digit")
    if name.lower() in RESERVED_NAMES:
        raise FptError(f"submission name {name!r} is reserved (it labels the harness's own runs); choose another --name")
    return name


def control_char(text: str) -> str | None:
    """The first control character of ``text`` (C0, DEL, C1, line separators, bidi overrides), if any.

    Such a character in a model name or a note would reach a terminal (escape sequences) or rewrite
    the order of text on a page (bidi overrides); a submission carries none anywhere."""
    for ch in text:
        o = ord(ch)
        if o < 0x20 or 0x7F <= o < 0xA0 or o in _BIDI:
            return ch
    return None


def check_text(text: str, where: str) -> str:
    bad = control_char(text)
    if bad is not None:
        raise FptError(f"{where} contains the control character U+{ord(bad):04X}; remove it")
    return text


def _walk_strings(obj: Any, where: str) -> None:
    """Every string (keys included) of a JSON value must be free of control characters."""
    if isinstance(obj, str):
        check_text(obj, where)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            check_text(str(k), f"{where}: a key")
            _walk_strings(v, f"{where}.{k}" if len(where) < 120 else where)
    elif isinstance(obj, list):
        for v in obj:
            _walk_strings(v, where)


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
        raw.pop("device", None)
        cfg = RunConfig(**{**raw, "budget": Budget(**raw["budget"])})
    except (TypeError, ValueError, KeyError, AttributeError, FptError) as exc:
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
    _check_curves(path, run_id, curves.to_pylist(), cfg.budget.steps, rows[0]["status"])


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


def claimed(value: Any) -> Any:
    """A provenance value the harness cannot check, marked as the submitter's claim."""
    if value is None or (isinstance(value, str) and value.startswith(CLAIMED)):
        return value
    return f"{CLAIMED}{value}"


def import_submission(path: Path | str, dest: Path | str) -> tuple[Submission, list[str], list[str], list[str]]:
    """Validate ``path`` and write its runs into ``dest`` marked ``source='submitted:<name>'``.

    Returns (submission, imported run ids, skipped run ids, notes). A run already imported from the
    same submitter is skipped; a run id imported from another submitter is a conflict. Provenance
    columns (device, versions, commit) are stored as ``claimed:<value>``. The runs' test numbers are
    checked against their own curves and the verdict is written to the submission's sidecar
    (``verification/<name>.json`` in ``dest``); a contradiction is a note, the runs stay imported and
    marked ``contradicted``.
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
        rows = [{**r, "source": source, **{c: claimed(r[c]) for c in CLAIMED_COLUMNS}} for r in sub.runs[run_id].to_pylist()]
        write_table(dest, "curves", run_id, sub.curves[run_id].to_pylist())
        write_table(dest, "runs", run_id, rows)  # written last: marks the run complete
        imported.append(run_id)
    problems = consistency_problems(sub)
    record = read_verification(dest, sub.name)
    runs_rec = dict(record.get("runs", {})) if record.get("checksum") == sub.manifest["checksum"] else {}
    for run_id in sorted(sub.runs):
        entry = runs_rec.get(run_id, {"status": "submitted", "checks": []})
        checks = [c for c in entry.get("checks", []) if c.get("kind") != "curves"]
        if run_id in problems:
            checks.append({"kind": "curves", "status": "contradicted", "detail": "; ".join(problems[run_id])})
        else:
            checks.append({"kind": "curves", "status": "consistent", "detail": "test and validation numbers agree "
                           "with the run's own curves"})
        runs_rec[run_id] = {"status": _run_status(checks), "checks": checks}
    write_verification(dest, sub, runs_rec)
    for run_id, msgs in sorted(problems.items()):
        notes.append(f"run {run_id} contradicts its own curves ({'; '.join(msgs)}): marked contradicted")
    return sub, imported, skipped, notes


# -- consistency and verification records -----------------------------------------------------------
TEST_VAL_Z = 5.0  # binomial standard errors a test score may exceed the best validation score by
TEST_VAL_FLOOR = 0.1  # and never less than this


def consistency_problems(sub: Submission) -> dict[str, list[str]]:
    """run_id -> ways its recorded numbers contradict its own curves, without any rerun.

    The gate's curve checks (``benchmark.gate.compare.consistency``: recorded validation score = the
    curve's best point, steps-to-threshold = the curve's first crossing) plus its own: the validation
    score is the curve's value at the selected step, and the test score is not above that (best,
    selection-biased) validation score by more than sampling noise (``TEST_VAL_Z`` binomial standard
    errors of both splits, at least ``TEST_VAL_FLOOR``). One-sided on purpose: an honest test score
    may sit far *below* validation (a shifted test split, e.g. a fold-level holdout), never far above.
    An LSTM claiming 0.99 whose curve never left 0.5 fails.
    """
    import pandas as pd

    runs = pd.concat([t.to_pandas() for t in sub.runs.values()], ignore_index=True)
    curves = pd.concat([t.to_pandas() for t in sub.curves.values()], ignore_index=True)
    out: dict[str, list[str]] = {}
    try:
        from .gate.compare import consistency, val_curves

        out = {k: list(v) for k, v in consistency(runs, val_curves(curves)).items()}
    except (ImportError, TypeError, AttributeError):  # the gate's API moved: keep the local checks below
        out = {}
    for run_id, rows in runs.groupby("run_id"):
        main = rows[rows.metric != "loss"].set_index("split")
        if not {"val", "test"} <= set(main.index):
            continue
        val, test = main.loc["val"], main.loc["test"]
        if not (math.isfinite(val.value) and math.isfinite(test.value)):
            continue
        curve = curves[(curves.run_id == run_id) & (curves.metric == val.metric)]
        at = curve[curve.step == val.selected_step].value
        issues = out.setdefault(str(run_id), [])
        if at.empty:
            issues.append(f"its curve has no validation point at the selected step {int(val.selected_step)}")
        elif not math.isclose(float(at.iloc[0]), float(val.value), abs_tol=1e-9):
            issues.append(f"recorded val score {val.value:.4f} but its curve shows {float(at.iloc[0]):.4f} at the "
                          f"selected step {int(val.selected_step)}")
        p = min(max(float(val.value), 1e-3), 1 - 1e-3)
        se = math.sqrt(p * (1 - p) / max(int(val.n_examples or 1), 1) + p * (1 - p) / max(int(test.n_examples or 1), 1))
        tol = max(TEST_VAL_FLOOR, TEST_VAL_Z * se)
        if float(test.value) - float(val.value) > tol:
            issues.append(f"test {test.metric} {test.value:.4f} is {test.value - val.value:.4f} above its best "
                          f"validation score {val.value:.4f} (tolerance {tol:.4f})")
        if not issues:
            out.pop(str(run_id))
    return out


def _run_status(checks: list[dict[str, Any]]) -> str:
    states = {c.get("status") for c in checks}
    if "contradicted" in states:
        return "contradicted"
    return "verified" if "verified" in states else "submitted"


def verification_path(dest: Path | str, name: str) -> Path:
    return Path(dest) / VERIFICATION_DIR / f"{check_name(name)}.json"


def read_verification(dest: Path | str, name: str) -> dict[str, Any]:
    path = verification_path(dest, name)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FptError(f"verification record {path} is unreadable ({exc}); delete it and re-add the submission") from exc
    return data if isinstance(data, dict) else {}


def submission_status(runs: dict[str, dict[str, Any]]) -> str:
    """A submission is contradicted if any run is, verified if a rerun sample agreed, else submitted."""
    states = {r.get("status") for r in runs.values()}
    if "contradicted" in states:
        return "contradicted"
    return "verified" if "verified" in states else "submitted"


def write_verification(dest: Path | str, sub: Submission, runs: dict[str, dict[str, Any]],
                       method: str | None = None) -> Path:
    """Write the submission's sidecar (atomically): overall verdict, per-run verdicts and checks, note."""
    path = verification_path(dest, sub.name)
    old = read_verification(dest, sub.name)
    record = {
        "fptbench_verification": 1,
        "submission": sub.name,
        "source": f"submitted:{sub.name}",
        "checksum": sub.manifest["checksum"],
        "note": sub.manifest.get("note", ""),
        "status": submission_status(runs),
        "method": method or (old.get("method", "") if old.get("checksum") == sub.manifest["checksum"] else ""),
        "runs": {k: runs[k] for k in sorted(runs)},
    }
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def verification_status(dirs: list[Path | str] | tuple[Path | str, ...]) -> dict[str, str]:
    """Badges for the leaderboard: ``{run_id or "submitted:<name>": "submitted" | "verified" | "contradicted"}``.

    Reads every ``verification/*.json`` sidecar under ``dirs`` (the submissions directories; harness
    results directories have none). A run's own verdict wins over nothing; a run of a submission whose
    sample was contradicted is ``contradicted`` too (the submission failed its audit), and a run of a
    verified submission that was not in the rerun sample is ``verified`` (the sample vouches for it).
    Submitted runs with no sidecar are simply absent: show them as ``submitted``.
    """
    out: dict[str, str] = {}
    for d in dirs:
        folder = Path(d) / VERIFICATION_DIR
        if not folder.is_dir():
            continue
        for f in sorted(folder.glob("*.json")):
            try:
                rec = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # a damaged sidecar vouches for nothing: those runs stay "submitted"
            if not isinstance(rec, dict) or not isinstance(rec.get("runs"), dict):
                continue
            overall = rec.get("status") if rec.get("status") in STATUSES else "submitted"
            if isinstance(rec.get("source"), str):
                out[rec["source"]] = overall
            for run_id, r in rec["runs"].items():
                own = r.get("status") if isinstance(r, dict) and r.get("status") in STATUSES else "submitted"
                out[str(run_id)] = own if own == "contradicted" or overall == "submitted" else overall
    return out


def summarize(sub: Submission) -> str:
    n_rows = sum(t.num_rows for t in sub.runs.values())
    models = sorted({m for t in sub.runs.values() for m in t.column("model").to_pylist()})
    return f"submission '{sub.name}': {len(sub.runs)} runs ({n_rows} rows), models {', '.join(models)}"


def read_manifest(path: Path | str) -> dict[str, Any]:
    """The manifest of an already validated file (for display)."""
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read(MANIFEST))


__all__ = ["pack", "load", "import_submission", "Submission", "check_name", "read_manifest", "summarize",
           "adapter_source", "consistency_problems", "verification_status", "write_verification", "read_verification",
           "check_text", "control_char"]
