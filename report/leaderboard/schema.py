"""What ``leaderboard.json`` holds: tracks of rows of cells, as dataclasses (the site's data contract).

A cell is ``report.cell.Cell``, the one class the report's tables use too (one rule for diverged seeds).

The HTML pages and ``leaderboard.json`` are two views of these records; ``report.leaderboard.data``
fills them from the run view. Field comments say the unit and what ``None`` means.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from report.cell import Cell
from report.normalize import DEFINITION as NORM_DEFINITION

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
    lr: float | None = None  # the learning rate a grid set (a budget change); None: the profile's own per task


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
        """Canonical JSON (sorted keys, NaN-free) so regenerating gives identical bytes. A cell is written
        as ``Cell.record`` gives it (the leaderboard's fields, mean and std computed from its values)."""
        out = asdict(self)
        for track_out, track in zip(out["tracks"], self.tracks):
            for row_out, row in zip(track_out["rows"], track.rows):
                row_out["cells"] = {t: c.record() for t, c in row.cells.items()}
        return json.dumps(out, sort_keys=True, indent=1, allow_nan=False)
