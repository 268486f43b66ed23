"""Verdicts on submitted runs: each run's own checks, kept in a sidecar the leaderboard reads.

A submission's checksums prove only that nobody edited the file after packing; its numbers are the
submitter's claim. Each run therefore carries its own verdict, never inherited from other runs:

- ``contradicted``: its numbers contradict its own curves, the parameter counts the harness rebuilds
  from the adapter, or a harness rerun of its configuration;
- ``verified``: a harness rerun of this very run agrees (``benchmark.submission.rerun``);
- ``submitted``: not rerun (shown as such: "submitted results, not rerun by the harness").

Compute numbers (peak memory, wall and training time, speed) depend on the submitter's machine and
are recorded as self-reported; FLOPs are checked when a rerun on the same kind of device recounts
them. The sidecar is ``<submissions dir>/verification/<name>.json``; runs from every bundle a
submitter sent keep their records (a later bundle never erases an earlier one's marks).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..atomic import atomic_path
from ..config import RunConfig
from ..errors import FptError
from .format import STATUSES, VERIFICATION_DIR, check_name
from .validate import Submission

TEST_VAL_Z = 5.0  # binomial standard errors a test score may exceed the best validation score by
TEST_VAL_FLOOR = 0.1  # and never less than this
SELF_REPORTED = ("peak_mem_mb", "train_time_s", "steps_per_s", "wall_time_s", "eval_time_s")


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
    from ..gate.compare import consistency, val_curves

    out = {k: list(v) for k, v in consistency(runs, val_curves(curves)).items()}
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


def run_status(checks: list[dict[str, Any]]) -> str:
    """A run's own verdict from its own checks: any contradiction wins; only a rerun verifies."""
    states = {c.get("status") for c in checks}
    if "contradicted" in states:
        return "contradicted"
    return "verified" if any(c.get("kind") == "rerun" and c.get("status") == "verified" for c in checks) else "submitted"


def first_row(sub: Submission, run_id: str) -> dict[str, Any]:
    return sub.runs[run_id].slice(0, 1).to_pylist()[0]


def param_checks(sub: Submission) -> dict[str, dict[str, Any]]:
    """run_id -> a check of its parameter counts against the model the harness builds from its adapter.

    Counts do not depend on the machine, so they are compared exactly. A run whose adapter or task
    is not installed here, or whose body comes from a harness pretraining run (building it would
    pretrain first), is marked ``unchecked`` with the reason.
    """
    import torch

    from ..model import MODELS, get_adapter
    from ..runner import adapter_for, backbone_arg
    from ..task import TASKS, get_task
    from ..trainer import count_params, seeded

    built: dict[str, tuple[int, int] | str] = {}
    out: dict[str, dict[str, Any]] = {}
    for run_id in sorted(sub.runs):
        row = first_row(sub, run_id)
        cfg = RunConfig.from_json(row["config"])
        claim = (int(row["n_params_total"]), int(row["n_params_trainable"]))
        key = json.dumps([cfg.task, cfg.model, cfg.backbone, cfg.model_options], sort_keys=True, default=str)
        if "harness run" in str(row.get("pretrained_on") or ""):
            built[key] = "its body comes from a harness pretraining run, which is not repeated at import"
        elif cfg.model not in MODELS or cfg.task not in TASKS:
            built[key] = f"model '{cfg.model}' or task '{cfg.task}' is not installed here"
        if key not in built:
            try:
                adapter = adapter_for(cfg, get_adapter(cfg.model, backbone_arg(cfg.backbone), **cfg.model_options))
                with seeded(cfg.seed, torch.device("cpu")):
                    built[key] = count_params(adapter.build(get_task(cfg.task).spec, cfg.seed))
            except Exception as exc:  # noqa: BLE001 - adapter code is a plugin's: any failure leaves the counts unchecked, said so
                built[key] = f"the adapter could not be built here ({type(exc).__name__}: {str(exc)[:160]})"
        here = built[key]
        if isinstance(here, str):
            out[run_id] = {"kind": "params", "status": "unchecked", "detail": f"parameter counts not rebuilt: {here}"}
        elif here != claim:
            out[run_id] = {"kind": "params", "status": "contradicted",
                           "detail": f"claims {claim[1]:,} trainable of {claim[0]:,} parameters; the adapter builds "
                                     f"{here[1]:,} of {here[0]:,}"}
        else:
            out[run_id] = {"kind": "params", "status": "consistent",
                           "detail": f"parameter counts rebuilt from the adapter: {here[1]:,} trainable of {here[0]:,}"}
    return out


def import_checks(sub: Submission) -> dict[str, list[dict[str, Any]]]:
    """run_id -> the checks made at import, without any rerun: curves, parameter counts, compute."""
    problems = consistency_problems(sub)
    params = param_checks(sub)
    out = {}
    for run_id in sorted(sub.runs):
        curves = ({"kind": "curves", "status": "contradicted", "detail": "; ".join(problems[run_id])} if run_id in problems
                  else {"kind": "curves", "status": "consistent",
                        "detail": "test and validation numbers agree with the run's own curves"})
        compute = {"kind": "compute", "status": "self-reported",
                   "detail": "FLOPs, peak memory and times are the submitter's measurements (FLOPs are recounted "
                             "only by a rerun on the same kind of device)"}
        out[run_id] = [curves, params[run_id], compute]
    return out


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
    """Contradicted if any run is; verified only if every run was rerun and agreed; else submitted."""
    states = [r.get("status") for r in runs.values()]
    if "contradicted" in states:
        return "contradicted"
    return "verified" if states and all(s == "verified" for s in states) else "submitted"


def write_verification(dest: Path | str, sub: Submission, runs: dict[str, dict[str, Any]],
                       method: str | None = None) -> Path:
    """Write the submitter's sidecar atomically: every run's record (earlier bundles' runs kept), this
    bundle's checksum beside each of its runs, the overall verdict and the note."""
    path = verification_path(dest, sub.name)
    old = read_verification(dest, sub.name)
    merged = dict(old.get("runs", {})) if isinstance(old.get("runs"), dict) else {}
    merged.update({k: {**v, "bundle": sub.manifest["checksum"]} for k, v in runs.items()})
    record = {
        "fptbench_verification": 2,
        "submission": sub.name,
        "source": f"submitted:{sub.name}",
        "checksum": sub.manifest["checksum"],
        "note": sub.manifest.get("note", ""),
        "status": submission_status(merged),
        "method": method or (old.get("method", "") if old.get("checksum") == sub.manifest["checksum"] else ""),
        "runs": {k: merged[k] for k in sorted(merged)},
    }
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def verification_status(dirs: list[Path | str] | tuple[Path | str, ...]) -> dict[str, str]:
    """Badges for the leaderboard: ``{run_id or "submitted:<name>": "submitted" | "verified" | "contradicted"}``.

    Reads every ``verification/*.json`` sidecar under ``dirs``. Each run shows its own verdict only:
    a run outside a rerun sample stays ``submitted`` however the sample went (a sample vouches for
    the runs it reran, not for their neighbours). Submitted runs with no record are simply absent:
    show them as ``submitted``.
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
            runs = {str(k): (r.get("status") if isinstance(r, dict) and r.get("status") in STATUSES else "submitted")
                    for k, r in rec["runs"].items()}
            out.update(runs)
            if isinstance(rec.get("source"), str):
                out[rec["source"]] = submission_status({k: {"status": v} for k, v in runs.items()})
    return out
