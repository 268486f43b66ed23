"""From the harness's Parquet tables to leaderboard rows: pure data, no HTML.

Why a separate layer: the HTML and the sibling ``leaderboard.json`` are two views of the same
numbers, and tests can check the aggregation (means, intervals, ranks, gains, missing reasons)
without parsing HTML.

Rules (each one is visible on the site):
- a row is (model, backbone, profile label, model options, source); a column is a task; numbers are
  percentages (test accuracy x 100), the unit of the report;
- a cell is the mean test metric over seeds with a 95% bootstrap interval over seeds
  (``report.uncertainty``); one seed has no interval and says "one seed"; diverged seeds are counted
  and shown, never averaged in;
- ``paper protocol`` holds runs of profile ``paper`` whose budget equals, field by field (lr
  included), the budget the profile gives that (task, model) with the adapter's own default lr;
  every other run is ``open``; runs with a modified budget (e.g. ``--max-steps``) form their own row,
  labelled ``<profile>*``, with each task's changes listed; seeds of one cell must share a budget;
- each track declares its task set (the suite of a profile); mean rank, its bootstrap interval and
  the normalized mean use complete rows only (a number for every declared task); other tasks that
  were run show as extra columns that are never ranked;
- a pretrained-transformer row is paired with its controls (same task, track, profile label and
  source; matched seeds): its transfer gain is pretrained minus control in percentage points with a
  paired bootstrap interval; a missing control is shown with the command that runs it;
- runs with ``train_fraction`` < 1 belong to the data-efficiency page only, never to a track;
- a submitted run (``source='submitted:<name>'``) is dropped as soon as the harness has the same
  run id (same config hash): the harness rerun replaces it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

import pandas as pd

from benchmark.hashing import canonical_json, sha256_text
from benchmark.results import read_table
from report import uncertainty as unc
from report.normalize import DEFINITION as NORM_DEFINITION
from report.normalize import majority_rate, normalized

PAPER_TRACK = "paper"
OPEN_TRACK = "open"
TUNED_TRACK = "tuned"
TRACK_TITLES = {PAPER_TRACK: "paper protocol", OPEN_TRACK: "open", TUNED_TRACK: "tuned"}
# the profile whose suite declares each track's task set
TRACK_TASK_PROFILE = {PAPER_TRACK: "paper", OPEN_TRACK: "cpu", TUNED_TRACK: "cpu"}
TRACK_NOTES = {
    PAPER_TRACK: "Profile 'paper' with its fixed hyperparameters and step budgets, every budget field (lr "
                 "included) equal to the profile's for that task and model.",
    OPEN_TRACK: "Every other profile or a modified budget; the profile is shown on each row.",
    TUNED_TRACK: "Runs picked by the tuning protocol (benchmark.selection): hyperparameters selected on validation.",
}
N_BOOT = 2000
BOOT_SEED = 0
UNIT = "%"
PCT = 100.0  # every stored metric is a fraction; the leaderboard shows percentages like the report

# A pretrained-transformer family -> the controls it is paired with, first = the primary (sorting) control.
# The same-architecture random control keeps the row's backbone; the no-body controls take none.
FROZEN_CONTROLS = ("random-frozen", "no-body", "one-attention")
FINETUNED_CONTROLS = ("random-full", "no-body", "one-attention")
NO_BACKBONE_CONTROLS = ("no-body", "one-attention")

DEFINITIONS = {
    "cell": "mean test accuracy (%) over seeds; [lo, hi] is the 95% percentile-bootstrap interval of the mean "
            f"over seeds ({N_BOOT} resamples, seed {BOOT_SEED}); 'one seed' = no interval can be given",
    "mean_rank": "mean over the track's declared tasks of the row's rank (1 = best, ties share the average rank), "
                 "among rows that have every declared task",
    "rank_ci95": "95% bootstrap interval of the mean rank, resampling seeds within every cell and tasks jointly",
    "tied": "adjacent rows whose rank intervals overlap are marked tied (\u2248)",
    "norm_score": NORM_DEFINITION,
    "norm_mean": "mean of the normalized scores over the track's declared tasks (complete rows only)",
    "gain": "transfer gain = pretrained minus control, in percentage points, over seeds both rows ran (paired); "
            "[lo, hi] is the paired bootstrap 95% interval",
    "train_flops": "training FLOPs counted by the harness (torch's FLOP counter on one step x steps), mean over seeds",
}


@dataclass
class GainVs:
    control_model: str
    control: str | None  # the control row's slug (its key in leaderboard.json); None: missing
    gain: float | None
    gain_ci95: list[float] | None
    n_pairs: int
    missing: str  # why there is no gain, with the command that runs the control; "" when there is one


@dataclass
class Cell:
    task: str
    metric: str
    mean: float | None  # None: missing (see reason); percent
    std: float | None
    n: int  # seeds with a number
    n_runs: int  # seeds run (finished + diverged)
    n_diverged: int
    reason: str  # why the cell is missing or qualified; "" for a plain number
    rank: float | None = None
    run_ids: list[str] = field(default_factory=list)
    budget_changes: dict[str, Any] = field(default_factory=dict)  # vs the profile's budget for this task
    seeds: list[int] = field(default_factory=list)  # seeds with a number, in order of ``values``
    values: list[float] = field(default_factory=list)  # per-seed percent
    ci95: list[float] | None = None  # None: fewer than two seeds ("one seed") or missing
    norm_score: float | None = None
    gain: float | None = None  # vs the primary control
    gain_ci95: list[float] | None = None
    control: str | None = None  # slug of the primary control row
    gains: dict[str, GainVs] = field(default_factory=dict)  # control model -> gain against it
    train_flops: float | None = None
    train_time_s: float | None = None
    peak_mem_mb: float | None = None
    precision: str | None = None
    n_params_trainable: int | None = None
    n_params_total: int | None = None


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
    rank_ci95: list[float] | None = None
    tied_with: list[str] = field(default_factory=list)  # slugs of adjacent rows with overlapping rank intervals
    norm_mean: float | None = None
    is_pretrained: bool = False  # a pretrained-transformer row: it gets gain columns
    controls: list[str] = field(default_factory=list)  # control models it is paired with
    mean_gain: float | None = None  # mean gain over declared tasks vs the primary control (complete only)
    verification: str | None = None  # submitted rows: submitted | verified | contradicted


@dataclass
class Track:
    name: str
    title: str
    note: str
    tasks: list[str]  # every column: declared tasks first, then extra tasks that were run
    metrics: dict[str, str]
    rows: list[Row]
    declared_tasks: list[str] = field(default_factory=list)  # the track's task set: ranks use these only
    task_set_from: str = ""  # where the declared set comes from
    chance: dict[str, float | None] = field(default_factory=dict)  # majority-class rate (%) per task


@dataclass
class EfficiencyPoint:
    task: str
    model: str
    backbone: str
    profile: str
    fraction: float
    mean: float | None
    ci95: list[float] | None
    n: int
    seeds: list[int]
    run_ids: list[str]
    precision: str | None = None  # computed in (points of one curve may differ: shown beside each)


@dataclass
class Leaderboard:
    tracks: list[Track]
    n_runs: int
    sources: list[str]
    unit: str = UNIT
    definitions: dict[str, str] = field(default_factory=dict)
    data_efficiency: list[EfficiencyPoint] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, NaN-free) so regenerating gives identical bytes."""
        return json.dumps(asdict(self), sort_keys=True, indent=1, allow_nan=False)


