"""The run view: the results store read once, one row per run, for every reader of results.

Why it exists: the report's tables and figures, the claims, the coverage page, learning-rate
selection and the leaderboard all need the same per-run facts (identity, parsed config, options,
learning rate, budget changes against the profile, the main validation and test metric, cost). Each
used to build its own per-run table with its own de-duplication and its own budget derivation, and
they disagreed. This module is the one builder; readers filter its rows, they never re-parse Parquet
rows or config JSON.

Use::

    from benchmark.runview import read_runs, view_of
    view = read_runs(["results/cpu"])             # RunView: .runs (one row per run), .rows (Parquet rows)
    view = view_of(runs_table, submitted="replaced")  # from a frame already read (tests, selection)
    view.runs[view.runs.status == "finished"]
    view.rows_of(run_id, source)                  # the (split, metric) rows of one run, for metric extractors

De-duplication (one policy): the same run (run id, source) found in several results directories counts
once, the first directory given wins, row by row (``read_table`` concatenates in the order given).

Submitted runs (``source = "submitted:<name>"``, imported by ``fptbench submit import``): an explicit
switch, because readers differ on purpose:

- ``"apart"`` (report, claims, coverage): a submitted copy and the harness's run of the same run id are
  two runs; a reader keeps them in separate rows by ``source``;
- ``"replaced"`` (leaderboard): a submitted run is dropped as soon as the harness has the same run id
  (same config hash): the harness rerun replaces the claim;
- ``"excluded"``: the harness's own runs only.

Columns of ``RunView.runs`` (one row per (run_id, source), sorted by run_id then source):

===================  =========================================================================
run_id, source       identity; ``source`` is "harness" or "submitted:<name>" (never null)
submitted            bool: source is not the harness
status               finished | diverged
task, task_version,  as recorded
task_fingerprint
model, model_family, ``backbone`` is "none" for backbone-free models
backbone, pretrained_on, stand_in_for
seed, profile,       ``schema_version`` of the runs file (1: before the compute columns)
config_hash,
schema_version
config               the parsed ``RunConfig`` (None when its JSON does not parse here, e.g. a
                     submitter's budget field this checkout does not know)
options              the model options (dict); ``options_key`` their canonical JSON ("{}" none)
preset               the ``preset`` option ("" none); ``other_options`` canonical JSON of the rest
lr                   the run's learning rate (NaN when not recorded)
budget               the resolved budget (dict; defaults filled for fields older configs lack)
budget_key           canonical JSON of ``budget`` without lr: runs that differ only in lr share it
budget_steps,        steps per run, eval cadence, training-split fraction (1.0 = the whole split)
eval_every, train_fraction
budget_changes       fields that differ from ``expected_budget`` (dict, lr included), or
                     ``{"profile"|"model": "not registered here (budget unchecked)"}``
metric               the task's main metric (the one that is not "loss"); "" when none recorded
val, test            the main metric on validation (the best-validation checkpoint) and test, as
                     stored (fractions, possibly non-finite); NaN when the split has no main-metric row
has_test             the run recorded a main-metric test row at all
steps_to_threshold   validation steps to the task's threshold (float, NaN: never reached);
threshold, steps_trained, selected_step
precision            what the run computed in ("" when not recorded)
train_flops, train_time_s, wall_time_s, eval_time_s, threads, peak_mem_mb, steps_per_s,
n_params_total, n_params_trainable,         cost (NaN where the runs file predates the column)
precision_ratio      measured fp32/bf16 matmul time ratio behind ``precision=auto`` (schema v3)
device, git_commit, git_dirty, package_version, torch_version, transformers_version   provenance
===================  =========================================================================
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from .config import RunConfig
from .errors import FptError
from .hashing import canonical_json
from .profiles import Budget, expected_budget

HARNESS = "harness"
SUBMITTED_PREFIX = "submitted:"
APART, REPLACED, EXCLUDED = "apart", "replaced", "excluded"
SUBMITTED_POLICIES = (APART, REPLACED, EXCLUDED)
UNCHECKED = "not registered here (budget unchecked)"
DEDUPE_KEY = ["run_id", "split", "metric", "source"]

IDENTITY = ["run_id", "source", "submitted", "status", "task", "task_version", "task_fingerprint", "model",
            "model_family", "backbone", "pretrained_on", "stand_in_for", "seed", "profile", "config_hash",
            "schema_version"]
CONFIG = ["config", "options", "options_key", "preset", "other_options", "lr", "budget", "budget_key",
          "budget_steps", "eval_every", "train_fraction", "budget_changes"]
OUTCOME = ["metric", "val", "test", "has_test", "steps_to_threshold", "threshold", "steps_trained",
           "selected_step"]
COST = ["precision", "train_flops", "train_time_s", "wall_time_s", "eval_time_s", "threads", "peak_mem_mb",
        "steps_per_s", "n_params_total", "n_params_trainable", "precision_ratio"]
PROVENANCE = ["device", "git_commit", "git_dirty", "package_version", "torch_version", "transformers_version"]
COLUMNS = IDENTITY + CONFIG + OUTCOME + COST + PROVENANCE


def options_key(options: Mapping[str, Any] | None) -> str:
    """The one key of a set of model options: canonical JSON ("{}" for none). Equal options, equal key."""
    return canonical_json(dict(options or {}))


def source_of(value: Any) -> str:
    """A runs row's source, "harness" where it is null (files written before the column existed)."""
    return value if isinstance(value, str) and value else HARNESS


