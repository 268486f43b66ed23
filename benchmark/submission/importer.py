"""Import: a validated submission's runs written into a submissions directory, all or nothing.

Why all or nothing: a bundle whose later run clashed used to abort after its earlier runs were
written and before their verdicts were, so a tampered run reached the site unmarked. Now every
conflict is found before anything is written, the verdicts (curves, parameter counts, compute) are
written first, and the runs after them; a failure while writing removes what this import wrote.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..errors import FptError
from ..results import read_table, write_table
from .format import CLAIMED, CLAIMED_COLUMNS, _reject
from .validate import Submission, load
from .verdicts import import_checks, read_verification, run_status, write_verification

# What must match for a run already imported from the same submitter to count as the same run.
SAME_RUN_COLUMNS = ("split", "metric", "value", "n_examples", "selected_step", "steps_trained", "steps_to_threshold",
                    "n_params_total", "n_params_trainable", "train_flops", "peak_mem_mb", "train_time_s")


def check_tasks(sub: Submission) -> list[str]:
    """Every run must be on a task registered here, with the same fingerprint as this harness's
    (when the task's data is prepared here; otherwise the returned notes say it was not checked)."""
    from ..task import TASKS, get_task

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


def _numbers(rows: list[dict[str, Any]]) -> str:
    def norm(v: Any) -> Any:  # pandas turns nullable integers into floats: compare numbers as floats
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return v
        return None if math.isnan(float(v)) else float(v)

    return json.dumps(sorted([[norm(r.get(c)) for c in SAME_RUN_COLUMNS] for r in rows], key=str), default=str)


def import_submission(path: Path | str, dest: Path | str) -> tuple[Submission, list[str], list[str], list[str]]:
    """Validate ``path`` and write its runs into ``dest`` marked ``source='submitted:<name>'``.

    Returns (submission, imported run ids, skipped run ids, notes). A run already imported from the
    same submitter with the same numbers is skipped; with other numbers, or from another submitter,
    it is a conflict, and nothing of the bundle is written. Provenance columns (device, versions,
    commit) are stored as ``claimed:<value>``. Each run's import checks (``verdicts.import_checks``)
    are recorded before its rows; a contradiction is a note, the run is imported and marked.
    """
    sub = load(path)
    notes = check_tasks(sub)
    dest = Path(dest)
    source = f"submitted:{sub.name}"
    existing = read_table([dest], "runs")
    new_rows: dict[str, list[dict[str, Any]]] = {}
    skipped = []
    for run_id in sorted(sub.runs):
        rows = [{**r, "source": source, **{c: claimed(r[c]) for c in CLAIMED_COLUMNS}} for r in sub.runs[run_id].to_pylist()]
        have = existing[existing.run_id == run_id]
        if have.empty:
            new_rows[run_id] = rows
            continue
        if set(have.source) != {source}:
            raise FptError(f"run {run_id} is already in {dest} from {sorted(set(have.source))}; nothing imported; "
                           f"remove {dest}/runs/{run_id}.parquet to replace it")
        if _numbers(have.to_dict("records")) != _numbers(rows):
            raise FptError(f"run {run_id} is already in {dest} from an earlier bundle of '{sub.name}' with other "
                           f"numbers; nothing imported; remove {dest}/runs/{run_id}.parquet to replace it")
        skipped.append(run_id)
    checks = import_checks(sub)
    record = read_verification(dest, sub.name)
    old = record.get("runs", {}) if isinstance(record.get("runs"), dict) else {}
    runs_rec = {}
    for run_id in sorted(sub.runs):
        kept = [c for c in (old.get(run_id) or {}).get("checks", []) if c.get("kind") == "rerun"
                and (old.get(run_id) or {}).get("bundle") == sub.manifest["checksum"]]
        runs_rec[run_id] = {"status": run_status(kept + checks[run_id]), "checks": kept + checks[run_id]}
    write_verification(dest, sub, runs_rec)  # first: a run on disk always has its verdict
    written: list[Path] = []
    try:
        for run_id, rows in new_rows.items():
            written.append(write_table(dest, "curves", run_id, sub.curves[run_id].to_pylist()))
            written.append(write_table(dest, "runs", run_id, rows))  # written last: marks the run complete
    except BaseException:
        for p in reversed(written):
            p.unlink(missing_ok=True)
        raise
    for run_id in sorted(sub.runs):
        for c in checks[run_id]:
            if c["status"] == "contradicted":
                what = "its own curves" if c["kind"] == "curves" else f"its {c['kind']} check"
                notes.append(f"run {run_id} contradicts {what} ({c['detail']}): marked contradicted")
            elif c["status"] == "unchecked":
                notes.append(f"run {run_id}: {c['detail']}")
    return sub, list(new_rows), skipped, notes