# -- budgets and labels ---------------------------------------------------------------------------
def adapter_default_lr(model: str) -> tuple[bool, float | None]:
    """(known, default lr) of a registered model adapter; unknown models cannot be checked."""
    from benchmark.errors import FptError
    from benchmark.model import MODELS

    try:
        cls = MODELS.get(model)
    except FptError:
        return False, None
    return True, getattr(cls, "default_lr", None)


def budget_changes(config: dict[str, Any], legacy_schema: bool = False) -> dict[str, Any]:
    """Fields of the run's budget that differ from its profile's budget for that (task, model).

    The expected budget is what ``make_config`` gives with no override: the profile's base, the
    adapter's own default lr, then the profile's rules. The run's lr is compared like every other
    field, so an ``--budget lr=0.05`` run is a modified run. An unregistered profile or model (e.g. a
    submitter's own) cannot be checked and is reported as such. ``legacy_schema``: a runs file of
    schema v1 was written when every profile's precision was ``fp32`` (``auto`` did not exist), so its
    ``fp32`` is the profile's own precision of the time, not a change.
    """
    from benchmark.errors import FptError
    from benchmark.profiles import Budget, get_profile

    try:
        profile = get_profile(config["profile"])
    except FptError:
        return {"profile": "not registered here (budget unchecked)"}
    known, lr = adapter_default_lr(config["model"])
    if not known:
        return {"model": "not registered here (budget unchecked)"}
    run_budget = Budget(**config["budget"])
    expected = profile.budget(config["task"], config["model"], lr).to_dict()
    got = run_budget.to_dict()
    if legacy_schema and got.get("precision") == "fp32":
        got["precision"] = expected["precision"]
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
    return tasks, f"the tasks of profile '{name}''s suite"


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


