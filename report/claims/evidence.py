"""From the run view to the rows a claim compares, each with its status: trained, converged, budget.

A claim is checked per language-pretrained backbone (``minilm-l6`` standing in for GPT-2 on CPU,
``gpt2`` under the paper protocol), with **every profile** of the results as evidence: a row is one
(profile, task, model, options, lr), and a comparison compares rows of one profile (matched seeds).
The rules (``report.claims.rules``) choose per task the comparison with the longest budget.

Runs come from ``benchmark.runview`` (the one per-run table): the harness's finished runs on the
whole training split (runs on a fraction belong to the data-efficiency page), the row's model and
backbone, options exactly equal to the row's (a ``preset=+ln`` run never fills the plain FPT row),
and, for the plain rows, the profile's own learning rate (grid runs feed the tuned-lr claims). Two
configs for one seed, or two task fingerprints, make the row missing with the conflict as reason.

Status of a row, computed from the runs (never assumed):

- **trained**: no seed predicts a single class (at least ``SINGLE_CLASS_SHARE`` of its test
  predictions one value, read from ``predictions/``), and no seed's test accuracy is within
  ``TRAINED_MARGIN`` points of the task's majority-class rate (the highest test accuracy of a
  single-class run of the task in these results: what a constant prediction scores);
- **converged**: every seed reached the task's validation threshold, or the row trained at least the
  paper's convergence budget (Table 6: FPT's steps; random-frozen's own), or its mean validation curve
  is flat by ``report.plateau.converged_curve``; otherwise it is *early training*;
- **at the ceiling**: its mean is within ``CEILING_MARGIN`` of 100%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from benchmark.errors import FptError
from benchmark.run_command import run_command
from benchmark.runview import HARNESS, RunView, options_key, profile_lr, same_lr, view_of

from ..reasons import empty_reason, task_absence_reason
from ..paper_values import paper_value
from ..plateau import converged_curve, cost_to_train

PROFILE_ORDER = ("paper", "cpu-long", "cpu-converge", "cpu")  # the profile a missing row's command uses: first present
DEFAULT_PROFILE = "cpu-long"  # what a command for a missing run uses when there are no runs at all
DEFAULT_BACKBONE = "minilm-l6"
IMAGE_BACKBONES = ("vit-base", "dinov2-s")  # the image-pretrained row: the paper's ViT if run, else the stand-in
PROFILE_LR = "profile"  # RowKey.lr: the profile's own learning rate for the (task, model)
ANY_LR = "any"  # RowKey.lr: every learning rate (the tuned-lr claims select among them)

SINGLE_CLASS_SHARE = 0.99  # a seed whose test predictions are this much one value did not train
TRAINED_MARGIN = 1.0  # points: a seed this close to the majority-class rate did not train
CEILING = 100.0  # % accuracy
CEILING_MARGIN = 0.5  # points: a row at or above CEILING - this is at the ceiling


@dataclass(frozen=True)
class ClaimGroup:
    """What the claims are checked on: a language backbone, with every profile that has its runs."""

    backbone: str
    stand_in_for: str = ""
    profiles: tuple[str, ...] = ()
    # False: a backbone a registered profile plans claims runs on, with no run in these results (its
    # claims read open, "no runs"; ``profiles`` then names the profiles that would run it)
    has_runs: bool = True

    @property
    def profile(self) -> str:  # the README names the profiles it read
        return ", ".join(self.profiles)

    @property
    def label(self) -> str:
        stand = f" (stand-in for {self.stand_in_for})" if self.stand_in_for else ""
        profiles = ", ".join(f"`{p}`" for p in self.profiles)
        return f"backbone `{self.backbone}`{stand}, profiles {profiles}"


Group = ClaimGroup  # the name older callers import


@dataclass(frozen=True)
class RowKey:
    """Which runs a claim compares: a model on a backbone (``None``: the group's) with exact options."""

    model: str
    backbone: str | None = None
    options: str = "{}"  # benchmark.runview.options_key of the model options
    lr: str | float = PROFILE_LR

    @staticmethod
    def of(model: str, backbone: str | None = None, lr: str | float = PROFILE_LR, **options: Any) -> "RowKey":
        return RowKey(model, backbone, options_key(options), lr)

    def options_dict(self) -> dict[str, Any]:
        import json

        return json.loads(self.options)


@dataclass
class Row:
    """Per-seed values of one row (one profile, task, key), its budget and status, or why there are none."""

    values: dict[int, float] = field(default_factory=dict)
    missing: str = ""  # non-empty: why there is no value (never run, needs data, conflict, diverged ...)
    runs: pd.DataFrame | None = None  # the run records behind it (one per seed)
    profile: str = ""
    budget: int = 0  # steps trained (the largest over its seeds)
    trained: bool = True
    trained_note: str = ""
    converged: bool = True
    converged_note: str = ""

    @property
    def ok(self) -> bool:
        return not self.missing and bool(self.values)

    def mean(self, seeds: Iterable[int] | None = None) -> float:
        vals = [self.values[s] for s in (seeds if seeds is not None else self.values) if self.values.get(s) is not None]
        return sum(vals) / len(vals) if vals else math.nan

    def at_ceiling(self, seeds: Iterable[int] | None = None) -> bool:
        return self.mean(seeds) >= CEILING - CEILING_MARGIN

    def status(self) -> str:
        """``trained; converged`` in words (what a details page shows next to the row)."""
        parts = [("" if self.trained else "did not train: ") + (self.trained_note or ("trained" if self.trained else "")),
                 ("" if self.converged else "early training: ") + (self.converged_note or ("converged" if self.converged else ""))]
        return "; ".join(parts)

    def precisions(self, seeds: list[int] | None = None) -> dict[int, str]:
        """seed -> what its run computed in ('' where not recorded), for ``seeds`` (default: all)."""
        if self.runs is None or "precision" not in self.runs:
            return {}
        out = {int(s): str(p or "") for s, p in zip(self.runs.seed, self.runs.precision)}
        return {s: p for s, p in out.items() if seeds is None or s in seeds}


def records(runs: "pd.DataFrame | RunView") -> pd.DataFrame:
    """The run view's rows the claims read: harness runs on the whole training split, with the claim names
    for the outcome columns (``test_value``, ``val_value``)."""
    rec = view_of(runs).runs
    rec = rec[(rec.source == HARNESS) & (rec.train_fraction >= 1.0)]
    return rec.rename(columns={"test": "test_value", "val": "val_value", "options_key": "okey"}).reset_index(drop=True)


def claim_groups(rec: pd.DataFrame, planned: Mapping[str, tuple[str, ...]] | None = None) -> list[ClaimGroup]:
    """One group per language-pretrained backbone with FPT runs (a placeholder when there are none), each
    with the profiles holding its runs (or the LSTM's), most faithful profile first; then one group without
    runs per ``planned`` backbone (backbone -> the profiles planning it, ``planned_backbones``) not among them.
    What a backbone stands in for is what its runs recorded from its registration, never typed here."""
    fpt = rec[(rec.model == "fpt") & rec.pretrained_on.str.lower().str.startswith("language")]
    out = []
    for backbone in sorted(set(fpt.backbone), key=backbone_order):
        mine = fpt[fpt.backbone == backbone]
        stand = sorted(v for v in mine.stand_in_for.unique() if v)
        have = set(rec[rec.backbone.isin([backbone, "none"])].profile)
        out.append(ClaimGroup(backbone, stand[0] if stand else "", order_profiles(have)))
    out = out or [ClaimGroup(DEFAULT_BACKBONE, "", (DEFAULT_PROFILE,))]
    seen = {g.backbone for g in out}
    out += [ClaimGroup(b, "", tuple(profiles), has_runs=False)
            for b, profiles in sorted((planned or {}).items(), key=lambda kv: backbone_order(kv[0])) if b not in seen]
    return out


def backbone_order(backbone: str) -> tuple[bool, str]:
    """The headline backbone (the one every committed verdict started on) first, then by name."""
    return backbone != DEFAULT_BACKBONE, backbone


def order_profiles(profiles: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(profiles), key=lambda p: (PROFILE_ORDER.index(p) if p in PROFILE_ORDER
                                                      else len(PROFILE_ORDER), p)))


