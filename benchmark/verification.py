"""Rerun a seeded sample of a submission's configurations with this harness and compare.

A submission's checksums prove only that nobody edited the file after packing; its numbers are the
submitter's claim. ``verify_submission`` picks a sample of its runs (seeded by the submission's own
checksum and ``seed``: the same file and seed always draw the same sample, and a verifier who wants
more assurance passes other seeds or a larger sample), reruns each configuration exactly
(same task fingerprint, model, options, backbone, seed, budget) in a scratch directory, and compares
the rerun with the claim using the regression gate's statistics (``benchmark.gate.compare``: paired
per seed, the per-key floors of the run's profile). Runs whose adapter is not importable here cannot
be rerun and stay ``submitted``. The verdict goes into the submission's sidecar
(``benchmark.submission.write_verification``), which the leaderboard reads through
``benchmark.submission.verification_status``.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import FptError
from .submission import (Submission, _run_status, adapter_source, load, read_verification, submission_status,
                         write_verification)

DEFAULT_SAMPLE = 2
LOCAL_ABS_TOL = 0.02  # fallback rule only (the gate's API unavailable): |rerun - claim| on the test metric
LOCAL_Z = 3.0


@dataclass
class RunCheck:
    run_id: str
    status: str  # verified | contradicted | submitted (could not rerun)
    detail: str


@dataclass
class VerifyResult:
    submission: str
    status: str
    sample: list[str]
    checks: list[RunCheck] = field(default_factory=list)
    method: str = ""
    sidecar: Path | None = None


def pick_sample(sub: Submission, n: int, seed: int = 0) -> list[str]:
    """A deterministic sample of ``n`` run ids whose adapters are importable here (seeded by the file's checksum)."""
    from .model import MODELS

    runnable = sorted(r for r, t in sub.runs.items() if t.column("model")[0].as_py() in MODELS)
    if n <= 0 or not runnable:
        return []
    rng = np.random.default_rng([seed, int(sub.manifest["checksum"][:12], 16)])
    picked = rng.choice(len(runnable), size=min(n, len(runnable)), replace=False)
    return [runnable[i] for i in sorted(int(i) for i in picked)]


def _rerun(sub: Submission, run_id: str, scratch: Path, device: str) -> str:
    from .config import RunConfig
    from .profiles import Budget
    from .runner import run

    raw = json.loads(sub.runs[run_id].column("config")[0].as_py())
    raw.pop("device", None)
    cfg = RunConfig(**{**raw, "budget": Budget(**raw["budget"]), "device": device})
    if cfg.run_id != run_id:
        raise FptError(f"run {run_id}: its config does not reproduce its run id here; the harness version differs")
    return run(cfg, scratch, progress=False)


def compare_run(claim: pd.DataFrame, rerun: pd.DataFrame, claim_curves: pd.DataFrame,
                rerun_curves: pd.DataFrame) -> tuple[str, str, str]:
    """(status, detail, method) of one rerun against its claim.

    Uses the gate's public comparison (the claim as the reference, the rerun as the fresh result, the
    determinism tier off: another machine may round differently); an accuracy verdict other than
    ``ok`` or a convergence regression contradicts the claim. Falls back to a local rule (|difference|
    of the test metric within max(LOCAL_ABS_TOL, LOCAL_Z binomial standard errors)) if the gate's API
    is not importable, and says so in ``method``.
    """
    try:
        from .gate.compare import GateConfig, compare_frames
    except ImportError:
        compare_frames = None  # type: ignore[assignment]
    if compare_frames is not None:
        try:
            report = compare_frames(claim, rerun, GateConfig(determinism="off"), ref_curves=claim_curves,
                                    new_curves=rerun_curves)
            v = report.verdicts[0]
            bad = v.accuracy != "ok" or v.speed == "regressed"
            detail = (f"claimed test {v.metric} {v.ref_mean:.4f}, rerun {v.new_mean:.4f} (difference {v.delta:+.4f}, "
                      f"tolerance {v.tol:.4f})" + (": " + "; ".join(v.reasons) if v.reasons else ""))
            return ("contradicted" if bad else "verified"), detail, "gate: benchmark.gate.compare.compare_frames"
        except (TypeError, AttributeError, IndexError, FptError):
            pass  # an API change, or a profile the gate has no settings for: the local rule below decides
    a = claim[(claim.split == "test") & (claim.metric != "loss")].iloc[0]
    b = rerun[(rerun.split == "test") & (rerun.metric != "loss")].iloc[0]
    if not (math.isfinite(a.value) and math.isfinite(b.value)):
        same = math.isnan(a.value) and math.isnan(b.value)
        return ("verified" if same else "contradicted"), f"claimed {a.value}, rerun {b.value}", "local rule"
    p = min(max(float(b.value), 1e-3), 1 - 1e-3)
    tol = max(LOCAL_ABS_TOL, LOCAL_Z * math.sqrt(2 * p * (1 - p) / max(int(b.n_examples or 1), 1)))
    d = float(a.value) - float(b.value)
    return (("verified" if abs(d) <= tol else "contradicted"),
            f"claimed test {a.metric} {a.value:.4f}, rerun {b.value:.4f} (difference {d:+.4f}, tolerance {tol:.4f})",
            f"local rule: |claim - rerun| <= max({LOCAL_ABS_TOL}, {LOCAL_Z} binomial SE)")


def verify_submission(path: Path | str, dest: Path | str, sample: int = DEFAULT_SAMPLE, seed: int = 0,
                      device: str = "cpu", scratch: Path | str | None = None) -> VerifyResult:
    """Rerun ``sample`` seeded configurations of the submission at ``path``; record the verdict in ``dest``."""
    from .results import read_table

    sub = load(path)
    picked = pick_sample(sub, sample, seed)
    result = VerifyResult(sub.name, "submitted", picked)
    record = read_verification(dest, sub.name)
    runs_rec: dict[str, dict[str, Any]] = (dict(record.get("runs", {}))
                                           if record.get("checksum") == sub.manifest["checksum"] else {})
    for run_id in sub.runs:
        runs_rec.setdefault(run_id, {"status": "submitted", "checks": []})
    methods = set()
    with tempfile.TemporaryDirectory(prefix="fptbench-verify-") as tmp:
        out = Path(scratch) if scratch is not None else Path(tmp)
        for run_id in picked:
            model = sub.runs[run_id].column("model")[0].as_py()
            source_note = ""
            try:
                here = adapter_source(model)["module_source_sha256"]
                if here != sub.manifest["adapters"].get(model, {}).get("module_source_sha256"):
                    source_note = " (the adapter's source here differs from the submitter's)"
            except FptError:
                source_note = ""
            try:
                _rerun(sub, run_id, out, device)
                rerun = read_table([out], "runs")
                rerun = rerun[rerun.run_id == run_id]
                rerun_curves = read_table([out], "curves")
                status, detail, method = compare_run(sub.runs[run_id].to_pandas(), rerun,
                                                     sub.curves[run_id].to_pandas(),
                                                     rerun_curves[rerun_curves.run_id == run_id])
            except FptError as exc:
                status, detail, method = "submitted", f"could not rerun here: {exc}", "none"
            methods.add(method)
            check = RunCheck(run_id, status, detail + source_note)
            result.checks.append(check)
            entry = runs_rec[run_id]
            checks = [c for c in entry.get("checks", []) if c.get("kind") != "rerun"]
            checks.append({"kind": "rerun", "status": status, "detail": check.detail})
            runs_rec[run_id] = {"status": _run_status(checks), "checks": checks}
    result.method = "; ".join(sorted(methods)) + (f"; sample {len(picked)} of {len(sub.runs)} runs, seed {seed}"
                                                   if picked else "no importable adapter: nothing rerun")
    result.status = submission_status(runs_rec)
    result.sidecar = write_verification(dest, sub, runs_rec, method=result.method)
    return result


__all__ = ["DEFAULT_SAMPLE", "RunCheck", "VerifyResult", "compare_run", "pick_sample", "verify_submission"]