def submitter(source: str) -> str | None:
    """The submission name of a ``submitted:<name>`` source, None for the harness."""
    return source[len(SUBMITTED_PREFIX):] if source.startswith(SUBMITTED_PREFIX) else None


def parse_config(text: Any) -> RunConfig | None:
    """A stored config JSON back into a ``RunConfig``; None when it does not parse in this checkout.

    ``RunConfig.from_json`` is the round trip when the core has it; until then one local parse.
    """
    if not isinstance(text, str) or not text:
        return None
    from_json = getattr(RunConfig, "from_json", None)
    try:
        if from_json is not None:
            return from_json(text)
        d = json.loads(text)
        return RunConfig(task=d["task"], task_version=d["task_version"], task_fingerprint=d["task_fingerprint"],
                         model=d["model"], backbone=d["backbone"], seed=int(d["seed"]), profile=d["profile"],
                         budget=Budget(**d["budget"]), model_options=dict(d.get("model_options") or {}),
                         device=d.get("device", "auto"))
    except (FptError, TypeError, ValueError, KeyError):
        return None


def budget_changes(profile: str, task: str, model: str, budget: Mapping[str, Any],
                   legacy_schema: bool = False) -> dict[str, Any]:
    """Fields of a run's (resolved) budget that differ from ``expected_budget(profile, task, model)``.

    The learning rate is compared like every other field, so an ``--budget lr=0.05`` run is a modified
    run (readers that treat lr as an axis, e.g. the tuned track, drop it). An unregistered profile or
    model cannot be checked and says so. ``legacy_schema``: a schema-v1 runs file was written when every
    profile's precision was ``fp32`` (``auto`` did not exist), so its ``fp32`` is no change.
    """
    from .profiles import PROFILES

    if profile not in PROFILES:
        return {"profile": UNCHECKED}
    try:
        expected = expected_budget(profile, task, model).to_dict()
    except FptError:
        return {"model": UNCHECKED}
    got = dict(budget)
    if legacy_schema and got.get("precision") == "fp32":
        got["precision"] = expected["precision"]
    return {k: got[k] for k in sorted(got) if got[k] != expected.get(k)}


def profile_lr(profile: str, task: str, model: str) -> float:
    """The learning rate a run of (task, model) gets under ``profile`` with no override; NaN if unknown here."""
    try:
        return float(expected_budget(profile, task, model).lr)
    except FptError:
        return math.nan


def same_lr(values: "pd.Series | float", lr: float) -> "pd.Series | bool":
    """``values`` (a column or one rate) equal ``lr`` up to float noise: one tolerance for every lr comparison."""
    return abs(values - lr) <= 1e-12 * max(1.0, abs(lr))