def paper_budget(task: str, model: str) -> int | None:
    """Steps the paper's model took to converge on ``task`` (Table 6): random-frozen's own row, else FPT's."""
    value = paper_value("table6", "random" if model == "random-frozen" else "fpt", task)
    return None if value is None else int(value.value)


class RunEvidence:
    """What status needs beyond the runs table: validation curves and test predictions, read once.

    ``curves``: the curves table (``read_table(dirs, "curves")``); ``predictions``: a predictions table,
    or None to read ``<dir>/predictions/<run_id>.parquet`` from ``dirs`` when a run is first asked about.
    A run with no stored predictions is not checked for single-class output (its note says so).
    """

    def __init__(self, rec: pd.DataFrame, curves: pd.DataFrame | None = None,
                 predictions: pd.DataFrame | None = None, dirs: Iterable[Path | str] = ()) -> None:
        self.rec = rec
        self.dirs = [Path(d) for d in dirs]
        if curves is None:
            from benchmark.results import read_table

            curves = read_table(self.dirs, "curves") if self.dirs else pd.DataFrame()
        if not curves.empty:
            curves = curves.drop_duplicates(["run_id", "step", "split", "metric"], keep="first")
            curves = curves[(curves.split == "val") & (curves.metric != "loss")]
        self.curves = curves
        self.predictions = predictions
        self._share: dict[str, float | None] = {}
        self._majority: dict[str, float | None] = {}

    def single_class_share(self, run_id: str) -> float | None:
        """The share of the most frequent predicted value among a run's test predictions (None: not stored)."""
        if run_id not in self._share:
            self._share[run_id] = _share(self._predictions_of(run_id))
        return self._share[run_id]

    def _predictions_of(self, run_id: str) -> pd.DataFrame | None:
        if self.predictions is not None:
            return self.predictions[self.predictions.run_id == run_id]
        for d in self.dirs:
            path = d / "predictions" / f"{run_id}.parquet"
            if path.is_file():
                return pd.read_parquet(path)
        return None

    def majority_rate(self, task: str) -> float | None:
        """% accuracy a constant prediction scores on ``task``: the best single-class run's (None: none seen)."""
        if task not in self._majority:
            fin = self.rec[(self.rec.task == task) & (self.rec.status == "finished")]
            rates = [100.0 * float(t) for rid, t in zip(fin.run_id, fin.test_value)
                     if math.isfinite(float(t)) and (self.single_class_share(rid) or 0.0) >= SINGLE_CLASS_SHARE]
            self._majority[task] = max(rates) if rates else None
        return self._majority[task]

    def curve(self, run_ids: list[str]) -> pd.DataFrame:
        """Mean validation curve (main metric, %) over runs, at the steps every run evaluated."""
        if self.curves.empty:
            return pd.DataFrame(columns=["step", "value_mean", "metric"])
        c = self.curves[self.curves.run_id.isin(run_ids)]
        if c.empty:
            return pd.DataFrame(columns=["step", "value_mean", "metric"])
        per = c.groupby("step").agg(n=("run_id", "nunique"), value_mean=("value", "mean"), metric=("metric", "first"))
        per = per[per.n == len(set(run_ids))].reset_index()
        scale = 100.0 if (per.metric == "accuracy").all() else 1.0
        return per.assign(value_mean=per.value_mean * scale)[["step", "value_mean", "metric"]]


