"""How much of each profile's planned suite the results hold, stated at the top of every report.

A long profile (``cpu-long``) is run in several sittings and its finished runs are committed as they
complete, so a committed report may rest on part of its suite. Without a coverage line a reader
cannot tell "never planned" from "not run yet"; with it, every report says how many of the suite's
runs it rests on, which are missing, and the command that resumes the sweep.

A suite run counts when a harness run of that (task, model, backbone, seed) and profile finished or
diverged (diverged runs are scored), with default model options, at the profile's own learning rate,
on the whole training split: the same filter that decides the report's plain rows. Grid files (ablation
presets, learning-rate grids) are not the suite and are not counted here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from benchmark.errors import FptError
from benchmark.profiles import get_profile

from benchmark.runview import HARNESS, RunView, same_lr, view_of

from .cells import on_full_training_split, profile_lr

SCORED = ("finished", "diverged")
Key = tuple[str, str, str, int]  # task, model, backbone ("none" without one), seed


@dataclass(frozen=True)
class SuiteCoverage:
    profile: str
    planned: tuple[Key, ...]
    done: frozenset[Key]

    @property
    def missing(self) -> tuple[Key, ...]:
        return tuple(k for k in self.planned if k not in self.done)

    def per_task(self) -> dict[str, tuple[int, int]]:
        """task -> (runs done, runs planned), in the suite's order."""
        out: dict[str, tuple[int, int]] = {}
        for k in self.planned:
            d, n = out.get(k[0], (0, 0))
            out[k[0]] = (d + (k in self.done), n + 1)
        return out


def _scored(rec: pd.DataFrame, profile: str) -> pd.DataFrame:
    """The profile's harness runs that have a score (finished, or diverged and scored)."""
    return rec[(rec.profile == profile) & (rec.source == HARNESS) & rec.status.isin(SCORED)]


def _plain_done(rec: pd.DataFrame, profile: str) -> frozenset[Key]:
    mine = _scored(rec, profile)
    mine, _ = on_full_training_split(mine[mine.options.map(lambda o: not o).astype(bool)])
    keys = set()
    for (task, model), g in mine.groupby(["task", "model"]):
        want = profile_lr(profile, task, model)
        at_lr = g if want is None else g[same_lr(g.lr, want)]
        keys.update((task, model, b or "none", int(s)) for b, s in zip(at_lr.backbone, at_lr.seed))
    return frozenset(keys)


def suite_coverage(runs: "pd.DataFrame | RunView") -> list[SuiteCoverage]:
    """One entry per registered profile that has runs in ``runs`` (a run view, or a runs table); profiles
    unknown here are skipped."""
    rec = view_of(runs).runs
    if rec.empty:
        return []
    out = []
    for name in sorted(set(rec.profile)):
        try:
            profile = get_profile(name)
        except FptError:
            continue
        planned = tuple(dict.fromkeys((e.task, e.model, e.backbone or "none", int(s))
                                      for e in profile.suite for s in e.seeds))
        out.append(SuiteCoverage(name, planned, _plain_done(rec, name) & frozenset(planned)))
    return out


def precision_sentence(rec: pd.DataFrame, profile: str) -> str:
    """What the profile's scored harness runs were computed in, counted per precision.

    ``precision=auto`` is decided per machine (benchmark/precision.py: bf16 autocast where a calibration
    measures bf16 matmuls at least 1.5x fp32, and on GPUs with native bf16; fp32 elsewhere; older runs by a
    rule on AMX), so one profile's runs made in several sittings on different machines can mix
    precisions; a reader must see that beside the numbers, not only in a Parquet column.
    """
    if "precision" not in rec:
        return ""
    mine = _scored(rec, profile)
    counts = mine.precision.fillna("").replace("", "not recorded").value_counts()
    if counts.empty:
        return ""
    parts = [f"{p} ({int(k)} run{'s' if k != 1 else ''})" for p, k in sorted(counts.items(), key=lambda pk: (-pk[1], pk[0]))]
    if len(parts) == 1:
        return f" Precision: all its runs computed in {counts.index[0]}."
    return (f" Precision: its runs were computed in {' and '.join(parts)}, because `precision=auto` resolves per "
            "machine (bf16 where it measurably pays); cells whose seeds mix precisions say so.")


def extra_sentence(rec: pd.DataFrame, profile: str, suite_done: int) -> str:
    """How many of the profile's scored runs are not suite runs, so "all 59 runs of its suite" beside
    "over its 100 runs" reads as two counts of different things, not as a contradiction."""
    total = len(_scored(rec, profile))
    extra = total - suite_done
    if extra <= 0:
        return ""
    return (f" The results also hold {extra} more run{'s' if extra != 1 else ''} of this profile outside its suite "
            f"(learning-rate grids, ablation presets, other options or seeds), {total} in all; the counts below are over "
            "all of them.")


def compute_sentence(rec: pd.DataFrame, profile: str) -> str:
    """The CPU time the profile's scored harness runs took: each run's wall time x its threads, summed.

    A profile sized to "about 8 CPU-hours" must show what it really cost, from the runs, not from the
    sizing table; runs that predate the ``wall_time_s``/``threads`` columns are left out and counted."""
    if "wall_time_s" not in rec or "threads" not in rec:
        return ""
    mine = _scored(rec, profile)
    cost = mine.wall_time_s * mine.threads
    known = cost.notna()
    if not known.any():
        return ""
    unknown = f"; {int((~known).sum())} run(s) did not record it" if (~known).any() else ""
    return (f" Compute: {cost[known].sum() / 3600:.1f} CPU-hours over its {int(known.sum())} runs here (each run's "
            f"wall time x its threads{unknown}).")


def coverage_by_profile(runs: "pd.DataFrame | RunView", results: str) -> dict[str, str]:
    """profile -> one plain paragraph (backticks for code): how much of its suite is here, and in which precision."""
    out = {}
    view = view_of(runs)
    rec = view.runs if not view.empty else None
    for c in suite_coverage(view):
        n, d = len(c.planned), len(c.planned) - len(c.missing)
        tasks = ", ".join(f"{t} {done}/{planned}" for t, (done, planned) in c.per_task().items())
        facts = (extra_sentence(rec, c.profile, d) + precision_sentence(rec, c.profile)
                 + compute_sentence(rec, c.profile)) if rec is not None else ""
        if not c.missing:
            out[c.profile] = f"Profile `{c.profile}`: all {n} runs of its suite are here ({tasks}).{facts}"
            continue
        out[c.profile] = (f"Profile `{c.profile}`: {d} of the {n} runs of its suite are here ({tasks}); the other "
                          f"{n - d} are not run yet, so what rests on them reads 'never run' or 'not measured'. Resume "
                          f"with `fptbench sweep --profile {c.profile} --results {results}` (finished runs are "
                          f"skipped).{facts}")
    return out


def coverage_lines(runs: "pd.DataFrame | RunView", results: str) -> list[str]:
    """The report header's lines, one per profile."""
    return list(coverage_by_profile(runs, results).values())