@dataclass(frozen=True)
class RunView:
    """The runs of some results directories: ``runs`` one row per run, ``rows`` the stored rows behind them.

    ``rows`` is the runs table (one row per run, split and metric) after the same de-duplication and
    submitted-runs policy, with ``source`` filled; metric extractors that read a run's rows use it.
    """

    runs: pd.DataFrame
    rows: pd.DataFrame
    submitted: str = APART

    def rows_of(self, run_id: str, source: str = HARNESS) -> pd.DataFrame:
        """The (split, metric) rows of one run from one source (a run id may exist as harness and submitted)."""
        return self.rows[(self.rows.run_id == run_id) & (self.rows.source == source)]

    def subset(self, run_ids: Iterable[str]) -> "RunView":
        """The same view narrowed to some run ids (e.g. the runs a selection picked)."""
        ids = set(run_ids)
        return RunView(self.runs[self.runs.run_id.isin(ids)].reset_index(drop=True),
                       self.rows[self.rows.run_id.isin(ids)].reset_index(drop=True), self.submitted)

    def narrow(self, records: pd.DataFrame) -> "RunView":
        """The same view narrowed to the runs of some of its own rows (their (run_id, source) pairs), e.g.
        the runs of one table cell."""
        keep = set(zip(records.run_id, records.source))
        runs = self.runs[[k in keep for k in zip(self.runs.run_id, self.runs.source)]].reset_index(drop=True)
        rows = self.rows[[k in keep for k in zip(self.rows.run_id, self.rows.source)]].reset_index(drop=True)
        return RunView(runs, rows, self.submitted)

    def with_submitted(self, submitted: str) -> "RunView":
        """The same runs under a narrower submitted-runs policy (apart > replaced > excluded): filters only,
        never re-parses a run; a view cannot widen again (read the runs anew for that)."""
        if submitted == self.submitted:
            return self
        if submitted in SUBMITTED_POLICIES and SUBMITTED_POLICIES.index(submitted) < SUBMITTED_POLICIES.index(self.submitted):
            raise FptError(f"a run view built with submitted={self.submitted!r} cannot give {submitted!r}; "
                           "build it from the runs table (view_of(runs_table, ...)) instead")
        rows = keep_runs(self.rows, submitted)
        kept = set(zip(rows.run_id, rows.source))
        runs = self.runs[[k in kept for k in zip(self.runs.run_id, self.runs.source)]].reset_index(drop=True)
        return RunView(runs, rows, submitted)

    @property
    def empty(self) -> bool:
        return self.runs.empty


def read_runs(dirs: Iterable[Path | str], submitted: str = APART) -> RunView:
    """The run view of results directories (the first directory wins a duplicated run)."""
    from .results import read_table

    return view_of(read_table(list(dirs), "runs"), submitted)


def view_of(runs: "pd.DataFrame | RunView", submitted: str = APART) -> RunView:
    """The run view of a runs table already read (``read_table(dirs, "runs")``); a view passes through."""
    if isinstance(runs, RunView):
        return runs.with_submitted(submitted)
    rows = keep_runs(runs, submitted)
    if rows.empty:
        return RunView(pd.DataFrame(columns=COLUMNS), rows, submitted)
    records = [_record(key, g) for key, g in rows.groupby(["run_id", "source"], sort=True)]
    return RunView(pd.DataFrame(records, columns=COLUMNS), rows, submitted)


def keep_runs(runs: pd.DataFrame, submitted: str = APART) -> pd.DataFrame:
    """The de-duplication policy and the submitted-runs switch, on the stored rows (see the module doc)."""
    if submitted not in SUBMITTED_POLICIES:
        raise FptError(f"submitted-runs policy {submitted!r} is unknown; use one of {', '.join(SUBMITTED_POLICIES)}")
    if runs.empty:
        return runs.assign(source=pd.Series(dtype=object)).reset_index(drop=True)
    source = runs["source"].map(source_of) if "source" in runs else HARNESS
    runs = runs.assign(source=source)
    if submitted == EXCLUDED:
        runs = runs[runs.source == HARNESS]
    elif submitted == REPLACED:
        harness_ids = set(runs.loc[runs.source == HARNESS, "run_id"])
        runs = runs[(runs.source == HARNESS) | ~runs.run_id.isin(harness_ids)]
    return runs.drop_duplicates(DEDUPE_KEY, keep="first").reset_index(drop=True)


