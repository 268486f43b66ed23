"""From the run view to leaderboard rows: pure data, no HTML.

Why a separate layer: the HTML and the sibling ``leaderboard.json`` are two views of the same
numbers, and tests can check the aggregation (means, intervals, ranks, gains, missing reasons)
without parsing HTML.

Rules (each one is visible on the site):
- a row is (model, backbone, profile label, model options, source); a column is a task; numbers are
  percentages (test accuracy x 100), the unit of the report;
- a cell is the mean test metric over seeds with a 95% bootstrap interval over seeds
  (``report.uncertainty``); one seed has no interval and says "one seed"; diverged seeds follow the
  one rule of ``report.cell`` (as in the report's tables): scored at their best validation state, in
  the mean, counted and flagged; a diverged seed with no finite score is counted and named, never dropped;
- ``paper protocol`` holds runs of profile ``paper`` whose budget equals, field by field (lr
  included), the budget the profile gives that (task, model) with the adapter's own default lr;
  every other run is ``open``; runs with a modified budget (e.g. ``--max-steps``) form their own row,
  labelled ``<profile>*``, with each task's changes listed; seeds of one cell must share a budget;
- each track declares its task set (the suite of a profile); mean rank, its bootstrap interval and
  the normalized mean use complete rows only (a number for every declared task); other tasks that
  were run show as extra columns that are never ranked;
- a row whose adapter declares controls (``ModelAdapter.controls``: the pretrained transformers) is
  paired with them (same task, track, profile label and source; matched seeds; ``gains.py``): its transfer gain is pretrained minus control in percentage points with a
  paired bootstrap interval; a missing control is shown with the command that runs it;
- runs with ``train_fraction`` < 1 belong to the data-efficiency page only, never to a track;
- a submitted run (``source='submitted:<name>'``) is dropped as soon as the harness has the same
  run id (same config hash): the harness rerun replaces it (the run view's ``replaced`` policy).

The records are in ``schema.py``, ranking in ``ranking.py``, control pairing in ``gains.py``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Callable, Iterable

import pandas as pd

from benchmark.hashing import canonical_json, sha256_text
from benchmark.runview import REPLACED, RunView, read_runs, same_lr, submitter
from report import uncertainty as unc
from report.cell import DIVERGED, count_seeds, diverged_missing
from report.normalize import majority_rate

from .gains import pair_controls
from .ranking import mark_ties, normalize_rows, rank_rows
from .schema import (BOOT_SEED, DEFINITIONS, N_BOOT, OPEN_TRACK, PAPER_TRACK, PCT, TRACK_NOTES, TRACK_TASK_PROFILE,
                     TRACK_TITLES, TUNED_TRACK, UNIT, Cell, EfficiencyPoint, GainVs, Leaderboard, Row, Track)

__all__ = ["BOOT_SEED", "DEFINITIONS", "N_BOOT", "OPEN_TRACK", "PAPER_TRACK", "PCT", "TUNED_TRACK", "UNIT", "Cell",
           "EfficiencyPoint", "GainVs", "Leaderboard", "Row", "Track", "build_leaderboard", "declared_tasks", "slugify"]

# -- labels and small helpers -------------------------------------------------------------------------
def slugify(*parts: str) -> str:
    """A file-name-safe, collision-free page name (model names may contain anything)."""
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", "__".join(parts))[:60].strip("._") or "row"
    return f"{readable}-{sha256_text(canonical_json(parts))[:8]}"


def _unique(values: Iterable[Any]) -> list[Any]:
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v == "":
            continue
        if v not in out:
            out.append(v)
    return sorted(out, key=str)


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _ci(values: list[float]) -> list[float] | None:
    ci = unc.bootstrap_mean_ci(values, n_boot=N_BOOT, seed=BOOT_SEED)
    return None if ci is None else [ci[0], ci[1]]


def declared_tasks(track: str) -> tuple[list[str], str]:
    """The task set a track declares: the tasks of its profile's suite, in suite order."""
    from benchmark.errors import FptError
    from benchmark.profiles import get_profile

    name = TRACK_TASK_PROFILE[track]
    try:
        suite = get_profile(name).suite
    except FptError:
        return [], f"profile '{name}' is not registered"
    tasks = sorted({e.task for e in suite})
    return tasks, f"the suite of profile '{name}'"