def _run_frame(runs: pd.DataFrame, ignore: tuple[str, ...] = ("train_fraction",)) -> pd.DataFrame:
    """One record per run: its test metric (not the loss) plus what keys its leaderboard row.

    ``ignore``: budget fields that are an axis of the view, not a change (train_fraction always; lr in
    the tuned track, where it is chosen on validation by design)."""
    test = runs[(runs.split == "test") & (runs.metric != "loss")].copy()
    if test.empty:
        return test
    configs = [json.loads(c) for c in test.config]
    fractions = [float(c.get("budget", {}).get("train_fraction", 1.0)) for c in configs]
    versions = [int(v) if _finite(v) is not None else 1 for v in test.schema_version]
    changes = [budget_changes(c, legacy_schema=v < 2) for c, v in zip(configs, versions)]
    test["train_fraction"] = fractions
    test["budget_changes"] = [canonical_json({k: v for k, v in ch.items() if k not in ignore}) for ch in changes]
    test["options"] = [canonical_json(c.get("model_options", {})) for c in configs]
    return test


def _compute(ok: pd.DataFrame, cell: Cell) -> None:
    """Per-run compute record, summarized over the cell's seeds (None where the runs lack it)."""
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
    vals = [PCT * float(v) for v in ok.value]
    std = float(pd.Series(vals).std(ddof=1)) if len(vals) > 1 else None
    reason = f"{n_div} of {len(runs)} seed(s) diverged and are not in the mean" if n_div else ""
    cell = Cell(task, metric, float(sum(vals) / len(vals)), std, len(ok), len(runs), n_div, reason, run_ids=ids,
                budget_changes=changes, seeds=[int(s) for s in ok.seed], values=vals, ci95=_ci(vals))
    _compute(ok, cell)
    return cell


def _rank(rows: list[Row], tasks: list[str]) -> None:
    """Mean rank over the declared tasks among complete rows (1 = best, ties share the average rank),
    with a bootstrap interval over seeds and tasks."""
    complete = [r for r in rows if tasks and all(r.cells[t].mean is not None for t in tasks)]
    complete_ids = {id(r) for r in complete}
    for t in tasks:
        vals = pd.Series([r.cells[t].mean for r in complete], dtype=float)
        ranks = vals.rank(ascending=False, method="average")
        for r, k in zip(complete, ranks):
            r.cells[t].rank = float(k)
    intervals = unc.rank_intervals({r.slug: {t: r.cells[t].values for t in tasks} for r in complete},
                                   n_boot=N_BOOT, seed=BOOT_SEED) if complete else {}
    for r in rows:
        if id(r) in complete_ids:
            r.mean_rank = sum(r.cells[t].rank for t in tasks) / len(tasks)  # type: ignore[misc]
            r.mean_rank_reason = f"mean of {len(tasks)} task ranks among {len(complete)} complete rows"
            ci = intervals.get(r.slug)
            r.rank_ci95 = None if ci is None else [round(ci[0], 4), round(ci[1], 4)]
        else:
            missing = [t for t in tasks if r.cells[t].mean is None]
            r.mean_rank = None
            r.mean_rank_reason = (f"not ranked: {len(missing)} of {len(tasks)} declared tasks missing "
                                  f"({', '.join(missing)}); ranks are computed only over rows with every declared task"
                                  if tasks else "not ranked: the track declares no tasks")