def _num(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def _bool(x: Any) -> bool:
    return bool(x) if isinstance(x, (bool, int)) or type(x).__name__ == "bool_" else False


def _str(x: Any) -> str:
    return x if isinstance(x, str) else ""


def _main(g: pd.DataFrame, split: str) -> pd.Series | None:
    rows = g[(g.split == split) & (g.metric != "loss")]
    return rows.iloc[0] if len(rows) else None


def _record(key: tuple[str, str], g: pd.DataFrame) -> dict[str, Any]:
    run_id, source = key
    first = g.iloc[0]
    cfg = parse_config(first.config)
    raw = _raw_config(first.config)
    if cfg is not None:
        budget, options = cfg.budget.to_dict(), dict(cfg.model_options)
    else:
        budget, options = dict(raw.get("budget") or {}), dict(raw.get("model_options") or {})
    other = {k: v for k, v in options.items() if k != "preset"}
    no_lr = {k: v for k, v in budget.items() if k != "lr"}
    schema = int(_num(first.get("schema_version"))) if math.isfinite(_num(first.get("schema_version"))) else 1
    val, test = _main(g, "val"), _main(g, "test")
    outcome_row = test if test is not None else first
    stt = _num(outcome_row.steps_to_threshold)
    return {
        "run_id": run_id, "source": source, "submitted": source != HARNESS, "status": first.status,
        "task": first.task, "task_version": first.task_version, "task_fingerprint": first.task_fingerprint,
        "model": first.model, "model_family": _str(first.model_family), "backbone": first.backbone,
        "pretrained_on": _str(first.pretrained_on), "stand_in_for": _str(first.stand_in_for),
        "seed": int(first.seed), "profile": first.profile, "config_hash": first.config_hash, "schema_version": schema,
        "config": cfg, "options": options, "options_key": options_key(options),
        "preset": str(options.get("preset", "") or ""), "other_options": options_key(other),
        "lr": _num(budget.get("lr")), "budget": budget, "budget_key": canonical_json(no_lr),
        "budget_steps": int(budget.get("steps", -1)), "eval_every": int(budget.get("eval_every", -1)),
        "train_fraction": float(budget.get("train_fraction", 1.0)),
        "budget_changes": budget_changes(first.profile, first.task, first.model, budget, legacy_schema=schema < 2),
        "metric": str(test.metric if test is not None else (val.metric if val is not None else "")),
        "val": _num(val.value) if val is not None else math.nan,
        "test": _num(test.value) if test is not None else math.nan,
        "has_test": test is not None,
        "steps_to_threshold": stt, "threshold": _num(outcome_row.threshold),
        "steps_trained": int(_num(first.steps_trained)) if math.isfinite(_num(first.steps_trained)) else -1,
        "selected_step": _num(first.selected_step),
        "precision": _str(first.get("precision")),
        **{c: _num(first.get(c)) for c in ("train_flops", "train_time_s", "wall_time_s", "eval_time_s", "threads",
                                            "peak_mem_mb", "steps_per_s", "n_params_total", "n_params_trainable",
                                            "precision_ratio")},
        "device": _str(first.device), "git_commit": _str(first.git_commit), "git_dirty": _bool(first.git_dirty),
        "package_version": _str(first.package_version), "torch_version": _str(first.torch_version),
        "transformers_version": _str(first.transformers_version),
    }


def _raw_config(text: Any) -> dict[str, Any]:
    try:
        d = json.loads(text) if isinstance(text, str) and text else {}
    except ValueError:
        return {}
    return d if isinstance(d, dict) else {}