# -- aggregation ------------------------------------------------------------------------------------
def _keyed(view: RunView, ignore: tuple[str, ...] = ("train_fraction",)) -> pd.DataFrame:
    """The view's runs that recorded a test metric, with ``value`` (the test metric), ``options`` (their key)
    and ``budget_changes`` (canonical JSON, the row key) as the tracks group them.

    ``ignore``: budget fields that are an axis of the view, not a change (train_fraction always; lr in
    the tuned track, where it is chosen on validation by design)."""
    runs = view.runs[view.runs.has_test.astype(bool) | (view.runs.status == DIVERGED)]  # an unscored divergence is shown
    changes = [canonical_json({k: v for k, v in ch.items() if k not in ignore}) for ch in runs.budget_changes]
    # a grid's learning rates are configurations of their own: one row each, never one merged row
    lr_set = ["" if "lr" in ignore or "lr" not in ch else repr(float(lr)) for ch, lr in zip(runs.budget_changes, runs.lr)]
    return runs.assign(value=runs.test, options=runs.options_key, budget_changes=changes, lr_set=lr_set)


def _cost(ok: pd.DataFrame, cell: Cell) -> None:
    """What the cell's runs cost (FLOPs, time, memory, precision, parameters), over its seeds (None where not recorded)."""
    def mean_of(col: str) -> float | None:
        if col not in ok:
            return None
        vals = [v for v in (_finite(x) for x in ok[col]) if v is not None]
        return float(sum(vals) / len(vals)) if vals else None

    cell.train_flops = mean_of("train_flops")
    cell.train_time_s = None if (t := mean_of("train_time_s")) is None else round(t, 3)
    mem = [v for v in (_finite(x) for x in ok.get("peak_mem_mb", [])) if v is not None]
    cell.peak_mem_mb = round(max(mem), 1) if mem else None
    prec = _unique(ok["precision"]) if "precision" in ok else []
    cell.precision = "/".join(prec) if prec else None
    tr = _unique(int(x) for x in ok.n_params_trainable.dropna())
    tot = _unique(int(x) for x in ok.n_params_total.dropna())
    cell.n_params_trainable = tr[0] if len(tr) == 1 else None
    cell.n_params_total = tot[0] if len(tot) == 1 else None


def _cell(task: str, metric: str, runs: pd.DataFrame) -> Cell:
    """The cell of one task in one row: the seeds ``report.cell.count_seeds`` counts (diverged ones
    scored at their best validation state are in the mean and flagged), or why there is no number."""
    if runs.empty:
        return Cell(missing="never run", task=task, metric=metric)
    runs = runs.sort_values("seed")
    base: dict[str, Any] = dict(task=task, metric=metric, n_runs=len(runs), run_ids=list(runs.run_id))
    if runs.task_fingerprint.nunique() > 1:
        return Cell(missing=f"not comparable: runs on {runs.task_fingerprint.nunique()} different task fingerprints "
                            f"(versions {', '.join(_unique(runs.task_version))}); rerun on one", **base)
    if runs.seed.duplicated().any():
        dup = sorted(int(s) for s in runs.seed[runs.seed.duplicated()].unique())
        return Cell(missing=f"not comparable: seed(s) {dup} appear in several configurations; keep one", **base)
    if runs.budget_changes.nunique() > 1:
        return Cell(missing=f"not comparable: seeds ran with {runs.budget_changes.nunique()} different budgets; "
                            "rerun with one", **base)
    base["budget_changes"] = json.loads(runs.budget_changes.iloc[0])
    keep, unscored, notes = count_seeds(list(runs.status), list(runs.value.notna()))
    base["unscored"] = unscored
    ok = runs[pd.Series(keep, index=runs.index) & runs.value.notna()]
    if ok.empty:
        return Cell(missing=diverged_missing(int((runs.status == DIVERGED).sum()), len(runs)), notes=tuple(notes),
                    **base)
    vals = [PCT * float(v) for v in ok.value]
    cell = Cell(vals, [int(s) for s in ok.seed], None, tuple(notes), diverged=int((ok.status == DIVERGED).sum()),
                ci95=_ci(vals), **base)
    _cost(ok, cell)
    return cell


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
        "precision": _unique(g["precision"]) if "precision" in g else [],
        "task_version": {str(t): _unique(tg.task_version) for t, tg in g.groupby("task", sort=True)},
        "n_runs": int(len(g)),
        "train_time_s": float(round(g.train_time_s.fillna(0).sum(), 1)),
    }