def _share(pred: pd.DataFrame | None) -> float | None:
    if pred is None or pred.empty:
        return None
    test = pred[pred.split == "test"] if "split" in pred else pred
    if test.empty:
        return None
    import numpy as np

    values = np.concatenate([np.ravel(np.asarray(p, dtype=object)) for p in test.prediction]).astype(str)
    if not values.size:
        return None
    _, counts = np.unique(values, return_counts=True)
    return float(counts.max()) / float(values.size)


def _seeds_text(seeds: Iterable[int]) -> str:
    s = sorted(seeds)
    return f"seed{'s' if len(s) != 1 else ''} {', '.join(map(str, s))}"


class ClaimContext:
    """What a claim reads on one backbone: rows of every profile with their status, and run commands."""

    tunes_plain_rows = True  # claim 2's from-scratch row takes its validation-selected lr where a grid exists

    def __init__(self, rec: pd.DataFrame, group: ClaimGroup, absence: Mapping[str, str] | None = None,
                 results_hint: str = "RESULTS", select: Any = None, raw_runs: pd.DataFrame | None = None,
                 evidence: RunEvidence | None = None) -> None:
        self.rec = rec
        self.raw_runs = raw_runs if raw_runs is not None else pd.DataFrame(columns=["run_id"])  # what the selector reads
        self.group = group
        self.absence = dict(absence or {})
        self.results_hint = results_hint
        self._select = select  # the tuned-lr selector (benchmark.selection.select by default)
        self.evidence = evidence or RunEvidence(rec)

    @property
    def profiles(self) -> tuple[str, ...]:
        return self.group.profiles or (DEFAULT_PROFILE,)

    @property
    def command_profile(self) -> str:
        """The profile a command for a missing row names: the most faithful one these results hold."""
        return self.profiles[0]

    # -- rows ----------------------------------------------------------------------------------
    def backbone_of(self, key: RowKey) -> str:
        if key.backbone is not None:
            return key.backbone
        from benchmark.model import MODELS

        try:
            uses = getattr(MODELS.get(key.model), "uses_backbone", True)
        except FptError:
            uses = True
        return self.group.backbone if uses else "none"

    def image_backbone(self) -> str:
        """The image-pretrained backbone with FPT runs here (the paper's ViT first), else the stand-in."""
        have = set(self.rec[self.rec.model == "fpt"].backbone)
        return next((b for b in IMAGE_BACKBONES if b in have), IMAGE_BACKBONES[-1])

    def runs_of(self, task: str, key: RowKey, profile: str) -> pd.DataFrame:
        r = self.rec
        backbones = [key.backbone] if key.backbone is not None else [self.group.backbone, "none"]
        mine = r[(r.profile == profile) & (r.task == task) & (r.model == key.model) & r.backbone.isin(backbones)
                 & (r.okey == key.options)]
        if key.lr == PROFILE_LR:
            want = profile_lr(profile, task, key.model)
            if math.isfinite(want):
                mine = mine[same_lr(mine.lr, want)]
        elif key.lr != ANY_LR:
            mine = mine[same_lr(mine.lr, float(key.lr))]
        return mine

    def has_row(self, task: str, key: RowKey, profile: str) -> bool:
        return not self.runs_of(task, key, profile).empty

    def row(self, task: str, key: RowKey, profile: str, column: str = "test_value", scale: float = 100.0) -> Row:
        """Per-seed ``column`` (test accuracy in % by default) of finished runs with the row's status."""
        cache = self.__dict__.setdefault("_rows", {})
        if (task, key, profile, column, scale) not in cache:
            cache[(task, key, profile, column, scale)] = self._row(task, key, profile, column, scale)
        return cache[(task, key, profile, column, scale)]

    def _row(self, task: str, key: RowKey, profile: str, column: str, scale: float) -> Row:
        mine = self.runs_of(task, key, profile)
        if mine.empty:
            return Row(missing=empty_reason(profile, task, key.model, self.absence), profile=profile)
        if mine.task_fingerprint.nunique() > 1:
            return Row(missing=f"conflict: runs of {mine.task_fingerprint.nunique()} task fingerprints", profile=profile)
        fin = mine[mine.status == "finished"]
        if fin.empty:
            return Row(missing=f"no finished run ({', '.join(sorted(set(mine.status)))})", runs=mine, profile=profile)
        dup = fin.groupby("seed").config_hash.nunique()
        if (dup > 1).any():
            return Row(missing=f"conflict: several configs for seed {int(dup[dup > 1].index[0])}", runs=fin,
                       profile=profile)
        if column == "test_value":
            bad = fin[~fin.test_value.map(lambda v: math.isfinite(float(v)))]
            if len(bad):
                return Row(missing=f"test metric not finite for seed {int(bad.seed.iloc[0])}", runs=fin, profile=profile)
            values = {int(s): float(v) * scale for s, v in zip(fin.seed, fin.test_value)}
        else:
            values = {int(s): (None if v is None or (isinstance(v, float) and math.isnan(v)) else v)
                      for s, v in zip(fin.seed, fin[column])}
        row = Row(values=values, runs=fin, profile=profile, budget=int(fin.budget_steps.max()))
        self._status(task, key, row)
        return row

    def _status(self, task: str, key: RowKey, row: Row) -> None:
        fin = row.runs
        assert fin is not None
        tests = {int(s): 100.0 * float(v) for s, v in zip(fin.seed, fin.test_value)}
        single = [int(s) for s, rid in zip(fin.seed, fin.run_id)
                  if (self.evidence.single_class_share(rid) or 0.0) >= SINGLE_CLASS_SHARE]
        unknown = [int(s) for s, rid in zip(fin.seed, fin.run_id) if self.evidence.single_class_share(rid) is None]
        majority = self.evidence.majority_rate(task)
        at_majority = [s for s, v in tests.items() if majority is not None and abs(v - majority) <= TRAINED_MARGIN]
        failed = sorted(set(single) | set(at_majority))
        row.trained = not failed
        if failed:
            why = []
            if single:
                why.append(f"single-class predictions on {_seeds_text(single)}")
            if at_majority:
                why.append(f"within {TRAINED_MARGIN:g} pt of the majority-class rate {majority:.1f}% on "
                           f"{_seeds_text(at_majority)}")
            row.trained_note = "; ".join(why)
        else:
            row.trained_note = "trained" + (f" (no predictions stored for {_seeds_text(unknown)}: not checked)"
                                            if unknown else "")
        reached = fin.steps_to_threshold.map(lambda v: v is not None and math.isfinite(float(v)))
        paper = paper_budget(task, key.model)
        curve_ok, curve_text = converged_curve(self.evidence.curve(list(fin.run_id)))
        if len(fin) and reached.all():
            row.converged, row.converged_note = True, f"threshold reached on all {len(fin)} seeds"
        elif paper is not None and row.budget >= paper:
            row.converged, row.converged_note = True, f"trained the paper's convergence budget ({paper:,} steps)"
        elif curve_ok:
            row.converged, row.converged_note = True, f"validation curve {curve_text}"
        else:
            short = f", the paper's converged in {paper:,}{cost_to_train(paper, fin)}" if paper is not None else ""
            row.converged = False
            row.converged_note = f"{row.budget:,} steps{short}; validation curve {curve_text}"

    def rows_across(self, task: str, key: RowKey) -> dict[str, Row]:
        """The row in every profile that has runs of it (profile order)."""
        return {p: self.row(task, key, p) for p in self.profiles if self.has_row(task, key, p)}

    # -- commands ------------------------------------------------------------------------------
    def run_command(self, task: str, key: RowKey, seeds: tuple[int, ...] = (0, 1, 2), lr: float | None = None,
                    profile: str | None = None) -> str:
        """The exact ``fptbench run`` (a loop over seeds) that would fill ``key`` on ``task``."""
        profile = profile or self.command_profile
        fixed = profile_lr(profile, task, key.model)
        budget = {"lr": lr} if lr is not None and not (math.isfinite(fixed) and same_lr(lr, fixed)) else {}
        return run_command(task, key.model, profile, seeds, backbone=self.backbone_of(key),
                           options=key.options_dict(), budget=budget, results=self.results_hint)

    def data_command(self, task: str) -> str | None:
        """``fptbench data prepare ...`` when the missing reason is absent data (taken from the reason)."""
        import re

        reason = self.absence.get(task) or task_absence_reason(task)
        found = re.search(r"fptbench data prepare [\w.-]+", reason)
        return found.group(0) if found else None

    def missing_commands(self, task: str, key: RowKey, row: Row, want_seeds: int = 3,
                         lrs: tuple[float, ...] | None = None, profile: str | None = None) -> list[str]:
        """Commands that would give ``key`` on ``task`` ``want_seeds`` finished seeds (and every lr of a grid)."""
        cmds = []
        data = self.data_command(task)
        if data:
            cmds.append(data)
        have = set(row.values) if row.ok else set()
        seeds = tuple(s for s in range(want_seeds) if s not in have) or tuple(range(want_seeds))
        for lr in (lrs or (None,)):
            cmds.append(self.run_command(task, key, seeds, lr, profile or row.profile or None))
        return cmds

    # -- tuned learning rate ---------------------------------------------------------------------
    def selector(self):
        """The validation-based lr selector (``benchmark.selection.select``), or None when not installed."""
        if self._select is not None:
            return self._select
        try:
            from benchmark.selection import select  # type: ignore[import-not-found]
        except ImportError:
            return None
        return select

    def lrs_tried(self, task: str, model: str, profile: str) -> list[float]:
        runs = self.runs_of(task, RowKey.of(model, lr=ANY_LR), profile)
        return sorted(set(runs[runs.status == "finished"].lr))

    def tuned(self, task: str, model: str, profile: str) -> "tuple[float, list[float]] | str":
        """(lr selected on validation, rates it chose among) for (task, model) in ``profile``, or why none."""
        from .tuned import selected_lr

        return selected_lr(self, task, model, profile)
