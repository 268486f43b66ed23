"""From the run view to table cells: grouping, seed statistics, conflicts, derived rows, averages.

Everything here is a pure function of the run view (``benchmark.runview``: one row per run, built once),
plus ``report.reasons`` to say *why* a never-run cell is missing, and the paper CSV. The formats in
``report.formats`` only lay it out.

Rules (stated in docs/report.md):
- which seeds count is ``report.cell.count_seeds``, the one rule the leaderboard uses too: finished runs
  give numbers; a diverged run (non-finite training loss) gives the test score of its best validation
  state when it has one, and the cell carries a divergence mark (the paper reports its diverged runs the
  same way); a diverged run with no finite score is counted in the notes only;
- only the harness's own runs fill a row's cells; runs imported from a submission (``source`` is
  ``submitted:<name>``) get a row of their own, labelled as claimed by that submitter, never a share of
  a harness cell; a group's caption (what its backbone stands in for) comes from harness runs only;
- ours = mean and sample standard deviation (ddof=1) over seeds, with the seed count;
- two finished runs of one seed with different config hashes, or runs of different task
  fingerprints in one cell, make the cell a *conflict* (missing, with the reason), never a silent pick;
- an average over tasks exists only when every cell of the row has a number;
- one table per (profile, backbone) group, so a CPU-profile stand-in number never reads as GPT-2.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Mapping

import pandas as pd

from benchmark.errors import FptError
from benchmark.runview import HARNESS, RunView, same_lr, view_of
from benchmark.runview import profile_lr as _profile_lr

from .cell import Cell, count_seeds, diverged_missing
from .markup import code, value
from .metrics import Metric, get_metric
from .paper_values import PaperValue, paper_value
from .reasons import absence_reasons, empty_reason, task_comparability
from .specs import ANY, RowSpec, TableSpec, get_run_selection

NO_HARNESS_RUN = "unknown (no harness run of this backbone)"  # a group's caption when only submitted runs use it


@dataclass(frozen=True)
class Group:
    """The (profile, backbone) a rendered table is about, with what the backbone stands in for."""

    profile: str
    backbone: str
    stand_in_for: str = ""

    @property
    def slug(self) -> str:
        return f"{self.profile}__{self.backbone}"

    @property
    def label(self) -> str:
        stand = f" (stand-in for {self.stand_in_for})" if self.stand_in_for else ""
        return f"profile `{self.profile}`, backbone `{self.backbone}`{stand}"


@dataclass
class RowResult:
    label: str
    model: str
    backbone: str  # the backbone(s) the row's numbers come from
    cells: dict[str, Cell]
    paper: dict[str, PaperValue | None]
    derived: bool = False
    paper_backbone: str = ""  # what the paper's numbers of this row were made with, as far as the spec says
    source: str = HARNESS  # "harness", or "submitted:<name>" for a row of claimed, not rerun, numbers

    def average(self, tasks: tuple[str, ...]) -> float | None:
        cells = [self.cells[t] for t in tasks]
        if not all(c.ok for c in cells):
            return None  # never an average over fewer tasks than the table has
        return statistics.fmean(c.mean for c in cells)  # type: ignore[misc]

    def paper_average(self, tasks: tuple[str, ...]) -> float | None:
        vals = [self.paper.get(t) for t in tasks]
        if not all(v is not None for v in vals):
            return None
        return statistics.fmean(v.value for v in vals)  # type: ignore[union-attr]

    def coverage(self) -> tuple[int, int]:
        return sum(c.ok for c in self.cells.values()), len(self.cells)


@dataclass
class TableResult:
    spec: TableSpec
    metric: Metric
    group: Group
    rows: list[RowResult] = field(default_factory=list)

    def coverage(self) -> tuple[int, int]:
        got = [r.coverage() for r in self.rows if not r.derived]
        return sum(g for g, _ in got), sum(n for _, n in got)

    comparability: dict[str, str] = field(default_factory=dict)  # task -> how it differs from the paper's evaluation

    @property
    def paper_protocol(self) -> bool:
        return self.group.profile == "paper" and self.group.backbone == self.spec.paper_backbone


def profile_lr(profile: str, task: str, model: str) -> float | None:
    """The learning rate ``profile`` gives (task, model) (``benchmark.runview.profile_lr``), None if unknown here."""
    lr = _profile_lr(profile, task, model)
    return None if math.isnan(lr) else lr


def on_full_training_split(mine: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """A plain row holds runs trained on the whole training split; runs on a fraction of it
    (``train_fraction`` < 1) belong to the data-efficiency page, never to a protocol cell."""
    if mine.empty or "train_fraction" not in mine:
        return mine, ""
    part = mine.train_fraction < 1.0
    if not part.any():
        return mine, ""
    return mine[~part], f"{int(part.sum())} run(s) on a fraction of the training split left to the data-efficiency page"


def at_profile_lr(mine: pd.DataFrame, profile: str, task: str, model: str) -> tuple[pd.DataFrame, str]:
    """A plain row holds the runs at its profile's own learning rate; other rates (a grid sweep's) feed
    the lr-selection table. With no run at the profile's rate, the runs stay and the note says so."""
    want = profile_lr(profile, task, model)
    if want is None or mine.empty or "lr" not in mine:
        return mine, ""
    at = same_lr(mine.lr, want)
    if at.all():
        return mine, ""
    if at.any():
        return mine[at], f"{int((~at).sum())} run(s) at other learning rates shown only in the lr-selection table"
    return mine, f"lr {', '.join(f'{v:g}' for v in sorted(set(mine.lr)))}, not the profile's {want:g}"


