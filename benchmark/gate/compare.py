"""The gate's statistics: fresh results (treatment) against a reference (control), per (task, model, backbone).

Why these rules (docs/ci.md shows the calibration that backs them):

* **Tolerances come from the reference only.** A tolerance that pooled the candidate's spread would
  widen itself when a regression adds variance (one collapsed seed). The unpaired tolerance is
  ``max(floor, k x reference seed SD x sqrt(1/n_ref + 1/n_new))``; floors are per key, sized from
  measured machine-to-machine noise (``benchmark/gate/settings.py``, set in the profile module).
* **Paired where seeds match.** The seed fixes init and data order, so the difference of one seed's
  two runs carries only numerics noise (other CPU, threads, bf16 vs fp32), not seed noise: paired
  differences are judged against the measured floors alone, which is where the gate's power comes from.
* **Worst seed.** Besides the mean, the worst paired difference (or the worst seed against the
  reference's worst seed) must stay within ``floor_seed``: one collapsed seed fails the key.
* **Convergence on every seed.** Where every reference seed reaches the key's target inside the
  budget, every fresh seed must too, and the median steps-to-target may grow at most ``factor``.
  The recorded ``steps_to_threshold`` and validation score must agree with the recorded curve
  (a recording bug, e.g. the threshold step taken one evaluation late, fails here).
* **Different task fingerprints are not comparable** (``NotComparable``, exit 4).
* **Determinism tier.** Bit-identity holds on one machine: it is demanded only when the machine
  fingerprint (CPU model and kernel ISA flags, torch/transformers/numpy/tokenizers/safetensors,
  BLAS, threads, precision actually used) equals the reference's; elsewhere the statistical tier
  decides alone and the report says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Mapping

import numpy as np
import pandas as pd

from ..errors import FptError
from .exact import (EXIT_NOT_COMPARABLE, RUN_FINGERPRINT, Determinism, ExactCheck, NotComparable, check_fingerprints,  # noqa: F401
                    exact_check, machine_differences, runs_fingerprint)
from .settings import DEFAULT, KeyGate, gates_for, key_name

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_MISSING = 5  # --require-all: reference keys without fresh results (and no regression among the rest)

KEY = ("task", "model", "backbone")


@dataclass(frozen=True)
class GateConfig:
    """Gate parameters. Per-key floors and targets come from the reference's profile (``keys``).

    ``abs_tol`` / ``factor``, when given, override every key's ``floor_mean`` / ``factor`` (the
    seed floor scales with it: twice ``abs_tol``).
    """

    k: float = 2.0  # reference seed SDs allowed for an unpaired comparison
    abs_tol: float | None = None
    factor: float | None = None
    determinism: Determinism = "strict"
    require_all: bool = False
    keys: Mapping[str, KeyGate] | None = None  # None: the registered settings of the reference's profile

    def __post_init__(self) -> None:
        if self.k < 0 or (self.abs_tol is not None and self.abs_tol < 0):
            raise FptError(f"gate tolerances must be >= 0, got abs_tol={self.abs_tol}, k={self.k}")
        if self.factor is not None and self.factor < 1.0:
            raise FptError(f"--factor must be >= 1.0 (allowed slow-down of steps-to-threshold), got {self.factor}")
        if self.determinism not in ("strict", "report", "off"):
            raise FptError(f"--determinism must be strict, report or off, got {self.determinism!r}")

    def gate_for(self, key: tuple[str, str, str]) -> KeyGate:
        kg = (self.keys or {}).get(key_name(key), DEFAULT)
        if self.abs_tol is not None:
            kg = replace(kg, floor_mean=self.abs_tol, floor_seed=2 * self.abs_tol)
        if self.factor is not None:
            kg = replace(kg, factor=self.factor)
        return kg


@dataclass
class KeyVerdict:
    """Control/treatment/delta of one (task, model, backbone)."""

    task: str
    model: str
    backbone: str
    metric: str
    seeds: list[int]
    ref_values: list[float]
    new_values: list[float]
    ref_mean: float
    new_mean: float
    ref_sd: float
    new_sd: float
    paired: bool
    tol: float  # allowed drop of the mean
    tol_seed: float  # allowed drop of one seed (paired) or of the worst seed
    worst: float  # worst paired difference, or new worst seed minus reference worst seed
    ref_stt: float  # median steps-to-target; inf: some reference seed never reaches it
    new_stt: float
    target: str = ""  # what steps-to-target counts to (e.g. "val 0.9 (task threshold)")
    ref_diverged: int = 0
    new_diverged: int = 0
    accuracy: str = "ok"  # ok | regressed | improved
    speed: str = "ok"  # ok | regressed | improved | n/a
    reasons: list[str] = field(default_factory=list)
    mean_delta: float = math.nan  # paired mean difference, or difference of means

    @property
    def delta(self) -> float:
        return self.mean_delta if not math.isnan(self.mean_delta) else self.new_mean - self.ref_mean

    @property
    def stt_ratio(self) -> float:
        if math.isinf(self.ref_stt) or math.isnan(self.ref_stt) or self.ref_stt <= 0:
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
class GateReport:
    verdicts: list[KeyVerdict]
    exact: ExactCheck
    missing: list[tuple[str, str, str]]  # in the reference, absent from the fresh results
    unreferenced: list[tuple[str, str, str]]  # fresh results without a reference
    config: GateConfig
    inconsistent: list[str] = field(default_factory=list)  # recorded numbers that contradict the curves

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
        if bool(self.regressions) or self.exact.failed:
            return EXIT_REGRESSION
        return EXIT_MISSING if self.failed else EXIT_OK


# -- helpers ---------------------------------------------------------------------------------------
def _sd(values: np.ndarray) -> float:
    return float(np.std(values, ddof=1)) if len(values) >= 2 else 0.0


def median_steps(stt: pd.Series | list) -> float:
    """Median steps-to-threshold over seeds; a seed that never reached it counts as infinity."""
    values = np.array([math.inf if v is None or pd.isna(v) else float(v) for v in stt])
    return float(np.median(values)) if len(values) else math.nan


def per_run(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run: the task metric on the TEST split (NaN for diverged runs) and provenance."""
    if df.empty:
        return df.assign(primary=[])
    test = df[(df.split == "test") & (df.metric != "loss")]
    cols = ["run_id", "config_hash", "status", *KEY, "seed", "profile", "task_fingerprint", "metric", "value",
            "steps_to_threshold", "torch_version"]
    if "threshold" in df:
        cols.append("threshold")
    out = test[cols].copy()
    dup = out.groupby([*KEY, "seed"]).run_id.nunique()
    dup = dup[dup > 1]
    if len(dup):
        (task, model, backbone, seed), n = dup.index[0], int(dup.iloc[0])
        raise FptError(f"{n} different runs of ({task}, {model}, {backbone}, seed {seed}) in one results set "
                       "(a budget or option changed between sweeps); point --results at a fresh directory")
    return out


