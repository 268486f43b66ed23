"""Learning-rate selection on validation: the re-evaluation's protocol as one pure function.

``select(runs) -> DataFrame`` takes the runs table (``benchmark.results.read_table(dirs, "runs")``)
and returns one row per *configuration*: (task, model, backbone, preset) within one profile, task
version, set of other model options and budget (everything but the learning rate). For each, it
picks the learning rate whose **validation** metric (the best-validation checkpoint of each run,
as the trainer keeps it), averaged over seeds, is highest, and reports the **test** metric of the
same runs at that learning rate. Test numbers never influence the choice.

Rules:
- an lr is *eligible* only if every seed of the configuration finished at it (a diverged or missing
  seed makes it ineligible: an lr that works on some seeds only is not a setting anyone can use);
- ties in mean validation go to the smaller lr (the conservative choice), deterministically;
- the *fixed-lr* result is the same configuration at the profile's own lr for that (task, model)
  (the paper's lr under ``profile = "paper"``), or NaN when the grid did not run it;
- ``same_grid`` is True when every configuration of the same (task, profile, task version, budget)
  tried exactly the same (lr, seed) pairs: the condition for a fair, equal-budget comparison, and the
  filter the leaderboard's ``tuned`` track uses.

Columns (metric values are fractions as stored, e.g. accuracy 0.0..1.0, not percent):

=================  ===========================================================================
task, model        what ran
backbone, preset   ``preset`` is the ``preset`` model option, "" for none
profile            the budget profile; ``task_version`` the task's version
options            other model options as canonical JSON ("{}" for none; ``runview.options_key``)
budget_steps       steps per run
metric             the task's main metric (e.g. accuracy)
lr_selected        the chosen learning rate (NaN when no lr is eligible)
val_mean, val_sd   validation metric at ``lr_selected``: mean and sample sd (ddof=1) over seeds
test_mean, test_sd test metric at ``lr_selected``: mean and sample sd over seeds
n_seeds            seeds averaged at ``lr_selected``; ``seeds`` their sorted list
lrs_tried          every lr with a run (sorted list); ``lrs_eligible`` those eligible
n_diverged         diverged runs of this configuration, over all lrs
fixed_lr           the profile's lr for this (task, model); NaN if the profile is unknown
fixed_val_mean,    validation and test at ``fixed_lr`` (NaN when not run or not eligible)
fixed_test_mean,
fixed_test_sd,
fixed_n_seeds
same_grid          bool, see above
=================  ===========================================================================
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from .runview import REPLACED, RunView, profile_lr, same_lr, view_of

COLUMNS = ["task", "model", "backbone", "preset", "profile", "task_version", "options", "budget_steps", "metric",
           "lr_selected", "val_mean", "val_sd", "test_mean", "test_sd", "n_seeds", "seeds", "lrs_tried",
           "lrs_eligible", "n_diverged", "fixed_lr", "fixed_val_mean", "fixed_test_mean", "fixed_test_sd",
           "fixed_n_seeds", "same_grid"]
GROUP = ["task", "model", "backbone", "preset", "profile", "task_version", "task_fingerprint", "other_options",
         "budget_key"]
__all__ = ["COLUMNS", "profile_lr", "records", "select", "select_results"]


def _stats(rows: pd.DataFrame, column: str) -> tuple[float, float]:
    vals = rows[column].astype(float)
    mean = float(vals.mean()) if len(vals) else math.nan
    sd = float(vals.std(ddof=1)) if len(vals) > 1 else math.nan
    return mean, sd


def _eligible(at_lr: pd.DataFrame, seeds: set[int]) -> bool:
    fin = at_lr[at_lr.status == "finished"]
    return set(fin.seed) == seeds and len(at_lr) == len(fin) and bool(fin.val.map(math.isfinite).all())


def select(runs: "pd.DataFrame | RunView") -> pd.DataFrame:
    """The lr chosen on validation per configuration, with test at that choice and the fixed-lr result.

    ``runs``: the runs table or a run view (``benchmark.runview``); a submitted copy of a run the harness
    has itself does not count twice (the view's ``replaced`` policy)."""
    table = view_of(runs, REPLACED).runs
    if table.empty:
        return pd.DataFrame(columns=COLUMNS)
    rows: list[dict[str, Any]] = []
    for key, g in table.groupby(GROUP, sort=True, dropna=False):
        ident = dict(zip(GROUP, key))
        seeds = set(int(s) for s in g.seed)
        lrs = sorted(set(float(x) for x in g.lr))
        eligible = [lr for lr in lrs if _eligible(g[g.lr == lr], seeds)]
        best_lr, best_val = math.nan, -math.inf
        for lr in eligible:  # ascending, strict '>': ties keep the smaller lr
            mean = float(g[g.lr == lr].val.mean())
            if mean > best_val:
                best_lr, best_val = lr, mean
        chosen = g[g.lr == best_lr] if eligible else g.iloc[0:0]
        fixed = profile_lr(ident["profile"], ident["task"], ident["model"])
        at_fixed = g[same_lr(g.lr, fixed)] if math.isfinite(fixed) else g.iloc[0:0]
        fixed_ok = len(at_fixed) > 0 and _eligible(at_fixed, seeds)
        val_mean, val_sd = _stats(chosen, "val")
        test_mean, test_sd = _stats(chosen, "test")
        fv, _ = _stats(at_fixed, "val") if fixed_ok else (math.nan, math.nan)
        ft, fsd = _stats(at_fixed, "test") if fixed_ok else (math.nan, math.nan)
        fair_key = json.dumps([ident["task"], ident["profile"], ident["task_version"], ident["task_fingerprint"],
                               ident["budget_key"]])
        tried = json.dumps(sorted(zip(g.lr.astype(float).tolist(), g.seed.astype(int).tolist())))
        rows.append({
            "task": ident["task"], "model": ident["model"], "backbone": ident["backbone"], "preset": ident["preset"],
            "profile": ident["profile"], "task_version": ident["task_version"], "options": ident["other_options"],
            "budget_steps": int(g.budget_steps.iloc[0]), "metric": str(g.metric.iloc[0]),
            "lr_selected": best_lr, "val_mean": val_mean, "val_sd": val_sd, "test_mean": test_mean, "test_sd": test_sd,
            "n_seeds": int(len(chosen)), "seeds": sorted(int(s) for s in chosen.seed), "lrs_tried": lrs,
            "lrs_eligible": eligible, "n_diverged": int((g.status == "diverged").sum()), "fixed_lr": fixed,
            "fixed_val_mean": fv, "fixed_test_mean": ft, "fixed_test_sd": fsd,
            "fixed_n_seeds": int(len(at_fixed)) if fixed_ok else 0,
            "_fair_key": fair_key, "_tried": tried,
        })
    df = pd.DataFrame(rows)
    df["same_grid"] = df.groupby("_fair_key")["_tried"].transform(lambda s: s.nunique() == 1).astype(bool)
    return df[COLUMNS].reset_index(drop=True)


def select_results(dirs: list[str]) -> pd.DataFrame:
    """``select`` over the runs of results directories."""
    from .runview import read_runs

    return select(read_runs(dirs, REPLACED))


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe records (NaN -> None) of a ``select`` frame, for ``fptbench select --json``."""
    out = []
    for rec in df.to_dict(orient="records"):
        out.append({k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in rec.items()})
    return out