def _ties(rows: list[Row]) -> None:
    """Mark adjacent ranked rows (in display order) whose rank intervals overlap."""
    ranked = [r for r in rows if r.mean_rank is not None]
    tied = unc.tied_adjacent([r.slug for r in ranked],
                             {r.slug: (tuple(r.rank_ci95) if r.rank_ci95 else None) for r in ranked},
                             {r.slug: float(r.mean_rank) for r in ranked})  # type: ignore[arg-type]
    for r in ranked:
        r.tied_with = tied[r.slug]


def _normalize(rows: list[Row], track: Track) -> None:
    for r in rows:
        for t, c in r.cells.items():
            chance = track.chance.get(t)
            if c.mean is not None and chance is not None:
                v = normalized(c.mean, chance)
                c.norm_score = None if v is None else round(v, 4)
        scores = [r.cells[t].norm_score for t in track.declared_tasks]
        if track.declared_tasks and all(s is not None for s in scores):
            r.norm_mean = round(sum(scores) / len(scores), 4)  # type: ignore[arg-type]


def _controls_for(row: Row) -> tuple[str, ...]:
    family = " ".join(row.meta.get("model_family", []))
    if "pretrained" not in family:
        return ()
    return FINETUNED_CONTROLS if family.startswith("finetuned") else FROZEN_CONTROLS


def run_command(task: str, model: str, backbone: str | None, profile: str, seeds: list[int],
                changes: dict[str, Any]) -> str:
    """The command that runs a missing control, with the same budget changes as its pretrained row."""
    parts = ["fptbench", "run", "--task", task, "--model", model]
    if backbone and backbone != "none":
        parts += ["--backbone", backbone]
    parts += ["--profile", profile]
    for k, v in sorted(changes.items()):
        if k == "steps":
            parts += ["--max-steps", str(v)]
        elif k not in ("lr", "profile", "model"):  # the control uses its own adapter's lr, like its profile
            parts += ["--budget", f"{k}={json.dumps(v)}"]
    seed_list = seeds or [0]
    if len(seed_list) == 1:
        return " ".join(parts + ["--seed", str(seed_list[0])])
    return f"for s in {' '.join(map(str, seed_list))}; do {' '.join(parts)} --seed $s; done"


def _gains(rows: list[Row], track: Track) -> None:
    """Pair each pretrained-transformer row with its controls and compute per-task gains."""
    for row in rows:
        controls = _controls_for(row)
        if not controls:
            continue
        row.is_pretrained = True
        row.controls = list(controls)
        for k, control_model in enumerate(controls):
            want_bb = "none" if control_model in NO_BACKBONE_CONTROLS else row.backbone
            match = [r for r in rows if r.model == control_model and r.backbone == want_bb and not r.options
                     and r.profile_label == row.profile_label and r.source == "harness"]
            control = match[0] if match else None
            for t in track.tasks:
                cell = row.cells[t]
                if cell.mean is None:
                    continue
                cmd = run_command(t, control_model, want_bb, row.profile, cell.seeds,
                                  row.budget_changes.get(t, {}))
                ccell = control.cells[t] if control else None
                if ccell is None or ccell.mean is None:
                    why = "never run" if ccell is None else ccell.reason
                    g = GainVs(control_model, control.slug if control else None, None, None, 0,
                               f"control '{control_model}' missing ({why}); run: {cmd}")
                else:
                    both = [s for s in cell.seeds if s in ccell.seeds]
                    if not both:
                        g = GainVs(control_model, control.slug, None, None, 0,  # type: ignore[union-attr]
                                   f"no seed in common with control '{control_model}' (seeds {cell.seeds} vs "
                                   f"{ccell.seeds}); run: {cmd}")
                    else:
                        a = [cell.values[cell.seeds.index(s)] for s in both]
                        b = [ccell.values[ccell.seeds.index(s)] for s in both]
                        mean, ci = unc.paired_diff_ci(a, b, n_boot=N_BOOT, seed=BOOT_SEED)
                        g = GainVs(control_model, control.slug, mean,  # type: ignore[union-attr]
                                   None if ci is None else [ci[0], ci[1]], len(both),
                                   "" if len(both) == len(cell.seeds) else
                                   f"paired over seeds {both} only (control lacks {sorted(set(cell.seeds) - set(both))})")
                cell.gains[control_model] = g
                if k == 0:
                    cell.gain, cell.gain_ci95, cell.control = g.gain, g.gain_ci95, g.control
        primary = controls[0]
        gains = [row.cells[t].gains.get(primary) for t in track.declared_tasks]
        if track.declared_tasks and all(g is not None and g.gain is not None for g in gains):
            row.mean_gain = round(sum(g.gain for g in gains) / len(gains), 6)  # type: ignore[union-attr,misc]


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
    key_cols = ["model", "backbone", "profile", "modified", "options", "source"]
    rows: list[Row] = []
    for key, g in tr.groupby(key_cols, sort=True):
        model, backbone, profile, modified, options, source = key
        label = profile + ("*" if modified else "")
        cells = {t: _cell(t, metrics[t], g[g.task == t]) for t in tasks}
        changes_d = {t: c.budget_changes for t, c in cells.items() if c.budget_changes}
        rows.append(Row(
            slug=slugify(name, model, backbone, label, options, source), track=name, model=model,
            backbone=backbone, profile=profile, profile_label=label, budget_changes=changes_d,
            options=json.loads(options), source=source, submitted_by=_submitted_name(source), cells=cells,
            coverage=sum(c.mean is not None for t, c in cells.items() if t in declared), mean_rank=None,
            mean_rank_reason="", meta=_meta(g),
        ))
    _rank(rows, declared)
    _normalize(rows, track)
    _gains(rows, track)
    rows.sort(key=lambda r: (r.mean_rank is None, r.mean_rank or 0.0, -r.coverage, r.model, r.backbone, r.slug))
    _ties(rows)
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