def _build_track(name: str, tr: pd.DataFrame) -> Track:
    declared, source = declared_tasks(name)
    extra = sorted(set(tr.task) - set(declared)) if not tr.empty else []
    tasks = declared + extra
    metrics = {t: ("/".join(_unique(tr[tr.task == t].metric)) if not tr.empty else "") or "accuracy" for t in tasks}
    chance = {}
    for t in tasks:
        rate = majority_rate(t)
        chance[t] = None if rate is None else round(PCT * rate, 6)
    track = Track(name, TRACK_TITLES[name], TRACK_NOTES[name], tasks, metrics, [], declared, source, chance)
    if tr.empty:
        return track
    key_cols = ["model", "backbone", "profile", "modified", "options", "source", "lr_set"]
    rows: list[Row] = []
    for key, g in tr.groupby(key_cols, sort=True):
        model, backbone, profile, modified, options, source, lr_set = key
        label = profile + ("*" if modified else "")
        cells = {t: _cell(t, metrics[t], g[g.task == t]) for t in tasks}
        changes_d = {t: c.budget_changes for t, c in cells.items() if c.budget_changes}
        rows.append(Row(
            slug=slugify(name, model, backbone, label, options, source, *([f"lr{lr_set}"] if lr_set else [])),
            track=name, model=model, lr=float(lr_set) if lr_set else None,
            backbone=backbone, profile=profile, profile_label=label, budget_changes=changes_d,
            options=json.loads(options), source=source, submitted_by=submitter(source), cells=cells,
            coverage=sum(c.mean is not None for t, c in cells.items() if t in declared), mean_rank=None,
            mean_rank_reason="", meta=_meta(g),
        ))
    rank_rows(rows, declared)
    normalize_rows(rows, track)
    pair_controls(rows, track)
    rows.sort(key=lambda r: (r.mean_rank is None, r.mean_rank or 0.0, -r.coverage, r.model, r.backbone, r.slug))
    mark_ties(rows)
    track.rows = rows
    return track


def _efficiency(per_run: pd.DataFrame) -> list[EfficiencyPoint]:
    """Accuracy against train_fraction for every (task, model, backbone, profile, budget) that ran a fraction < 1.

    The fraction-1 point is the same configuration's ordinary run. A modified budget is labelled
    ``<profile>*`` like a track row."""
    sub = per_run[(per_run.options == "{}") & (per_run.source == "harness")]
    key = ["task", "model", "backbone", "profile", "budget_changes"]
    groups = sub[sub.train_fraction < 1.0][key].drop_duplicates()
    out = []
    for g in groups.itertuples(index=False):
        runs = sub
        for k in key:
            runs = runs[runs[k] == getattr(g, k)]
        label = str(g.profile) + ("*" if g.budget_changes != "{}" else "")
        for frac, fr in runs.groupby("train_fraction", sort=True):
            ok = fr[(fr.status == "finished") & fr.value.notna()].sort_values("seed")
            vals = [PCT * float(v) for v in ok.value]
            out.append(EfficiencyPoint(str(g.task), str(g.model), str(g.backbone), label, float(frac),
                                       float(sum(vals) / len(vals)) if vals else None, _ci(vals) if vals else None,
                                       len(vals), [int(s) for s in ok.seed], sorted(fr.run_id),
                                       "/".join(_unique(fr["precision"])) or None if "precision" in fr else None))
    return sorted(out, key=lambda p: (p.task, p.model, p.backbone, p.profile, p.fraction))


