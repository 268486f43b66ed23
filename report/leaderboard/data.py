"""From the harness's Parquet tables to leaderboard rows: pure data, no HTML.

Why a separate layer: the HTML and the sibling ``leaderboard.json`` are two views of the same
numbers, and tests can check the aggregation (means, ranks, missing reasons) without parsing HTML.

Rules (each one is visible on the site):
- a row is (model, backbone, profile label, model options, source); a column is a task;
- a cell is the mean test metric over seeds; diverged seeds are counted and shown, never averaged in;
- ``paper protocol`` holds runs of profile ``paper`` whose budget is exactly the profile's; every
  other run is ``open``; runs with a modified budget (e.g. ``--max-steps``) form their own row,
  labelled ``<profile>*``, with each task's changes listed; seeds of one cell must share a budget;
- mean rank is computed only over rows that have a number for every task of the track, with ranks
  among those complete rows; incomplete rows show their coverage instead of a partial average;
- a submitted run (``source='submitted:<name>'``) is dropped as soon as the harness has the same
  run id (same config hash): the harness rerun replaces it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from benchmark.hashing import canonical_json, sha256_text
from benchmark.results import read_table

PAPER_TRACK = "paper"
OPEN_TRACK = "open"
TRACK_TITLES = {PAPER_TRACK: "paper protocol", OPEN_TRACK: "open"}
TRACK_NOTES = {
    PAPER_TRACK: "Profile 'paper' with its fixed hyperparameters and step budgets, unmodified.",
    OPEN_TRACK: "Every other profile or a modified budget; the profile is shown on each row.",
}


@dataclass
class Cell:
    task: str
    metric: str
    mean: float | None  # None: missing (see reason)
    std: float | None
    n: int  # seeds with a number
    n_runs: int  # seeds run (finished + diverged)
    n_diverged: int
    reason: str  # why the cell is missing or qualified; "" for a plain number
    rank: float | None = None
    run_ids: list[str] = field(default_factory=list)
    budget_changes: dict[str, Any] = field(default_factory=dict)  # vs the profile's budget for this task


@dataclass
class Row:
    slug: str
    track: str
    model: str
    backbone: str
    profile: str  # as recorded
    profile_label: str  # profile, or profile* when the budget was modified
    budget_changes: dict[str, dict[str, Any]]  # task -> changed budget fields (only modified tasks)
    options: dict[str, Any]
    source: str
    submitted_by: str | None
    cells: dict[str, Cell]
    coverage: int
    mean_rank: float | None
    mean_rank_reason: str
    meta: dict[str, Any]


@dataclass
class Track:
    name: str
    title: str
    note: str
    tasks: list[str]
    metrics: dict[str, str]
    rows: list[Row]


@dataclass
class Leaderboard:
    tracks: list[Track]
    n_runs: int
    sources: list[str]

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, NaN-free) so regenerating gives identical bytes."""
        return json.dumps(asdict(self), sort_keys=True, indent=1, allow_nan=False)


# -- budgets and labels ---------------------------------------------------------------------------
def budget_changes(config: dict[str, Any]) -> dict[str, Any]:
    """Fields of the run's budget that differ from its profile's budget for that (task, model).

    The adapter's own default lr is legitimate (profiles apply it before their rules), so the run's lr
    is passed as the adapter lr: a difference in lr then shows only where a rule pins it. An
    unregistered profile (e.g. a submitter's own) cannot be checked and is reported as such.
    """
    from benchmark.errors import FptError
    from benchmark.profiles import Budget, get_profile

    try:
        profile = get_profile(config["profile"])
    except FptError:
        return {"profile": "not registered here (budget unchecked)"}
    run_budget = Budget(**config["budget"])
    expected = profile.budget(config["task"], config["model"], run_budget.lr).to_dict()
    got = run_budget.to_dict()
    return {k: got[k] for k in sorted(got) if got[k] != expected[k]}