def _row_mask(rec: pd.DataFrame, row: RowSpec) -> pd.Series:
    same_options = True if row.options is None else rec.options_key == row.options
    return (rec.model == row.model) & same_options


def groups_for(spec: TableSpec, rec: pd.DataFrame) -> list[Group]:
    """The (profile, backbone) groups that have any run for this table; one placeholder if none."""
    mask = pd.Series(False, index=rec.index)
    for row in spec.rows:
        mask |= _row_mask(rec, row) & rec.task.isin(spec.tasks)
    mine = rec[mask]
    out: list[Group] = []
    for profile in sorted(mine.profile.unique()):
        in_prof = mine[mine.profile == profile]
        any_rows = [r for r in spec.rows if r.backbone == ANY]
        flt = pd.Series(False, index=in_prof.index)
        for row in any_rows:
            flt |= _row_mask(in_prof, row)
        if not any_rows:
            backbones = ["(per row)"]  # every row pins its backbone: the rows' backbone column says which
        else:
            # A backbone pinned by a row (e.g. the image row's dinov2-s) belongs to that row only: it must not
            # form a group of its own, where its runs would fill the unpinned rows (e.g. "Language (FPT)").
            pinned = {r.backbone for r in spec.rows if r.backbone != ANY}
            backbones = sorted(b for b in in_prof[flt].backbone.unique() if b not in ("none", *pinned)) or ["none"]
        for bb in backbones:
            out.append(Group(value(profile), value(bb), _stand_in(rec, bb)))
    return out or [Group("(no results)", "(none)")]


def _stand_in(rec: pd.DataFrame, backbone: str) -> str:
    """What a backbone stands in for, from the harness's own runs only: a submitted run's claim never
    becomes a caption. A group with no harness run of the backbone says that it cannot tell."""
    mine = rec[rec.backbone == backbone]
    harness = mine[mine.source.fillna(HARNESS) == HARNESS] if "source" in mine else mine
    if harness.empty and not mine.empty:
        return NO_HARNESS_RUN
    vals = sorted(v for v in harness.stand_in_for.unique() if v)
    return value(vals[0]) if vals else ""