def val_curves(curves: pd.DataFrame | None) -> dict[str, list[tuple[int, float]]]:
    """run_id -> [(step, validation metric)] in step order, from a ``curves`` table."""
    if curves is None or curves.empty:
        return {}
    c = curves[(curves.split == "val") & (curves.metric != "loss")].sort_values(["run_id", "step"])
    return {rid: list(zip(g.step.astype(int), g.value.astype(float))) for rid, g in c.groupby("run_id")}


def first_crossing(curve: list[tuple[int, float]], level: float) -> float:
    """First evaluated step whose validation metric reaches ``level``; inf if none does."""
    return next((float(step) for step, value in curve if value >= level), math.inf)


def consistency(runs: pd.DataFrame, curves: dict[str, list[tuple[int, float]]]) -> dict[str, list[str]]:
    """run_id -> contradictions between a run's recorded numbers and its own validation curve.

    The recorded steps_to_threshold must be the first evaluation at or above the task threshold,
    and the recorded validation score the best point of the curve (the selected weights).
    """
    out: dict[str, list[str]] = {}
    if not curves:
        return out
    first = runs.drop_duplicates("run_id").set_index("run_id")
    val = runs[(runs.split == "val") & (runs.metric != "loss")].drop_duplicates("run_id").set_index("run_id").value
    for rid, row in first.iterrows():
        curve = curves.get(rid)
        if not curve or row.status != "finished" or "threshold" not in row or pd.isna(row.threshold):
            continue
        issues = []
        want = first_crossing(curve, float(row.threshold))
        got = math.inf if pd.isna(row.steps_to_threshold) else float(row.steps_to_threshold)
        if want != got:
            issues.append(f"recorded steps_to_threshold {_fmt(got)} but its curve first reaches "
                          f"{float(row.threshold):g} at step {_fmt(want)}")
        best = max(v for _, v in curve)
        if rid in val.index and not math.isclose(float(val[rid]), best, rel_tol=1e-9, abs_tol=1e-12):
            issues.append(f"recorded val score {float(val[rid]):.6f} is not the curve's best {best:.6f}")
        if issues:
            out[rid] = issues
    return out


