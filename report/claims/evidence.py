"""From the runs table to the per-seed numbers a claim compares, and the commands for what is missing.

A claim is checked on one *group*: a profile and the language-pretrained backbone its FPT runs used
(``minilm-l6`` standing in for GPT-2 on CPU, ``gpt2`` under the paper protocol). Every number a
claim shows comes from that group only, so a CPU stand-in number never reads as GPT-2.

Which runs fill a row (same rules as the report's tables, ``report/compute.py``): ``status ==
"finished"``, the row's model and backbone, model options exactly equal to the row's (so an
ablation ``preset=+ln`` run never leaks into the plain FPT row), and, for the plain rows, the
profile's own learning rate: runs of a learning-rate grid (``--budget lr=...``) feed only the
tuned-lr claim. Two finished configs for one seed, or runs of two task fingerprints, make the row
missing with the conflict as the reason, never a silent pick.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Mapping

import pandas as pd

from benchmark.errors import FptError

from ..compute import Group, dedupe_runs, empty_reason, profile_lr, same_lr, task_absence_reason
from ..metrics import main_metric_row
from ..paper import paper_value

PROFILE_ORDER = ("paper", "cpu-long", "cpu")  # which group heads the claims (README): most faithful first
DEFAULT_PROFILE = "cpu-long"  # what a command for a missing run uses when there are no runs at all
DEFAULT_BACKBONE = "minilm-l6"
IMAGE_BACKBONES = ("vit-base", "dinov2-s")  # the image-pretrained row: the paper's ViT if run, else the stand-in
PROFILE_LR = "profile"  # RowKey.lr: the profile's own learning rate for the (task, model)
ANY_LR = "any"  # RowKey.lr: every learning rate (the tuned-lr claim selects among them)


@dataclass(frozen=True)
class RowKey:
    """Which runs a claim compares: a model on a backbone (``None``: the group's) with exact options."""

    model: str
    backbone: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    lr: str | float = PROFILE_LR

    @staticmethod
    def of(model: str, backbone: str | None = None, lr: str | float = PROFILE_LR, **options: Any) -> "RowKey":
        return RowKey(model, backbone, tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in options.items())), lr)

    def options_dict(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.options}


@dataclass
class Row:
    """Per-seed values of one row on one task, or why there are none."""

    values: dict[int, float] = field(default_factory=dict)
    missing: str = ""  # non-empty: why there is no value (never run, needs data, conflict, diverged ...)
    runs: pd.DataFrame | None = None  # the run records behind it (one per seed)

    @property
    def ok(self) -> bool:
        return not self.missing and bool(self.values)

    def precisions(self, seeds: list[int] | None = None) -> dict[int, str]:
        """seed -> what its run computed in ('' where not recorded), for ``seeds`` (default: all)."""
        if self.runs is None or "precision" not in self.runs:
            return {}
        out = {int(s): str(p or "") for s, p in zip(self.runs.seed, self.runs.precision)}
        return {s: p for s, p in out.items() if seeds is None or s in seeds}


def _options_key(options: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), json.dumps(v, sort_keys=True)) for k, v in dict(options).items()))