def slugify(*parts: str) -> str:
    """A file-name-safe, collision-free page name (model names may contain anything)."""
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", "__".join(parts))[:60].strip("._") or "row"
    return f"{readable}-{sha256_text(canonical_json(parts))[:8]}"


def _submitted_name(source: str) -> str | None:
    return source.split(":", 1)[1] if source.startswith("submitted:") else None


def _unique(values: Iterable[Any]) -> list[Any]:
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v == "":
            continue
        if v not in out:
            out.append(v)
    return sorted(out, key=str)


# -- aggregation ------------------------------------------------------------------------------------
def prefer_harness(runs: pd.DataFrame) -> pd.DataFrame:
    """Drop submitted rows of any run id the harness has itself (the rerun replaces the submission),
    and exact duplicates of a run found in several results directories."""
    if runs.empty:
        return runs
    harness_ids = set(runs.loc[runs.source == "harness", "run_id"])
    keep = (runs.source == "harness") | ~runs.run_id.isin(harness_ids)
    runs = runs[keep]
    return runs.drop_duplicates(subset=["run_id", "split", "metric", "source"], keep="first")


def _run_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """One record per run: its test metric (not the loss) plus what keys its leaderboard row."""
    test = runs[(runs.split == "test") & (runs.metric != "loss")].copy()
    if test.empty:
        return test
    configs = [json.loads(c) for c in test.config]
    test["budget_changes"] = [canonical_json(budget_changes(c)) for c in configs]
    test["options"] = [canonical_json(c.get("model_options", {})) for c in configs]
    return test


def _cell(task: str, metric: str, runs: pd.DataFrame) -> Cell:
    if runs.empty:
        return Cell(task, metric, None, None, 0, 0, 0, "never run")
    runs = runs.sort_values("seed")
    ids = list(runs.run_id)
    if runs.task_fingerprint.nunique() > 1:
        return Cell(task, metric, None, None, 0, len(runs), 0,
                    f"not comparable: runs on {runs.task_fingerprint.nunique()} different task fingerprints "
                    f"(versions {', '.join(_unique(runs.task_version))}); rerun on one", run_ids=ids)
    if runs.seed.duplicated().any():
        dup = sorted(int(s) for s in runs.seed[runs.seed.duplicated()].unique())
        return Cell(task, metric, None, None, 0, len(runs), 0,
                    f"not comparable: seed(s) {dup} appear in several configurations; keep one", run_ids=ids)
    if runs.budget_changes.nunique() > 1:
        return Cell(task, metric, None, None, 0, len(runs), 0,
                    f"not comparable: seeds ran with {runs.budget_changes.nunique()} different budgets; rerun with one",
                    run_ids=ids)
    changes = json.loads(runs.budget_changes.iloc[0])
    ok = runs[(runs.status == "finished") & runs.value.notna()]
    n_div = int(len(runs) - len(ok))
    if ok.empty:
        return Cell(task, metric, None, None, 0, len(runs), n_div,
                    f"diverged: all {len(runs)} seed(s) ended with a non-finite loss", run_ids=ids,
                    budget_changes=changes)
    vals = ok.value.astype(float)
    std = float(vals.std(ddof=1)) if len(vals) > 1 else None
    reason = f"{n_div} of {len(runs)} seed(s) diverged and are not in the mean" if n_div else ""
    return Cell(task, metric, float(vals.mean()), std, len(ok), len(runs), n_div, reason, run_ids=ids,
                budget_changes=changes)


