"""The gate's determinism tier: bit-identity where the machine fingerprint matches the reference's.

Bit-identical floats hold only on one machine kind (CPU model and ISA flags, library versions, BLAS,
threads, the precision actually used), so the exact comparison is demanded only where the fingerprint
equals the reference's; elsewhere the statistical tier (benchmark/gate/compare.py) decides alone and the
report says why. Different task fingerprints are never comparable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from ..errors import FptError

EXIT_NOT_COMPARABLE = 4  # 2 is a usage/input error (FptError), 3 a task whose data is missing (NeedsData)
Determinism = Literal["strict", "report", "off"]
# Fields of a runs table that are part of the machine fingerprint (used when no fingerprint file exists).
RUN_FINGERPRINT = {"torch_version": "torch", "transformers_version": "transformers", "precision": "precision",
                   "threads": "threads"}


class NotComparable(FptError):
    """Fresh results and the reference were produced by different task definitions."""

    exit_code = EXIT_NOT_COMPARABLE


@dataclass
class ExactCheck:
    """The determinism tier: runs with equal config hashes compared number for number."""

    mode: Determinism
    applied: bool
    reason: str
    torch_ref: str = ""
    torch_new: str = ""
    runs: int = 0
    identical: int = 0
    mismatches: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)  # machine fingerprint fields that differ

    @property
    def failed(self) -> bool:
        return self.applied and self.mode == "strict" and bool(self.mismatches)

    @property
    def tier(self) -> str:
        if self.applied and self.mode == "strict":
            return "strict (bit-identity) + statistical"
        if self.applied:
            return "statistical (bit-identity reported only)"
        return "statistical only"


def check_fingerprints(ref: pd.DataFrame, new: pd.DataFrame) -> None:
    """Refuse to compare a task whose fingerprint differs: its numbers measure something else."""
    for task in sorted(set(ref.task) & set(new.task)):
        ref_fp = sorted(set(ref[ref.task == task].task_fingerprint))
        new_fp = sorted(set(new[new.task == task].task_fingerprint))
        if ref_fp != new_fp:
            raise NotComparable(
                f"task '{task}' has fingerprint {','.join(new_fp)} in the results but {','.join(ref_fp)} in the "
                "reference: its definition or data changed, so the numbers are not comparable; if the change is "
                "intended, regenerate the reference with `fptbench reference update`")


def runs_fingerprint(runs: pd.DataFrame) -> dict[str, Any]:
    """The machine-fingerprint fields a runs table itself records (versions, precision, threads)."""
    out: dict[str, Any] = {}
    for col, name in RUN_FINGERPRINT.items():
        if col in runs:
            vals = sorted({str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
                           for v in runs[col] if v is not None and not (isinstance(v, float) and math.isnan(v))})
            if vals:
                out[name] = ",".join(vals)
    return out


def machine_differences(ref_runs: pd.DataFrame, new_runs: pd.DataFrame, ref_fp: dict | None,
                        new_fp: dict | None) -> list[str]:
    """Why bit-identity cannot be expected (empty: the machines match).

    The runs' own records (torch, transformers, precision actually used, threads) always count and
    override the fingerprints' precision and threads (a sweep may run under another OMP_NUM_THREADS
    than the check); the fingerprint files add CPU model, ISA flags, BLAS and the other versions.
    """
    from .fingerprint import differences

    a, b = runs_fingerprint(ref_runs), runs_fingerprint(new_runs)
    out = [f"{name} {a[name]} -> {b[name]} (recorded in the runs)" for name in sorted(set(a) & set(b))
           if a[name] != b[name]]
    if ref_fp is None and new_fp is None:
        return out
    recorded = {"precision", "threads"}

    def full(fp: dict | None, rec: dict) -> dict | None:
        if fp is None:
            return None
        merged = {k: (str(v) if k in recorded else v) for k, v in fp.items()}
        merged.update({k: rec[k] for k in recorded if k in rec})
        return merged

    named = {d.split(" ")[0] for d in out}
    return out + [d for d in differences(full(ref_fp, a), full(new_fp, b) or {}) if d.split(" ")[0].rstrip(":") not in named]


def exact_check(ref: pd.DataFrame, new: pd.DataFrame, mode: Determinism, ref_fp: dict | None = None,
                new_fp: dict | None = None) -> ExactCheck:
    """Same machine fingerprint + same config hash => the same numbers, to the last bit.

    Takes full runs tables: every recorded number (validation and test metric *and loss*, and
    steps-to-threshold) must match, so a change too small to move accuracy is still seen.
    """
    torch_ref = ",".join(sorted(set(ref.torch_version.astype(str))))
    torch_new = ",".join(sorted(set(new.torch_version.astype(str))))
    if mode == "off":
        return ExactCheck(mode, False, "disabled (--determinism off)", torch_ref, torch_new)
    # What each run recorded (versions, precision actually used, threads) counts run by run: a pair of
    # runs computed in different precisions is left out of the bit-identity comparison.
    same = set(ref.config_hash) & set(new.config_hash)
    agree = {h for h in same if runs_fingerprint(ref[ref.config_hash == h]) == runs_fingerprint(new[new.config_hash == h])}
    pick = agree or same
    diffs = machine_differences(ref[ref.config_hash.isin(pick)] if pick else ref,
                                new[new.config_hash.isin(pick)] if pick else new, ref_fp, new_fp)
    if agree:
        ref, new = ref[ref.config_hash.isin(agree)], new[new.config_hash.isin(agree)]
    if diffs:
        return ExactCheck(mode, False, "this machine differs from the reference's (" + "; ".join(diffs)
                          + "): bit-identity cannot hold, the statistical tier decides alone", torch_ref, torch_new,
                          differences=diffs)
    cols = ["config_hash", "run_id", "split", "metric", "value", "steps_to_threshold"]
    merged = ref[cols].merge(new[cols], on=["config_hash", "split", "metric"], suffixes=("_ref", "_new"))
    if merged.empty:
        return ExactCheck(mode, False, "no run configuration in common with the reference (other budgets or seeds): "
                          "statistical tier alone", torch_ref, torch_new)
    mismatches = []
    for config_hash, rows in merged.groupby("config_hash", sort=True):
        diffs = []
        for r in rows.itertuples():
            if not ((r.value_ref == r.value_new) or (pd.isna(r.value_ref) and pd.isna(r.value_new))):
                diffs.append(f"{r.split} {r.metric} {r.value_ref!r} -> {r.value_new!r}")
        a, b = rows.steps_to_threshold_ref.iloc[0], rows.steps_to_threshold_new.iloc[0]
        if not ((a == b) or (pd.isna(a) and pd.isna(b))):
            diffs.append(f"steps-to-threshold {a} -> {b}")
        if diffs:
            mismatches.append(f"{rows.run_id_new.iloc[0]}: " + ", ".join(diffs))
    n = merged.config_hash.nunique()
    why = "machine fingerprint matches the reference's" if (ref_fp and new_fp) else \
        f"same torch {torch_ref}, precision and threads as recorded in the runs (no fingerprint file given)"
    if len(agree) < len(same):
        why += (f"; {len(same) - len(agree)} run(s) in common computed in another precision or thread count "
                "are left to the statistical tier")
    return ExactCheck(mode, True, why, torch_ref, torch_new, runs=n, identical=n - len(mismatches),
                      mismatches=mismatches)
