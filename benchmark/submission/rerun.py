"""Rerun a sample of a submission's runs with this harness and give each rerun run its own verdict.

The sample is drawn from a seed the verifier holds (by default a fresh random one, printed and
recorded so the verifier can repeat it), never from anything in the bundle: a sample seeded by the
bundle's checksum could be steered by editing the free-text note until it skipped a tampered run.
Each sampled run is rerun exactly (same task fingerprint, model, options, backbone, seed, budget) in
a scratch directory and compared with its claim: the test metric with the regression gate's
statistics (``benchmark.gate.compare``: paired per seed, the per-key floors of the run's profile),
the parameter counts exactly, and the FLOP count exactly when the claim names the same kind of
device. Runs outside the sample keep their own import verdict (``submitted`` unless contradicted):
a sample vouches only for what it reran. Pass ``sample`` >= the number of runs to rerun them all.
"""

from __future__ import annotations

import math
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import RunConfig
from ..errors import FptError
from .format import CLAIMED
from .pack import adapter_source
from .validate import Submission, load
from .verdicts import read_verification, run_status, submission_status, write_verification

DEFAULT_SAMPLE = 2
LOCAL_ABS_TOL = 0.02  # |rerun - claim| on the test metric where the gate has nothing to compare
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
    seed: int = 0


def pick_sample(sub: Submission, n: int, seed: int | None = None) -> tuple[list[str], int]:
    """(``n`` run ids whose adapters are importable here, the seed that drew them).

    ``seed`` None draws a fresh seed from the operating system's randomness: the submitter cannot
    know it when packing. The bundle's content never enters the draw."""
    from ..model import MODELS

    if seed is None:
        seed = secrets.randbits(63)
    runnable = sorted(r for r, t in sub.runs.items() if t.column("model")[0].as_py() in MODELS)
    if n <= 0 or not runnable:
        return [], seed
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(runnable), size=min(n, len(runnable)), replace=False)
    return [runnable[i] for i in sorted(int(i) for i in picked)], seed


def _rerun(sub: Submission, run_id: str, scratch: Path, device: str) -> str:
    from ..runner import run

    cfg = RunConfig.from_json(sub.runs[run_id].column("config")[0].as_py(), device=device)
    if cfg.run_id != run_id:
        raise FptError(f"run {run_id}: its config does not reproduce its run id here; the harness version differs")
    return run(cfg, scratch, progress=False)


def integrity_problems(claim: pd.DataFrame, rerun: pd.DataFrame, device: str) -> list[str]:
    """Machine-independent numbers of a claim that a rerun contradicts: parameter counts, always; the
    FLOP count when the claim's device is of the rerun's kind (memory and time stay self-reported)."""
    a, b = claim.iloc[0], rerun.iloc[0]
    out = []
    for col in ("n_params_total", "n_params_trainable"):
        if int(a[col]) != int(b[col]):
            out.append(f"{col} claimed {int(a[col]):,}, rerun {int(b[col]):,}")
    claimed_device = str(a.device).removeprefix(CLAIMED).split(":")[0]
    if claimed_device == device.split(":")[0] and pd.notna(a.train_flops) and pd.notna(b.train_flops):
        if int(a.train_flops) != int(b.train_flops):
            out.append(f"train_flops claimed {int(a.train_flops):,}, rerun {int(b.train_flops):,}")
    return out


def compare_run(claim: pd.DataFrame, rerun: pd.DataFrame, claim_curves: pd.DataFrame,
                rerun_curves: pd.DataFrame) -> tuple[str, str, str]:
    """(status, detail, method) of one rerun against its claim.

    Uses the gate's public comparison (the claim as the reference, the rerun as the fresh result, the
    determinism tier off: another machine may round differently); an accuracy verdict other than
    ``ok`` or a convergence regression contradicts the claim. Where the gate has nothing to compare,
    a local rule decides (|difference| of the test metric within max(LOCAL_ABS_TOL, LOCAL_Z binomial
    standard errors)), and ``method`` says so.
    """
    from ..gate.compare import GateConfig, compare_frames

    try:
        report = compare_frames(claim, rerun, GateConfig(determinism="off"), ref_curves=claim_curves,
                                new_curves=rerun_curves)
    except FptError:
        report = None  # nothing the gate can compare (e.g. both scores missing): the local rule decides
    if report is not None and report.verdicts:
        v = report.verdicts[0]
        bad = v.accuracy != "ok" or v.speed == "regressed"
        detail = (f"claimed test {v.metric} {v.ref_mean:.4f}, rerun {v.new_mean:.4f} (difference {v.delta:+.4f}, "
                  f"tolerance {v.tol:.4f})" + (": " + "; ".join(v.reasons) if v.reasons else ""))
        return ("contradicted" if bad else "verified"), detail, "gate: benchmark.gate.compare.compare_frames"
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


def verify_submission(path: Path | str, dest: Path | str, sample: int = DEFAULT_SAMPLE, seed: int | None = None,
                      device: str = "cpu", scratch: Path | str | None = None) -> VerifyResult:
    """Rerun a sample of the submission at ``path`` (imported into ``dest``); record each run's verdict there.

    Refused unless this very bundle was imported into ``dest`` (its runs' records carry its checksum):
    a verdict recorded anywhere else would never reach the leaderboard, and a verdict on another
    bundle's numbers would vouch for rows it never saw."""
    from ..results import read_table

    sub = load(path)
    record = read_verification(dest, sub.name)
    runs_rec = dict(record.get("runs", {})) if isinstance(record.get("runs"), dict) else {}
    foreign = sorted(r for r in sub.runs if (runs_rec.get(r) or {}).get("bundle") != sub.manifest["checksum"])
    if foreign:
        raise FptError(f"submission '{sub.name}' ({path}) is not imported into {dest} ({len(foreign)} of its runs are "
                       "not there from this file); import it first with `fptbench leaderboard --add FILE`, or pass "
                       "the --submissions directory it was imported into")
    picked, seed = pick_sample(sub, sample, seed)
    result = VerifyResult(sub.name, "submitted", picked, seed=seed)
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
                claim = sub.runs[run_id].to_pandas()
                status, detail, method = compare_run(claim, rerun, sub.curves[run_id].to_pandas(),
                                                     rerun_curves[rerun_curves.run_id == run_id])
                problems = integrity_problems(claim, rerun, device)
                if problems:
                    status, detail = "contradicted", detail + "; " + "; ".join(problems)
            except FptError as exc:
                status, detail, method = "submitted", f"could not rerun here: {exc}", "none"
            methods.add(method)
            check = RunCheck(run_id, status, detail + source_note)
            result.checks.append(check)
            entry = runs_rec[run_id]
            checks = [c for c in entry.get("checks", []) if c.get("kind") != "rerun"]
            checks.append({"kind": "rerun", "status": status, "detail": check.detail})
            runs_rec[run_id] = {"status": run_status(checks), "checks": checks}
    result.method = "; ".join(sorted(methods)) + (f"; sample {len(picked)} of {len(sub.runs)} runs, seed {seed}"
                                                   if picked else "no importable adapter: nothing rerun")
    mine = {r: runs_rec[r] for r in sub.runs}
    result.status = submission_status(mine)
    result.sidecar = write_verification(dest, sub, mine, method=result.method)
    return result


__all__ = ["DEFAULT_SAMPLE", "RunCheck", "VerifyResult", "compare_run", "integrity_problems", "pick_sample",
           "verify_submission"]