def _rank(rows: list[Row], tasks: list[str]) -> None:
    """Mean rank over tasks among complete rows (1 = best, ties share the average rank)."""
    complete = [r for r in rows if tasks and r.coverage == len(tasks)]
    complete_ids = {id(r) for r in complete}
    for t in tasks:
        vals = pd.Series([r.cells[t].mean for r in complete], dtype=float)
        ranks = vals.rank(ascending=False, method="average")
        for r, k in zip(complete, ranks):
            r.cells[t].rank = float(k)
    for r in rows:
        if id(r) in complete_ids:
            r.mean_rank = sum(r.cells[t].rank for t in tasks) / len(tasks)  # type: ignore[misc]
            r.mean_rank_reason = f"mean of {len(tasks)} task ranks among {len(complete)} complete rows"
        else:
            missing = [t for t in tasks if r.cells[t].mean is None]
            r.mean_rank = None
            r.mean_rank_reason = (f"not ranked: {len(missing)} of {len(tasks)} tasks missing ({', '.join(missing)}); "
                                  "ranks are computed only over rows with every task")


def _meta(g: pd.DataFrame) -> dict[str, Any]:
    params = {}
    for task, tg in g.groupby("task", sort=True):
        params[str(task)] = {"total": _unique(int(x) for x in tg.n_params_total),
                             "trainable": _unique(int(x) for x in tg.n_params_trainable)}
    commits = _unique(f"{c}{' (dirty)' if d else ''}" for c, d in zip(g.git_commit, g.git_dirty))
    return {
        "model_family": _unique(g.model_family),
        "pretrained_on": _unique(g.pretrained_on),
        "stand_in_for": _unique(g.stand_in_for),
        "params": params,
        "package_version": _unique(g.package_version),
        "git_commit": commits,
        "torch_version": _unique(g.torch_version),
        "transformers_version": _unique(g.transformers_version),
        "device": _unique(g.device),
        "task_version": {str(t): _unique(tg.task_version) for t, tg in g.groupby("task", sort=True)},
        "n_runs": int(len(g)),
        "train_time_s": float(round(g.train_time_s.fillna(0).sum(), 1)),
    }


def build_leaderboard(results: Iterable[Path | str]) -> Leaderboard:
    """Aggregate the runs tables of ``results`` directories into tracks of ranked rows."""
    runs = prefer_harness(read_table(list(results), "runs"))
    per_run = _run_frame(runs)
    tracks: list[Track] = []
    if per_run.empty:
        return Leaderboard([Track(t, TRACK_TITLES[t], TRACK_NOTES[t], [], {}, []) for t in (PAPER_TRACK, OPEN_TRACK)],
                           0, [])
    per_run["track"] = [PAPER_TRACK if p == "paper" and b == "{}" else OPEN_TRACK
                        for p, b in zip(per_run.profile, per_run.budget_changes)]
    per_run["modified"] = per_run.budget_changes != "{}"
    key_cols = ["model", "backbone", "profile", "modified", "options", "source"]
    for track in (PAPER_TRACK, OPEN_TRACK):
        tr = per_run[per_run.track == track]
        tasks = sorted(tr.task.unique()) if not tr.empty else []
        metrics = {t: "/".join(_unique(tr[tr.task == t].metric)) for t in tasks}
        rows: list[Row] = []
        for key, g in tr.groupby(key_cols, sort=True):
            model, backbone, profile, modified, options, source = key
            label = profile + ("*" if modified else "")
            cells = {t: _cell(t, metrics[t], g[g.task == t]) for t in tasks}
            changes_d = {t: c.budget_changes for t, c in cells.items() if c.budget_changes}
            rows.append(Row(
                slug=slugify(track, model, backbone, label, options, source), track=track, model=model,
                backbone=backbone, profile=profile, profile_label=label, budget_changes=changes_d,
                options=json.loads(options), source=source, submitted_by=_submitted_name(source), cells=cells,
                coverage=sum(c.mean is not None for c in cells.values()), mean_rank=None, mean_rank_reason="",
                meta=_meta(g),
            ))
        _rank(rows, tasks)
        rows.sort(key=lambda r: (r.mean_rank is None, r.mean_rank or 0.0, -r.coverage, r.model, r.backbone, r.slug))
        tracks.append(Track(track, TRACK_TITLES[track], TRACK_NOTES[track], tasks, metrics, rows))
    return Leaderboard(tracks, int(per_run.run_id.nunique()), sorted(per_run.source.unique()))