def _cell(spec: TableSpec, metric: Metric, row: RowSpec, group: Group, task: str, view: RunView,
          absence: Mapping[str, str], source: str = HARNESS) -> tuple[Cell, set[str]]:
    rec = view.runs
    m = _row_mask(rec, row) & (rec.task == task) & (rec.profile.map(value) == group.profile)
    if row.backbone == ANY:
        m &= rec.backbone.map(value).isin([group.backbone, "none"])
    else:
        m &= rec.backbone == row.backbone
    mine = rec[m & (rec.source.fillna(HARNESS) == source)]
    backbones = {value(b) for b in mine.backbone}
    how = ""
    if row.runs and not mine.empty:  # a named run selection narrows the row's runs, e.g. to one learning rate
        mine, how = get_run_selection(row.runs)(mine, view)
        if mine.empty:
            return Cell(missing=how or "no run selected"), backbones
    elif not mine.empty:
        mine, partial = on_full_training_split(mine)
        if mine.empty:
            return Cell(missing=partial), backbones
        mine, how = at_profile_lr(mine, group.profile, task, row.model)
        how = "; ".join(n for n in (partial, how) if n)
    if mine.empty:
        if source != HARNESS:
            return Cell(missing="not in this submission"), backbones
        return Cell(missing=empty_reason(group.profile, task, row.model, absence)), backbones
    if mine.task_fingerprint.nunique() > 1:
        return Cell(missing=f"conflict: runs of {mine.task_fingerprint.nunique()} task versions/fingerprints; "
                            "render their results directories separately"), backbones
    notes = [how] if how else []
    other = mine[~mine.status.isin(["finished", "diverged"])]
    if len(other):
        notes.append(f"{len(other)} with status {','.join(sorted(value(s) for s in set(other.status)))}")
    scored = [st != "diverged" or _has_test_score(view.rows_of(rid, source)) for rid, st in zip(mine.run_id, mine.status)]
    keep, unscored, rule_notes = count_seeds(list(mine.status), scored)
    notes += rule_notes
    counted = mine[keep]
    dup = counted.groupby("seed").config_hash.nunique()
    if (dup > 1).any():
        seeds = ", ".join(str(s) for s in dup[dup > 1].index)
        return Cell(missing=f"conflict: several configs (budgets/options) for seed {seeds}; "
                            "render their results directories separately"), backbones
    budget_note = _budget_note(group.profile, task, row.model, sorted(set(counted.budget_steps)))
    if budget_note:
        notes.append(budget_note)
    mixed = precision_mix(counted)
    if mixed:
        notes.append(mixed)
    if counted.empty:
        reason = diverged_missing(int((mine.status == "diverged").sum()), len(mine))
        return Cell(missing=reason, notes=tuple(notes), unscored=unscored), backbones
    values, seeds, unreached, n_div, bounds = [], [], [], 0, []
    for r in counted.sort_values(["seed", "run_id"]).itertuples():
        rows = view.rows_of(r.run_id, source)
        val, why = metric.extract(rows)
        if val is None:
            unreached.append(why)
            bounds.append(metric.censor(rows) if metric.censor else None)
        else:
            values.append(val)
            seeds.append(int(r.seed))
            bounds.append(val)
            n_div += r.status == "diverged"
    if unreached:
        censored = tuple(bounds) if all(b is not None for b in bounds) else ()
        return Cell(missing=f"{unreached[0]} ({len(unreached)} of {len(counted)} scored seeds)",
                    notes=tuple(notes), censored=censored), backbones
    return Cell(tuple(values), tuple(seeds), None, tuple(notes), diverged=n_div, unscored=unscored), backbones


