"""Ranks, rank intervals, ties and normalized scores of a track's rows (complete rows only).

Why apart from the aggregation: ranking is the one place where rows are compared with each other;
everything else about a cell is computed from its own runs.
"""

from __future__ import annotations

import pandas as pd

from report import uncertainty as unc
from report.normalize import normalized

from .schema import BOOT_SEED, N_BOOT, Row, Track


def rank_rows(rows: list[Row], tasks: list[str]) -> None:
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


def mark_ties(rows: list[Row]) -> None:
    """Mark adjacent ranked rows (in display order) whose rank intervals overlap."""
    ranked = [r for r in rows if r.mean_rank is not None]
    tied = unc.tied_adjacent([r.slug for r in ranked],
                             {r.slug: (tuple(r.rank_ci95) if r.rank_ci95 else None) for r in ranked},
                             {r.slug: float(r.mean_rank) for r in ranked})  # type: ignore[arg-type]
    for r in ranked:
        r.tied_with = tied[r.slug]


def normalize_rows(rows: list[Row], track: Track) -> None:
    for r in rows:
        for t, c in r.cells.items():
            chance = track.chance.get(t)
            if c.mean is not None and chance is not None:
                v = normalized(c.mean, chance)
                c.norm_score = None if v is None else round(v, 4)
        scores = [r.cells[t].norm_score for t in track.declared_tasks]
        if track.declared_tasks and all(s is not None for s in scores):
            r.norm_mean = round(sum(scores) / len(scores), 4)  # type: ignore[arg-type]
