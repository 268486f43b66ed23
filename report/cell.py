"""The one ``Cell``: a (row, task) aggregated over the seeds of one configuration.

Why one class: the report's tables (``report.cells``) and the leaderboard (``report.leaderboard``)
show the same thing, a mean over seeds of one task/model/backbone row. Two classes had drifted into
two rules for diverged seeds (the tables averaged them, the leaderboard dropped them from the mean),
so one page could show a number the other did not. Both now build this class, and both decide which
seeds count with ``count_seeds``.

The rule for diverged seeds (docs/report.md; the same on every page):
- a run that **diverged** (non-finite training loss) is scored at its best validation state, as the
  paper reports its own diverged runs (Table 13): when it has a finite test score there, that score is
  one of the cell's values and is in the mean like any other seed; the cell counts it (``diverged``)
  and is flagged (the report's ``†``, the leaderboard's reason and ``†``);
- a diverged run with no finite score cannot be averaged: it is counted among the seeds run
  (``n_runs``) and named in the notes; when no seed has a score the cell is missing,
  ``diverged (k of n seeds)``. A diverged seed is never silently dropped.

Values are in display units (percent for accuracies, steps for steps-to-threshold). ``mean`` and
``std`` (sample, ddof=1) are computed from ``values``, never stored beside them. The fields after
``bound`` are the leaderboard's annotations (rank, gains, cost); the report leaves them at defaults.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any, Sequence

DIVERGED = "diverged"
FINISHED = "finished"

# What ``Cell.record`` writes to leaderboard.json, in addition to mean, std, n, n_diverged and reason.
_RECORD_FIELDS = ("task", "metric", "n_runs", "rank", "run_ids", "budget_changes", "seeds", "values", "ci95",
                  "norm_score", "gain", "gain_ci95", "control", "gains", "train_flops", "train_time_s",
                  "peak_mem_mb", "precision", "n_params_trainable", "n_params_total")


@dataclass
class Cell:
    """One (row, task) over seeds: per-seed values in display units, or the reason there is no number.

    Diverged seeds: scored at their best validation state and in the mean, counted in ``diverged`` and
    flagged; a diverged seed without any finite score is in ``n_runs`` and the notes, never dropped
    silently (the module docstring states the rule in full)."""

    values: Sequence[float] = ()
    seeds: Sequence[int] = ()
    missing: str | None = None  # why there is no number; None when there is one
    notes: tuple[str, ...] = ()  # what qualifies the number (or the missing cell)
    derived: bool = False  # a row computed from two others (ratio, paired difference)
    diverged: int = 0  # how many of ``values`` come from diverged runs (scored at their best validation state)
    unscored: int = 0  # diverged runs with no finite score: not in ``values``, named in ``notes``
    # A missing cell whose runs give lower bounds (metric.censor: steps to a threshold some seeds never reached):
    # per seed the value where there is one, else its bound. A ratio over it is a bound, never a number.
    censored: tuple[float, ...] = ()
    bound: str = ""  # "" an exact value; ">=" a lower bound (a derived ratio over a censored row)
    # -- the leaderboard's annotations ---------------------------------------------------------------
    task: str = ""
    metric: str = ""
    n_runs: int = 0  # seeds run (finished + diverged, scored or not)
    run_ids: list[str] = field(default_factory=list)
    budget_changes: dict[str, Any] = field(default_factory=dict)  # vs the profile's budget for this task
    ci95: list[float] | None = None  # None: fewer than two seeds ("one seed") or missing
    rank: float | None = None
    norm_score: float | None = None
    gain: float | None = None  # vs the primary control
    gain_ci95: list[float] | None = None
    control: str | None = None  # slug of the primary control row
    gains: dict[str, Any] = field(default_factory=dict)  # control model -> GainVs against it
    train_flops: float | None = None
    train_time_s: float | None = None
    peak_mem_mb: float | None = None
    precision: str | None = None
    n_params_trainable: int | None = None
    n_params_total: int | None = None

    @property
    def ok(self) -> bool:
        return self.missing is None and bool(self.values)

    @property
    def n(self) -> int:
        """Seeds with a number (finished, and diverged ones scored at their best validation state)."""
        return len(self.values)

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.values) if self.ok else None

    @property
    def std(self) -> float | None:
        return statistics.stdev(self.values) if self.ok and self.n > 1 else None

    @property
    def n_diverged(self) -> int:
        """Seeds that diverged, scored (in the mean) or not."""
        return self.diverged + self.unscored

    @property
    def reason(self) -> str:
        """Why the cell is missing, else what qualifies its number (diverged seeds in it included); ''
        for a plain number. The report shows ``notes`` and marks ``diverged`` apart; the leaderboard shows this."""
        if self.missing is not None:
            return self.missing
        return "; ".join(n for n in (*self.notes, diverged_note(self.diverged, self.n)) if n)

    def record(self) -> dict[str, Any]:
        """The cell as ``leaderboard.json`` holds it (plain JSON types)."""
        out = {k: _plain(getattr(self, k)) for k in _RECORD_FIELDS}
        out.update(mean=self.mean, std=self.std, n=self.n, n_diverged=self.n_diverged, reason=self.reason)
        return out


def _plain(v: Any) -> Any:
    if is_dataclass(v) and not isinstance(v, type):
        return asdict(v)
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def count_seeds(statuses: Sequence[str], scored: Sequence[bool]) -> tuple[list[bool], int, list[str]]:
    """The one rule for which runs of a cell count: per run, whether it is one of the cell's seeds; how
    many diverged runs have no score (``Cell.unscored``); and the note that names them.

    ``scored[i]``: run i has a finite test score (a diverged run: at its best validation state).
    Finished runs always count (a metric may still find no value in one, e.g. a threshold never
    reached: that is the metric's to say); diverged runs count when scored; others never do."""
    counted = [s == FINISHED or (s == DIVERGED and bool(ok)) for s, ok in zip(statuses, scored)]
    unscored = sum(s == DIVERGED and not ok for s, ok in zip(statuses, scored))
    notes = [f"{unscored} diverged before any finite score"] if unscored else []
    return counted, unscored, notes


def diverged_missing(n_diverged: int, n_runs: int) -> str:
    """The reason of a cell none of whose seeds has a score."""
    return f"diverged ({n_diverged} of {n_runs} seeds)" if n_diverged else "no finished run"


def diverged_note(n_diverged: int, n_scored: int) -> str:
    """The flag on a number some of whose seeds diverged (they are in it, at their best validation state)."""
    return (f"{n_diverged} of {n_scored} seed(s) diverged: each scored at its best validation state, in the mean"
            if n_diverged else "")