def seeds_per_precision(seeds, precisions) -> str:
    """'bf16 seeds 1, 2, fp32 seed 0': which seeds computed in which precision ('' = not recorded)."""
    by: dict[str, list[int]] = {}
    for s, p in zip(seeds, precisions):
        by.setdefault(str(p or "") or "not recorded", []).append(int(s))
    return ", ".join(f"{value(p)} seed{'s' if len(ss) > 1 else ''} {', '.join(map(str, sorted(ss)))}"
                     for p, ss in sorted(by.items()))


def precision_mix(counted: pd.DataFrame) -> str:
    """'' when a cell's seeds share one precision; else which seeds ran in which.

    A mean over seeds computed in different precisions is still a mean over seeds, but a reader comparing
    it with a neighbour must be able to see it (``precision=auto`` gives bf16 on AMX CPUs, fp32 elsewhere).
    """
    if "precision" not in counted or counted.precision.fillna("").nunique() < 2:
        return ""
    return "precision " + seeds_per_precision(counted.seed, counted.precision)


def _has_test_score(rows: pd.DataFrame) -> bool:
    """A finite test score on the task's main metric (a diverged run scored at its best validation state)."""
    test = rows[(rows.split == "test") & (rows.metric != "loss")].value
    return bool(len(test)) and bool(test.map(lambda v: v is not None and math.isfinite(v)).all())


def _expected_backbone(row: RowSpec, group: Group) -> str:
    """The backbone a row without runs would use: its pinned one, 'none' for backbone-free models."""
    if row.backbone != ANY:
        return row.backbone
    from benchmark.model import MODELS

    try:
        cls = MODELS.get(row.model)
    except FptError:
        return group.backbone
    return group.backbone if getattr(cls, "uses_backbone", True) else "none"


def _budget_note(profile: str, task: str, model: str, steps: list[int]) -> str:
    """Say so when runs were capped or stretched (``--max-steps``) away from their profile's budget."""
    if not steps:
        return ""
    from benchmark.profiles import PROFILES, expected_budget

    if profile not in PROFILES:
        return f"{'/'.join(map(str, steps))} steps (profile {code(profile)} is not registered here)"
    try:
        want = expected_budget(profile, task, model).steps
    except FptError:
        return f"{'/'.join(map(str, steps))} steps (model {code(model)} is not registered here)"
    if steps == [want]:
        return ""
    return f"{'/'.join(map(str, steps))} steps, profile budget {want}"


def _paired_diff_cell(num: Cell, den: Cell) -> Cell:
    """Per-seed differences over the seeds both rows ran, with the paired bootstrap interval as a note."""
    from .uncertainty import paired_gain

    gain = paired_gain(num.seeds, num.values, den.seeds, den.values)
    if gain.mean is None:
        return Cell(missing=f"no seed in common (seeds {list(num.seeds)} vs {list(den.seeds)})")
    note = "one seed: no interval" if gain.ci is None else f"95% CI {gain.ci[0]:.1f} to {gain.ci[1]:.1f}"
    return Cell(gain.diffs, gain.seeds, None, (note,))


def _derived_cell(num: Cell, den: Cell, op: str = "ratio", num_label: str = "numerator") -> Cell:
    if op == "diff" and num.ok and not den.ok:
        return Cell(missing=f"control missing ({den.missing or 'no number'})", derived=True)
    if op == "ratio" and not num.ok and num.censored and den.ok and den.mean:
        # e.g. random-frozen never reached the threshold that FPT reached: its mean steps are at least the mean
        # of its per-seed bounds, so the speed-up is at least that over FPT's mean (never an exact number)
        bound = statistics.fmean(num.censored) / den.mean  # type: ignore[operator]
        return Cell((bound,), (), None, (f"lower bound: {value(num_label)} {num.missing}",), derived=True, bound=">=")
    if not num.ok or not den.ok:
        return Cell(missing="needs both rows", derived=True)
    if op == "diff":
        return _paired_diff_cell(num, den)
    if den.mean == 0 or not math.isfinite(num.mean / den.mean):  # type: ignore[operator]
        return Cell(missing="division by zero", derived=True)
    return Cell((num.mean / den.mean,), (), None, (), derived=True)  # type: ignore[operator]