def run_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One record per run: identity, status, options, learning rate, budget and its test outcome."""
    cols = ["run_id", "status", "task", "model", "backbone", "seed", "profile", "options", "lr", "budget_steps",
            "eval_every", "task_fingerprint", "config_hash", "stand_in_for", "pretrained_on", "source",
            "test_value", "val_value", "steps_to_threshold", "steps_trained", "precision"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    runs = dedupe_runs(runs)
    recs = []
    for run_id, rows in runs.groupby("run_id", sort=True):
        first = rows.iloc[0]
        config = json.loads(first.config) if isinstance(first.config, str) and first.config else {}
        budget = config.get("budget", {})
        test = val = math.nan
        stt, trained = None, int(first.steps_trained)
        if first.status == "finished":
            t = main_metric_row(rows, "test")
            test = float(t.value)
            stt = None if pd.isna(t.steps_to_threshold) else int(t.steps_to_threshold)
            val = float(main_metric_row(rows, "val").value)
        recs.append({
            "run_id": run_id, "status": first.status, "task": first.task, "model": first.model,
            "backbone": first.backbone, "seed": int(first.seed), "profile": first.profile,
            "options": _options_key(config.get("model_options", {})), "lr": float(budget.get("lr", math.nan)),
            "budget_steps": int(budget.get("steps", -1)), "eval_every": int(budget.get("eval_every", -1)),
            "task_fingerprint": first.task_fingerprint, "config_hash": first.config_hash,
            "stand_in_for": first.stand_in_for or "", "pretrained_on": first.pretrained_on or "",
            "source": first.source if isinstance(first.source, str) else "harness",
            "test_value": test, "val_value": val, "steps_to_threshold": stt, "steps_trained": trained,
            "precision": str(first.precision) if "precision" in rows and isinstance(first.precision, str) else "",
        })
    return pd.DataFrame(recs, columns=cols)


def claim_groups(rec: pd.DataFrame) -> list[Group]:
    """The (profile, language backbone) groups with FPT runs; a placeholder when there are none.

    Ordered paper protocol first, then ``cpu-long``, ``cpu``, then other profiles by name: the first
    group is the headline (README).
    """
    fpt = rec[(rec.model == "fpt") & (rec.source == "harness")]  # plain or preset (ablation) runs
    fpt = fpt[fpt.pretrained_on.str.lower().str.startswith("language")]
    pairs = sorted({(p, b) for p, b in zip(fpt.profile, fpt.backbone)},
                   key=lambda pb: (PROFILE_ORDER.index(pb[0]) if pb[0] in PROFILE_ORDER else len(PROFILE_ORDER), pb))
    out = []
    for profile, backbone in pairs:
        stand = sorted(v for v in fpt[(fpt.profile == profile) & (fpt.backbone == backbone)].stand_in_for.unique() if v)
        out.append(Group(profile, backbone, stand[0] if stand else ""))
    return out or [Group(DEFAULT_PROFILE, DEFAULT_BACKBONE, "gpt2")]


class ClaimContext:
    """What a claim reads: the runs of one group, per-seed rows, absence reasons and run commands."""

    def __init__(self, rec: pd.DataFrame, group: Group, absence: Mapping[str, str] | None = None,
                 results_hint: str = "RESULTS", select: Any = None, raw_runs: pd.DataFrame | None = None) -> None:
        self.rec = rec[(rec.profile == group.profile) & (rec.source == "harness")]
        self.raw_runs = raw_runs if raw_runs is not None else pd.DataFrame(columns=["run_id"])  # what the selector reads
        self.group = group
        self.absence = dict(absence or {})
        self.results_hint = results_hint
        self._select = select  # the tuned-lr selector (benchmark.selection.select by default)

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
        """The image-pretrained backbone with FPT runs in this profile (the paper's ViT first), else the stand-in."""
        have = set(self.rec[self.rec.model == "fpt"].backbone)
        return next((b for b in IMAGE_BACKBONES if b in have), IMAGE_BACKBONES[-1])

    def runs_of(self, task: str, key: RowKey) -> pd.DataFrame:
        r = self.rec
        # a row without a pinned backbone takes the group's, or "none" for backbone-free models (the LSTM),
        # as the report's tables do
        backbones = [key.backbone] if key.backbone is not None else [self.group.backbone, "none"]
        m = (r.task == task) & (r.model == key.model) & r.backbone.isin(backbones)
        m &= r.options.map(lambda o: o == key.options)
        mine = r[m]
        if key.lr == PROFILE_LR:
            want = profile_lr(self.group.profile, task, key.model)
            if want is not None:
                mine = mine[same_lr(mine.lr, want)]
        elif key.lr != ANY_LR:
            mine = mine[same_lr(mine.lr, float(key.lr))]
        return mine

    def row(self, task: str, key: RowKey, column: str = "test_value", scale: float = 100.0) -> Row:
        """Per-seed ``column`` (test accuracy in % by default) of finished runs, or the reason there is none."""
        mine = self.runs_of(task, key)
        if mine.empty:
            return Row(missing=empty_reason(self.group.profile, task, key.model, self.absence))
        if mine.task_fingerprint.nunique() > 1:
            return Row(missing=f"conflict: runs of {mine.task_fingerprint.nunique()} task fingerprints")
        fin = mine[mine.status == "finished"]
        if fin.empty:
            return Row(missing=f"no finished run ({', '.join(sorted(set(mine.status)))})", runs=mine)
        dup = fin.groupby("seed").config_hash.nunique()
        if (dup > 1).any():
            return Row(missing=f"conflict: several configs for seed {int(dup[dup > 1].index[0])}", runs=fin)
        if column == "test_value":
            bad = fin[~fin.test_value.map(math.isfinite)]
            if len(bad):
                return Row(missing=f"test metric not finite for seed {int(bad.seed.iloc[0])}", runs=fin)
            values = {int(s): float(v) * scale for s, v in zip(fin.seed, fin.test_value)}
        else:
            values = {int(s): (None if v is None or (isinstance(v, float) and math.isnan(v)) else v)
                      for s, v in zip(fin.seed, fin[column])}
        return Row(values=values, runs=fin)

    def early_training(self, task: str) -> str:
        """'' when this group's FPT runs on ``task`` trained at least as long as the paper's FPT took to
        converge (Table 6), or every plain FPT run reached the task's threshold; else a note saying the
        verdict is about early training. A "does not hold" at 600 steps of a task the paper trained for
        10,000 says something about 600 steps, not about the paper."""
        fpt = self.rec[(self.rec.task == task) & (self.rec.model == "fpt") & (self.rec.backbone == self.group.backbone)]
        paper = paper_value("table6", "fpt", task)
        if fpt.empty or paper is None:
            return ""
        steps = int(fpt.budget_steps.max())
        plain = fpt[(fpt.options.map(len) == 0) & (fpt.status == "finished")]
        if steps >= paper.value or (len(plain) and plain.steps_to_threshold.notna().all()):
            return ""
        return (f"early training: FPT trained {steps:,} steps here, the paper's converged in {paper.value:,.0f} "
                f"(Table 6, {paper.source})")

    # -- commands ------------------------------------------------------------------------------
    def run_command(self, task: str, key: RowKey, seeds: tuple[int, ...] = (0, 1, 2), lr: float | None = None) -> str:
        """The exact ``fptbench run`` (a loop over seeds) that would fill ``key`` on ``task`` in this group."""
        parts = ["fptbench", "run", "--task", task, "--model", key.model]
        backbone = self.backbone_of(key)
        if backbone != "none":
            parts += ["--backbone", backbone]
        parts += ["--profile", self.group.profile]
        for k, v in key.options_dict().items():
            parts += ["--option", f"{k}={v if isinstance(v, str) else json.dumps(v)}"]
        fixed = profile_lr(self.group.profile, task, key.model)
        if lr is not None and (fixed is None or not same_lr(lr, fixed)):
            parts += ["--budget", f"lr={lr:g}"]  # the profile's own lr needs no override (same run, same hash)
        parts += ["--results", self.results_hint]
        cmd = " ".join(shlex.quote(p) for p in parts)
        if len(seeds) == 1:
            return f"{cmd} --seed {seeds[0]}"
        return f"for s in {' '.join(map(str, seeds))}; do {cmd} --seed $s; done"

    def data_command(self, task: str) -> str | None:
        """``fptbench data prepare ...`` when the missing reason is absent data (taken from the reason)."""
        reason = self.absence.get(task) or task_absence_reason(task)
        found = re.search(r"fptbench data prepare [\w.-]+", reason)
        return found.group(0) if found else None

    def missing_commands(self, task: str, key: RowKey, row: Row, want_seeds: int = 3,
                         lrs: tuple[float, ...] | None = None) -> list[str]:
        """Commands that would give ``key`` on ``task`` ``want_seeds`` finished seeds (and every lr of a grid)."""
        cmds = []
        data = self.data_command(task)
        if data:
            cmds.append(data)
        have = set(row.values) if row.ok else set()
        seeds = tuple(s for s in range(want_seeds) if s not in have) or tuple(range(want_seeds))
        for lr in (lrs or (None,)):
            cmds.append(self.run_command(task, key, seeds, lr))
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