def _tuned_runs(runs: pd.DataFrame, notes: list[str]) -> pd.DataFrame | None:
    """Runs at the lr chosen on validation by the tuning protocol (``benchmark.selection.select``).

    Only configurations that tried at least two learning rates on the same grid as their rivals
    (``same_grid``) count as tuned: a grid of one lr is the fixed-lr result, already in its track.
    """
    try:
        from benchmark.selection import run_table, select
    except ImportError:
        return None
    try:
        sel = select(runs)
        table = run_table(runs)
    except Exception as exc:  # a selection that fails must not take the leaderboard down with it
        notes.append(f"tuned track not shown: benchmark.selection.select failed ({type(exc).__name__}: {exc})")
        return None
    if sel.empty or table.empty:
        return None
    sel = sel[sel.same_grid.astype(bool) & sel.lr_selected.notna() & (sel.lrs_tried.map(len) >= 2)]
    keys = ["task", "model", "backbone", "preset", "profile", "task_version", "options", "budget_steps"]
    ids: set[str] = set()
    for s in sel.itertuples(index=False):
        m = table
        for k in keys:
            m = m[m[k] == getattr(s, k)]
        m = m[m.lr.map(lambda x: math.isclose(float(x), float(s.lr_selected), rel_tol=1e-9)) & m.seed.isin(s.seeds)]
        ids |= set(m.run_id)
    return runs[runs.run_id.isin(ids)] if ids else None


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
    """Aggregate the runs tables of ``results`` directories into tracks of ranked rows.

    ``select`` (tests) replaces the tuning protocol: runs table in, the tuned track's runs out."""
    dirs = list(results)
    runs = prefer_harness(read_table(dirs, "runs"))
    per_run = _run_frame(runs)
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
    chosen = select(runs) if select is not None else _tuned_runs(runs, notes)
    if chosen is not None:
        tuned = _run_frame(chosen, ignore=("train_fraction", "lr"))
        if not tuned.empty:
            tuned["modified"] = tuned.budget_changes != "{}"
            tuned = tuned[tuned.train_fraction >= 1.0]
            tracks.append(_build_track(TUNED_TRACK, tuned))
    for t in tracks:
        _verification(dirs, t.rows, notes)
    return Leaderboard(tracks, int(per_run.run_id.nunique()), sorted(per_run.source.unique()), UNIT,
                       dict(DEFINITIONS), _efficiency(per_run), notes)
