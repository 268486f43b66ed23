"""The gate's statistics: fresh results (treatment) against a reference (control), per (task, model, backbone).

Why these rules:

* **Accuracy is directional and seed-aware.** Seeds differ; a gate that fails on every wobble
  gets switched off. A key fails only when the new mean of the task metric (test split) falls
  below the reference mean by more than ``max(abs_tol, k * pooled seed SD)``; rising is reported
  as an improvement, never as a failure.
* **Convergence speed is a ratio of medians.** Steps-to-threshold is coarse (it moves in units
  of ``eval_every``) and a seed that never reaches the threshold counts as infinitely slow, so the
  median over seeds is robust to one bad seed yet still catches "no longer reaches the threshold".
* **Different task fingerprints are not comparable.** A changed task definition makes every
  number incomparable; the gate refuses (``NotComparable``, exit 4) instead of guessing.
* **Determinism tier.** With the same torch version and the same run configuration the harness
  is bit-reproducible on one machine, so equal configs must give equal numbers; this catches a
  numerics change far smaller than any statistical test could. Other machines or versions fall
  back to the statistics alone (``determinism="report"`` / ``"off"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import FptError

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_NOT_COMPARABLE = 4  # 2 is a usage/input error (FptError), 3 a task whose data is missing (NeedsData)

KEY = ("task", "model", "backbone")
Determinism = Literal["strict", "report", "off"]


class NotComparable(FptError):
    """Fresh results and the reference were produced by different task definitions."""

    exit_code = EXIT_NOT_COMPARABLE


@dataclass(frozen=True)
class GateConfig:
    """Tolerances of the gate. Defaults suit 3+ seeds of the ``ci`` profile."""

    abs_tol: float = 0.02  # accuracy points (0..1) a mean may drop without failing, at least
    k: float = 2.0  # ... or k pooled seed standard deviations, whichever is larger
    factor: float = 1.25  # allowed growth of the median steps-to-threshold
    determinism: Determinism = "strict"  # strict: same torch + same config must be bit-identical
    require_all: bool = False  # fail when a reference key has no fresh results

    def __post_init__(self) -> None:
        if self.abs_tol < 0 or self.k < 0:
            raise FptError(f"gate tolerances must be >= 0, got abs_tol={self.abs_tol}, k={self.k}")
        if self.factor < 1.0:
            raise FptError(f"--factor must be >= 1.0 (allowed slow-down of steps-to-threshold), got {self.factor}")
        if self.determinism not in ("strict", "report", "off"):
            raise FptError(f"--determinism must be strict, report or off, got {self.determinism!r}")


@dataclass
class KeyVerdict:
    """Control/treatment/delta of one (task, model, backbone)."""

    task: str
    model: str
    backbone: str
    metric: str
    ref_values: list[float]
    new_values: list[float]
    ref_mean: float
    new_mean: float
    ref_sd: float
    new_sd: float
    tol: float
    ref_stt: float  # median steps-to-threshold; inf: not reached by the median seed
    new_stt: float
    ref_diverged: int = 0
    new_diverged: int = 0
    accuracy: str = "ok"  # ok | regressed | improved
    speed: str = "ok"  # ok | regressed | improved | n/a
    reasons: list[str] = field(default_factory=list)

    @property
    def delta(self) -> float:
        return self.new_mean - self.ref_mean

    @property
    def stt_ratio(self) -> float:
        if math.isinf(self.ref_stt) or self.ref_stt <= 0:
            return math.nan
        return self.new_stt / self.ref_stt

    @property
    def regressed(self) -> bool:
        return "regressed" in (self.accuracy, self.speed)

    @property
    def improved(self) -> bool:
        return not self.regressed and "improved" in (self.accuracy, self.speed)

    @property
    def label(self) -> str:
        if self.regressed:
            parts = [n for n, s in (("accuracy", self.accuracy), ("speed", self.speed)) if s == "regressed"]
            return "REGRESSED " + "+".join(parts)
        if self.improved:
            parts = [n for n, s in (("accuracy", self.accuracy), ("speed", self.speed)) if s == "improved"]
            return "improved " + "+".join(parts)
        return "ok"


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

    @property
    def failed(self) -> bool:
        return self.applied and self.mode == "strict" and bool(self.mismatches)


@dataclass
class GateReport:
    verdicts: list[KeyVerdict]
    exact: ExactCheck
    missing: list[tuple[str, str, str]]  # in the reference, absent from the fresh results
    unreferenced: list[tuple[str, str, str]]  # fresh results without a reference
    config: GateConfig

    @property
    def regressions(self) -> list[KeyVerdict]:
        return [v for v in self.verdicts if v.regressed]

    @property
    def improvements(self) -> list[KeyVerdict]:
        return [v for v in self.verdicts if v.improved]

    @property
    def failed(self) -> bool:
        return bool(self.regressions) or self.exact.failed or (self.config.require_all and bool(self.missing))

    @property
    def exit_code(self) -> int:
        return EXIT_REGRESSION if self.failed else EXIT_OK


# -- helpers ---------------------------------------------------------------------------------------
def _sd(values: np.ndarray) -> float:
    return float(np.std(values, ddof=1)) if len(values) >= 2 else 0.0


def pooled_sd(a: np.ndarray, b: np.ndarray) -> float:
    """Pooled seed standard deviation of two groups (0 when neither has two values)."""
    dof = (len(a) - 1 if len(a) else 0) + (len(b) - 1 if len(b) else 0)
    if dof <= 0:
        return 0.0
    ss = (len(a) - 1) * _sd(a) ** 2 if len(a) >= 2 else 0.0
    ss += (len(b) - 1) * _sd(b) ** 2 if len(b) >= 2 else 0.0
    return math.sqrt(ss / dof)


def median_steps(stt: pd.Series) -> float:
    """Median steps-to-threshold over seeds; a seed that never reached it counts as infinity."""
    values = np.array([math.inf if pd.isna(v) else float(v) for v in stt])
    return float(np.median(values)) if len(values) else math.nan


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run: the task metric on the test split (NaN for diverged runs) and provenance."""
    if df.empty:
        return df.assign(primary=[])
    test = df[(df.split == "test") & (df.metric != "loss")]
    cols = ["run_id", "config_hash", "status", *KEY, "seed", "profile", "task_fingerprint", "metric", "value",
            "steps_to_threshold", "torch_version"]
    out = test[cols].copy()
    dup = out.groupby([*KEY, "seed"]).run_id.nunique()
    dup = dup[dup > 1]
    if len(dup):
        (task, model, backbone, seed), n = dup.index[0], int(dup.iloc[0])
        raise FptError(f"{n} different runs of ({task}, {model}, {backbone}, seed {seed}) in one results set "
                       "(a budget or option changed between sweeps); point --results at a fresh directory")
    return out