def _fmt(x: float) -> str:
    return "never" if math.isinf(x) else f"{x:.0f}"


def _stt_values(rows: pd.DataFrame, curves: dict[str, list[tuple[int, float]]], target: float | None) -> list[float]:
    if target is None:
        return [math.inf if pd.isna(v) else float(v) for v in rows.steps_to_threshold]
    return [first_crossing(curves.get(rid, []), target) if rid in curves else math.nan for rid in rows.run_id]


def _finished(rows: pd.DataFrame) -> pd.Series:
    """Runs that finished with a score (a diverged run counts as failed even if it kept a best-val score)."""
    ok = rows.value.notna()
    return ok & (rows.status != "diverged") if "status" in rows else ok


def verdict_for(key: tuple[str, str, str], ref: pd.DataFrame, new: pd.DataFrame, cfg: GateConfig,
                ref_curves: dict | None = None, new_curves: dict | None = None) -> KeyVerdict:
    kg = cfg.gate_for(key)
    ref, new = ref.sort_values("seed"), new.sort_values("seed")
    ref_ok, new_ok = ref[_finished(ref)], new[_finished(new)]
    r, n = ref_ok.value.to_numpy(float), new_ok.value.to_numpy(float)
    ref_by_seed = dict(zip(ref_ok.seed.astype(int), r))
    paired = len(n) > 0 and set(new_ok.seed.astype(int)) <= set(ref_by_seed)
    ref_sd = _sd(r)
    if paired:
        diffs = np.array([v - ref_by_seed[int(s)] for s, v in zip(new_ok.seed, n)])
        mean_delta, worst, best = float(diffs.mean()), float(diffs.min()), float(diffs.max())
        tol, tol_seed = kg.floor_mean, kg.floor_seed
    else:
        mean_delta = float(n.mean() - r.mean()) if len(n) and len(r) else math.nan
        worst = float(n.min() - r.min()) if len(n) and len(r) else math.nan
        best = float(n.max() - r.max()) if len(n) and len(r) else math.nan
        spread = cfg.k * ref_sd * math.sqrt(1 / max(len(r), 1) + 1 / max(len(n), 1))
        tol, tol_seed = max(kg.floor_mean, spread), max(kg.floor_seed, cfg.k * ref_sd)
    use_target = kg.target is not None and ref_curves is not None and new_curves is not None
    target = kg.target if use_target else None
    thr = f"{float(ref.threshold.iloc[0]):g}" if "threshold" in ref and len(ref) else "?"
    ref_stt, new_stt = _stt_values(ref, ref_curves or {}, target), _stt_values(new, new_curves or {}, target)
    v = KeyVerdict(
        task=key[0], model=key[1], backbone=key[2], metric=str(ref.metric.iloc[0]),
        seeds=[int(s) for s in new.seed], ref_values=[float(x) for x in ref.value], new_values=[float(x) for x in new.value],
        ref_mean=float(r.mean()) if len(r) else math.nan, new_mean=float(n.mean()) if len(n) else math.nan,
        ref_sd=ref_sd, new_sd=_sd(n), paired=paired, tol=tol, tol_seed=tol_seed, worst=worst,
        ref_stt=median_steps(ref_stt), new_stt=median_steps(new_stt),
        target=f"val {target:g} (ci target)" if target is not None else f"val {thr} (task threshold)",
        ref_diverged=int((~_finished(ref)).sum()), new_diverged=int((~_finished(new)).sum()), mean_delta=mean_delta,
    )
    # accuracy (test split)
    if v.new_diverged > v.ref_diverged:
        v.accuracy = "regressed"
        v.reasons.append(f"{v.new_diverged} of {len(new)} runs diverged (reference: {v.ref_diverged})")
    if len(n) and len(r):
        how = "paired mean difference" if paired else "difference of means"
        if mean_delta < -tol:
            v.accuracy = "regressed"
            v.reasons.append(f"test {v.metric} {how} {mean_delta:+.4f} below -{tol:.4f}")
        if worst < -tol_seed:
            v.accuracy = "regressed"
            which = "worst paired seed" if paired else "worst seed vs reference worst seed"
            v.reasons.append(f"{which} {worst:+.4f} below -{tol_seed:.4f} (one seed collapsed)")
        if kg.two_sided and (mean_delta > tol or best > tol_seed):
            v.accuracy = "regressed"
            v.reasons.append(f"control key moved up: test {v.metric} {how} {mean_delta:+.4f}, best seed {best:+.4f} "
                             f"(tolerance {tol:.4f} / {tol_seed:.4f}; a control must not rise)")
        if v.accuracy == "ok" and mean_delta > tol:
            v.accuracy = "improved"
    elif len(r) and not len(n):
        v.accuracy = "regressed"
        v.reasons.append("no run finished")
    # convergence: gated where every reference seed reaches the target inside the budget
    if not ref_stt or any(math.isinf(x) or math.isnan(x) for x in ref_stt):
        v.speed = "n/a"
    else:
        never = [int(s) for s, x in zip(new.seed, new_stt) if math.isinf(x) or math.isnan(x)]
        if never:
            v.speed = "regressed"
            v.reasons.append(f"seed(s) {never} never reach {v.target} (every reference seed does, median "
                             f"{v.ref_stt:.0f} steps)")
        elif v.new_stt > kg.factor * v.ref_stt:
            v.speed = "regressed"
            v.reasons.append(f"median steps to {v.target} {v.new_stt:.0f} > {kg.factor:g} x reference {v.ref_stt:.0f}")
        elif v.new_stt * kg.factor < v.ref_stt:
            v.speed = "improved"
    return v