def _tuned_ids(view: RunView, notes: list[str]) -> set[str]:
    """Run ids at the lr chosen on validation by the tuning protocol (``benchmark.selection.select``).

    Only configurations that tried at least two learning rates on the same grid as their rivals
    (``same_grid``) count as tuned: a grid of one lr is the fixed-lr result, already in its track.
    """
    from benchmark.selection import select

    try:
        sel = select(view)
    except Exception as exc:  # a selection that fails must not take the leaderboard down with it
        notes.append(f"tuned track not shown: benchmark.selection.select failed ({type(exc).__name__}: {exc})")
        return set()
    table = view.runs
    if sel.empty or table.empty:
        return set()
    sel = sel[sel.same_grid.astype(bool) & sel.lr_selected.notna() & (sel.lrs_tried.map(len) >= 2)]
    keys = {"task": "task", "model": "model", "backbone": "backbone", "preset": "preset", "profile": "profile",
            "task_version": "task_version", "options": "other_options", "budget_steps": "budget_steps"}
    ids: set[str] = set()
    for s in sel.itertuples(index=False):
        m = table
        for k, col in keys.items():
            m = m[m[col] == getattr(s, k)]
        m = m[same_lr(m.lr, float(s.lr_selected)) & m.seed.isin(s.seeds)]
        ids |= set(m.run_id)
    return ids


def _verification(dirs: list[Any], rows: list[Row], notes: list[str]) -> None:
    """Badge submitted rows with ``benchmark.submission.verification_status`` when it exists."""
    if not any(r.submitted_by is not None for r in rows):
        return
    try:
        from benchmark.submission import verification_status  # type: ignore[attr-defined]
    except ImportError:
        return
    try:
        status = verification_status(dirs)
    except Exception as exc:
        notes.append(f"verification badges not shown: {type(exc).__name__}: {exc}")
        return
    if not isinstance(status, dict):
        return
    order = {"contradicted": 2, "submitted": 1, "verified": 0}
    for r in rows:
        if r.submitted_by is None:
            continue
        ids = [i for c in r.cells.values() for i in c.run_ids]
        found = [str(status.get(i, "submitted")) for i in ids]  # a run without a verdict of its own was not rerun
        if not found and r.source in status:  # the submission's overall verdict ("submitted:<name>")
            found = [str(status[r.source])]
        if found:
            r.verification = max(found, key=lambda s: order.get(s, 1))


def build_leaderboard(results: Iterable[Any], select: Callable[[pd.DataFrame], pd.DataFrame | None] | None = None
                      ) -> Leaderboard:
    """Aggregate the runs of ``results`` directories (one run view) into tracks of ranked rows.

    ``select`` (tests) replaces the tuning protocol: runs table in, the tuned track's runs out."""
    dirs = list(results)
    view = read_runs(dirs, REPLACED)
    per_run = _keyed(view)
    notes: list[str] = []
    if per_run.empty:
        empty = pd.DataFrame(columns=["task"])
        return Leaderboard([_build_track(t, empty) for t in (PAPER_TRACK, OPEN_TRACK)], 0, [], UNIT,
                           dict(DEFINITIONS), [], notes)
    per_run["track"] = [PAPER_TRACK if p == "paper" and b == "{}" else OPEN_TRACK
                        for p, b in zip(per_run.profile, per_run.budget_changes)]
    per_run["modified"] = per_run.budget_changes != "{}"
    in_tracks = per_run[per_run.train_fraction >= 1.0]
    tracks = [_build_track(t, in_tracks[in_tracks.track == t]) for t in (PAPER_TRACK, OPEN_TRACK)]
    if select is not None:
        chosen = select(view.rows)
        ids = set(chosen.run_id) if chosen is not None else set()
    else:
        ids = _tuned_ids(view, notes)
    if ids:
        tuned = _keyed(view.subset(ids), ignore=("train_fraction", "lr"))
        if not tuned.empty:
            tuned["modified"] = tuned.budget_changes != "{}"
            tuned = tuned[tuned.train_fraction >= 1.0]
            tracks.append(_build_track(TUNED_TRACK, tuned))
    for t in tracks:
        _verification(dirs, t.rows, notes)
    return Leaderboard(tracks, int(per_run.run_id.nunique()), sorted(per_run.source.unique()), UNIT,
                       dict(DEFINITIONS), _efficiency(per_run), notes)