def check_fingerprints(ref: pd.DataFrame, new: pd.DataFrame) -> None:
    """Refuse to compare a task whose fingerprint differs: its numbers measure something else."""
    for task in sorted(set(ref.task) & set(new.task)):
        ref_fp = sorted(set(ref[ref.task == task].task_fingerprint))
        new_fp = sorted(set(new[new.task == task].task_fingerprint))
        if ref_fp != new_fp:
            raise NotComparable(
                f"task '{task}' has fingerprint {','.join(new_fp)} in the results but {','.join(ref_fp)} in the "
                "reference: its definition or data changed, so the numbers are not comparable; if the change is "
                "intended, regenerate the reference with `fptbench baseline update`")


def exact_check(ref: pd.DataFrame, new: pd.DataFrame, mode: Determinism) -> ExactCheck:
    """Same torch version + same config hash => the same numbers, to the last bit.

    Takes full runs tables: every recorded number (validation and test metric *and loss*, and
    steps-to-threshold) must match, so a change too small to move accuracy is still seen.
    """
    torch_ref = ",".join(sorted(set(ref.torch_version)))
    torch_new = ",".join(sorted(set(new.torch_version)))
    if mode == "off":
        return ExactCheck(mode, False, "disabled (--determinism off)", torch_ref, torch_new)
    if torch_ref != torch_new:
        return ExactCheck(mode, False, f"torch {torch_new} != reference torch {torch_ref}: statistical gate only",
                          torch_ref, torch_new)
    cols = ["config_hash", "run_id", "split", "metric", "value", "steps_to_threshold"]
    merged = ref[cols].merge(new[cols], on=["config_hash", "split", "metric"], suffixes=("_ref", "_new"))
    if merged.empty:
        return ExactCheck(mode, False, "no run configuration in common with the reference (other budgets or seeds): "
                          "statistical gate only", torch_ref, torch_new)
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
    return ExactCheck(mode, True, f"same torch {torch_ref}", torch_ref, torch_new, runs=n,
                      identical=n - len(mismatches), mismatches=mismatches)