def compare_frames(ref_runs: pd.DataFrame, new_runs: pd.DataFrame, cfg: GateConfig | None = None, *,
                   ref_curves: pd.DataFrame | None = None, new_curves: pd.DataFrame | None = None,
                   ref_fingerprint: dict | None = None, new_fingerprint: dict | None = None) -> GateReport:
    """Compare two ``runs`` tables (as ``benchmark.results.read_table`` returns them).

    ``*_curves`` (the ``curves`` tables) enable the per-key convergence targets and the
    curve-consistency check; ``*_fingerprint`` (``gate.fingerprint``) decide the determinism tier.
    Raises ``NotComparable`` on a task fingerprint mismatch and ``FptError`` when nothing overlaps.
    """
    cfg = cfg or GateConfig()
    if ref_runs.empty:
        raise FptError("the reference holds no runs; create it with `fptbench reference update`")
    profiles = sorted(set(ref_runs.profile))
    if cfg.keys is None:
        keys: dict[str, KeyGate] = {}
        for p in profiles:
            keys.update(gates_for(p))
        cfg = replace(cfg, keys=keys)
    new_runs = new_runs[new_runs.profile.isin(profiles)] if not new_runs.empty else new_runs
    if new_runs.empty:
        raise FptError(f"no results of profile {'/'.join(profiles)} to check; run "
                       f"`fptbench sweep --profile {profiles[0]} --results DIR` and pass --results DIR")
    ref, new = per_run(ref_runs), per_run(new_runs)
    check_fingerprints(ref, new)
    ref_keys = {tuple(k) for k in ref[list(KEY)].drop_duplicates().itertuples(index=False)}
    new_keys = {tuple(k) for k in new[list(KEY)].drop_duplicates().itertuples(index=False)}
    common = sorted(ref_keys & new_keys)
    if not common:
        raise FptError("no (task, model, backbone) in the results matches the reference; "
                       f"reference has {sorted(ref_keys)}")
    rc, nc = val_curves(ref_curves), val_curves(new_curves)
    have_curves = ref_curves is not None and new_curves is not None
    bad = consistency(new_runs, nc)
    verdicts = []
    for key in common:
        sel_ref = ref[(ref.task == key[0]) & (ref.model == key[1]) & (ref.backbone == key[2])]
        sel_new = new[(new.task == key[0]) & (new.model == key[1]) & (new.backbone == key[2])]
        v = verdict_for(key, sel_ref, sel_new, cfg, rc if have_curves else None, nc if have_curves else None)
        issues = [f"{rid}: {msg}" for rid in sel_new.run_id for msg in bad.get(rid, [])]
        if issues:
            v.speed = "regressed"
            v.reasons.append("recorded numbers contradict the curve: " + "; ".join(issues))
        verdicts.append(v)
    in_common = new_runs[new_runs[list(KEY)].apply(tuple, axis=1).isin(common)]
    return GateReport(verdicts=verdicts, exact=exact_check(ref_runs, in_common, cfg.determinism, ref_fingerprint,
                                                           new_fingerprint),
                      missing=sorted(ref_keys - new_keys), unreferenced=sorted(new_keys - ref_keys), config=cfg,
                      inconsistent=[f"{rid}: {m}" for rid, ms in bad.items() for m in ms])