def compute_table(spec: TableSpec, group: Group, runs: "pd.DataFrame | RunView",
                  absence: Mapping[str, str] | None = None) -> TableResult:
    """One table for one group, from a run view (or a runs table). ``absence`` maps a task to the reason its
    never-run cells are empty (default: ask the task registry now; ``--check`` passes the reasons recorded
    at render time)."""
    metric = get_metric(spec.metric)
    view = view_of(runs)
    absence = absence_reasons(spec.tasks) if absence is None else absence
    result = TableResult(spec, metric, group)
    if spec.paper_table:
        result.comparability = {t: note for t in spec.tasks if (note := task_comparability(t))}
    by_label: dict[str, RowResult] = {}
    submitted: list[RowResult] = []
    for row in spec.rows:
        cells, backbones = {}, set()
        for task in spec.tasks:
            cells[task], bbs = _cell(spec, metric, row, group, task, view, absence)
            backbones |= bbs
        shown = ", ".join(sorted(backbones)) or _expected_backbone(row, group)
        paper = {t: paper_value(row.paper_table or spec.paper_table, row.paper_row, t) for t in spec.tasks}
        if row.paper_backbone:
            paper_bb = row.paper_backbone
        elif row.backbone != ANY:
            paper_bb = "see paper"  # a pinned stand-in backbone: the table's paper backbone would be wrong
        else:
            paper_bb = spec.paper_backbone if _expected_backbone(row, group) != "none" else "none"
        rr = RowResult(row.label, row.model, shown, cells, paper, paper_backbone=paper_bb)
        result.rows.append(rr)
        by_label[row.label] = rr
        submitted += _submitted_rows(spec, metric, row, group, view, absence)
    for d in spec.derived:
        num, den = by_label[d.numerator], by_label[d.denominator]
        cells = {t: _derived_cell(num.cells[t], den.cells[t], d.op, d.numerator) for t in spec.tasks}
        paper = {t: paper_value(spec.paper_table, d.paper_row, t) for t in spec.tasks}
        result.rows.append(RowResult(d.label, "", "", cells, paper, derived=True))
    result.rows += submitted  # after the harness's rows and never inside them
    return result


def _submitted_rows(spec: TableSpec, metric: Metric, row: RowSpec, group: Group, view: RunView,
                    absence: Mapping[str, str]) -> list[RowResult]:
    """One row per submitter whose imported runs match ``row``: their claimed numbers, apart."""
    rec = view.runs
    m = _row_mask(rec, row) & rec.task.isin(spec.tasks) & (rec.source.fillna(HARNESS) != HARNESS)
    out = []
    for source in sorted(rec[m].source.unique()):
        cells, backbones = {}, set()
        for task in spec.tasks:
            cells[task], bbs = _cell(spec, metric, row, group, task, view, absence, source=source)
            backbones |= bbs
        if not any(c.ok or (c.missing or "") != "not in this submission" for c in cells.values()):
            continue  # nothing of this submitter in this group
        who = value(source.split(":", 1)[1] if ":" in source else source)
        label = f"{row.label} — submitted by {who} (claimed, not rerun by the harness)"
        out.append(RowResult(label, row.model, ", ".join(sorted(backbones)), cells,
                             {t: None for t in spec.tasks}, source=value(source)))
    return out


def compute_all(specs: list[TableSpec], runs: "pd.DataFrame | RunView",
                absence: Mapping[str, str] | None = None) -> list[TableResult]:
    """Every table of ``specs`` for every group that has runs, from one run view (built here if given a table)."""
    view = view_of(runs)
    if absence is None:
        absence = absence_reasons([t for s in specs for t in s.tasks])
    return [compute_table(spec, g, view, absence) for spec in specs for g in groups_for(spec, view.runs)]