def verdict_for(key: tuple[str, str, str], ref: pd.DataFrame, new: pd.DataFrame, cfg: GateConfig) -> KeyVerdict:
    ref_ok = ref.value.dropna().to_numpy(dtype=float)
    new_ok = new.value.dropna().to_numpy(dtype=float)
    v = KeyVerdict(
        task=key[0], model=key[1], backbone=key[2], metric=str(ref.metric.iloc[0]),
        ref_values=[float(x) for x in ref.value], new_values=[float(x) for x in new.value],
        ref_mean=float(ref_ok.mean()) if len(ref_ok) else math.nan,
        new_mean=float(new_ok.mean()) if len(new_ok) else math.nan,
        ref_sd=_sd(ref_ok), new_sd=_sd(new_ok),
        tol=max(cfg.abs_tol, cfg.k * pooled_sd(ref_ok, new_ok)),
        ref_stt=median_steps(ref.steps_to_threshold), new_stt=median_steps(new.steps_to_threshold),
        ref_diverged=int(ref.value.isna().sum()), new_diverged=int(new.value.isna().sum()),
    )
    # accuracy
    if v.new_diverged > v.ref_diverged:
        v.accuracy = "regressed"
        v.reasons.append(f"{v.new_diverged} of {len(new)} runs diverged (reference: {v.ref_diverged})")
    if len(new_ok) and len(ref_ok):
        if v.delta < -v.tol:
            v.accuracy = "regressed"
            v.reasons.append(f"{v.metric} mean {v.new_mean:.4f} < reference {v.ref_mean:.4f} - tolerance {v.tol:.4f}")
        elif v.delta > v.tol and v.accuracy != "regressed":
            v.accuracy = "improved"
    elif len(ref_ok) and not len(new_ok):
        v.accuracy = "regressed"
        v.reasons.append("no run finished")
    # convergence speed
    if math.isinf(v.ref_stt) or math.isnan(v.ref_stt):
        v.speed = "n/a"  # the reference itself does not converge within the budget: accuracy gate only
    elif math.isinf(v.new_stt):
        v.speed = "regressed"
        v.reasons.append(f"threshold {ref_threshold(ref)} no longer reached by the median seed "
                         f"(reference median {v.ref_stt:.0f} steps)")
    elif v.new_stt > cfg.factor * v.ref_stt:
        v.speed = "regressed"
        v.reasons.append(f"median steps-to-threshold {v.new_stt:.0f} > {cfg.factor} x reference {v.ref_stt:.0f}")
    elif v.new_stt * cfg.factor < v.ref_stt:
        v.speed = "improved"
    return v


def ref_threshold(ref: pd.DataFrame) -> str:
    return "reached" if "threshold" not in ref else f"{float(ref.threshold.iloc[0]):g}"


def compare_frames(ref_runs: pd.DataFrame, new_runs: pd.DataFrame, cfg: GateConfig | None = None) -> GateReport:
    """Compare two ``runs`` tables (as ``benchmark.results.read_table`` returns them).

    Raises ``NotComparable`` on a task fingerprint mismatch and ``FptError`` when nothing overlaps.
    """
    cfg = cfg or GateConfig()
    if ref_runs.empty:
        raise FptError("the reference holds no runs; create it with `fptbench baseline update`")
    profiles = sorted(set(ref_runs.profile))
    new_runs = new_runs[new_runs.profile.isin(profiles)] if not new_runs.empty else new_runs
    if new_runs.empty:
        raise FptError(f"no results of profile {'/'.join(profiles)} to check; run "
                       f"`fptbench sweep --profile {profiles[0]} --results DIR` and pass --results DIR")
    ref, new = per_run(ref_runs), per_run(new_runs)
    if "threshold" in ref_runs:
        thresholds = ref_runs.drop_duplicates("run_id").set_index("run_id").threshold
        ref = ref.assign(threshold=ref.run_id.map(thresholds))
    check_fingerprints(ref, new)
    ref_keys = {tuple(k) for k in ref[list(KEY)].drop_duplicates().itertuples(index=False)}
    new_keys = {tuple(k) for k in new[list(KEY)].drop_duplicates().itertuples(index=False)}
    common = sorted(ref_keys & new_keys)
    if not common:
        raise FptError("no (task, model, backbone) in the results matches the reference; "
                       f"reference has {sorted(ref_keys)}")
    verdicts = []
    for key in common:
        sel_ref = ref[(ref.task == key[0]) & (ref.model == key[1]) & (ref.backbone == key[2])]
        sel_new = new[(new.task == key[0]) & (new.model == key[1]) & (new.backbone == key[2])]
        verdicts.append(verdict_for(key, sel_ref, sel_new, cfg))
    in_common = new_runs[new_runs[list(KEY)].apply(tuple, axis=1).isin(common)]
    return GateReport(verdicts=verdicts, exact=exact_check(ref_runs, in_common, cfg.determinism),
                      missing=sorted(ref_keys - new_keys), unreferenced=sorted(new_keys - ref_keys), config=cfg)
