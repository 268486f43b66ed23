"""Claims 7 and 8: two methods compared, each at the learning rate selected on validation among the rates tried.

Per profile, ``benchmark.selection.select`` picks each method's rate (best mean validation metric over
seeds; test never used) from the runs of that profile; the comparison is then an ordinary one of
``report.claims.rules`` at the selected rates, gated like every other. One more reason keeps it open:
a selected rate at the edge of the rates tried (``grid edge``), where a wider grid might pick another,
until the grid is widened past it.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd

from benchmark.profile_defs import PAPER_TASKS

from .base import GRID_EDGE, NOT_MEASURED, OPEN, Claim, Finding
from .evidence import ANY_LR, ClaimContext, Row, RowKey
from .rules import MIN_SEEDS, across, combine, gain, missing_finding, non_inferior

SEEDS = 3


class TunedLr(Claim):
    """Subclasses name the two rows (``first``, ``second``: label and model), the tasks, and ``compare``."""

    first: tuple[str, str]
    second: tuple[str, str]
    tasks: tuple[str, ...]

    def compare(self, task: str, what: str, a: Row, b: Row) -> Finding:
        raise NotImplementedError

    def check(self, ctx: ClaimContext):
        from .paper import LR_GRID

        cmds: list[str] = []
        findings: list[Finding] = []
        la, lb = self.first[0], self.second[0]
        what = f"{la} - {lb} at the selected lr"
        for task in self.tasks:
            def build(profile: str, task: str = task) -> list[Finding]:
                if not any(ctx.has_row(task, RowKey.of(m, lr=ANY_LR), profile) for _, m in (self.first, self.second)):
                    return []
                return [self._one(ctx, task, profile, what, cmds, LR_GRID)]

            found = across(ctx.profiles, build) or [self._one(ctx, task, ctx.command_profile, what, cmds, LR_GRID)]
            findings += found
        return (*combine(findings), findings, list(dict.fromkeys(cmds)))

    def _one(self, ctx: ClaimContext, task: str, profile: str, what: str, cmds: list[str], grid) -> Finding:
        rows: dict[str, Row] = {}
        chosen: dict[str, float] = {}
        missing: dict[str, str] = {}
        edges: list[str] = []
        for label, model in (self.first, self.second):
            picked = ctx.tuned(task, model, profile)
            if isinstance(picked, str):  # why there is no selected rate
                missing[label] = picked
                data = ctx.data_command(task)
                cmds.extend([data] if data else [])
                tried = ctx.lrs_tried(task, model, profile)
                cmds.extend(ctx.run_command(task, RowKey.of(model), tuple(range(SEEDS)), lr, profile)
                            for lr in grid if not any(abs(lr - y) <= 1e-12 for y in tried))
                continue
            lr, tried = picked
            chosen[label] = lr
            rows[label] = ctx.row(task, RowKey.of(model, lr=lr), profile)
            edge = edge_text(label, lr, tried)
            if edge:
                edges.append(edge)
                nxt = lr / 10 if lr <= min(tried) else lr * 10
                cmds.append(ctx.run_command(task, RowKey.of(model), tuple(range(SEEDS)), nxt, profile))
            if rows[label].ok and len(rows[label].values) < SEEDS:
                cmds.extend(ctx.missing_commands(task, RowKey.of(model, lr=lr), rows[label], SEEDS, (lr,), profile))
        if missing:
            return missing_finding(task, what, missing, profile)
        f = self.compare(task, f"{self.first[0]} (lr {chosen[self.first[0]]:g}) - {self.second[0]} "
                         f"(lr {chosen[self.second[0]]:g}), selected on validation", rows[self.first[0]],
                         rows[self.second[0]])
        return at_grid_edge(f, edges)


def edge_text(label: str, lr: float, tried: list[float]) -> str:
    """'' when ``lr`` lies strictly inside the rates tried; else which edge it sits on."""
    if min(tried) < lr < max(tried):
        return ""
    side = "lowest" if lr <= min(tried) else "highest"
    return f"{label}'s selected lr {lr:g} is the {side} tried ({', '.join(f'{x:g}' for x in tried)})"


def at_grid_edge(f: Finding, edges: list[str]) -> Finding:
    """A measured comparison whose selected rate sits at a grid edge is open (a tie stays a tie)."""
    if not edges or f.verdict == NOT_MEASURED or f.tie:
        return f
    return replace(f, verdict=OPEN, open_reason=GRID_EDGE, note=f"{GRID_EDGE}: {'; '.join(edges)}; {f.note}")


def selected_key(ctx: ClaimContext, task: str, model: str, label: str, profile: str) -> tuple[RowKey, str, str]:
    """(row key, what it is, grid-edge text) of ``model``: at its validation-selected lr where the profile
    tried at least 2 rates, else at the profile's own."""
    picked = ctx.tuned(task, model, profile) if ctx.tunes_plain_rows else "a plain row"
    if isinstance(picked, str):
        return RowKey.of(model), f"{label}", ""
    lr, tried = picked
    return RowKey.of(model, lr=lr), f"{label} (lr {lr:g}, selected on validation)", edge_text(label, lr, tried)


def selected_lr(ctx: ClaimContext, task: str, model: str, profile: str) -> "tuple[float, list[float]] | str":
    """(selected lr, rates tried with every seed finished) for (task, model) in ``profile``, or why there is none.

    Reads ``benchmark.selection.select``'s documented record fields (task, model, backbone, lr_selected,
    lrs_eligible) over this profile's runs of the model."""
    runs = ctx.runs_of(task, RowKey.of(model, lr=ANY_LR), profile)
    lrs = sorted(set(runs[runs.status == "finished"].lr))
    if len(lrs) < 2:
        return f"learning rates tried: {', '.join(f'{x:g}' for x in lrs) or 'none'} (a grid of at least 2 is needed)"
    select = ctx.selector()
    if select is None:
        return "benchmark.selection (validation-based lr selection) is not in this checkout"
    table = ctx.raw_runs[ctx.raw_runs.run_id.isin(set(runs.run_id))]
    if table.empty:
        return "the selector has no runs to read"
    picked = select(table)
    recs = picked.to_dict("records") if isinstance(picked, pd.DataFrame) else list(picked)
    for r in recs:
        if r.get("task") == task and r.get("model") == model and r.get("backbone", ctx.group.backbone) in (
                ctx.group.backbone, "none"):
            lr = r.get("lr_selected")
            eligible = r.get("lrs_eligible")
            eligible = lrs if eligible is None else sorted(float(x) for x in eligible)
            if len(eligible) < 2:
                return (f"learning rates with every seed finished: {', '.join(f'{x:g}' for x in eligible) or 'none'} "
                        "(at least 2 are needed; the others are incomplete)")
            if lr is None or (isinstance(lr, float) and math.isnan(lr)):
                return "the selector picked no learning rate for it"
            return float(lr), eligible
    return "the selector picked no learning rate for it"


class TunedLrFullOvertakes(TunedLr):
    name = "tuned-lr-full-overtakes"
    number = 7
    title = "Tuned lr: full training beats frozen (ListOps, MNIST)"
    statement = ("The re-evaluation (Rothermel et al. 2021): with the learning rate selected on validation per "
                 "method, training the whole pretrained transformer beats freezing it on ListOps and MNIST-like tasks.")
    rule = ("Per task, each method's learning rate is selected by `benchmark.selection.select` (best validation "
            "metric averaged over seeds, among at least 2 learning rates tried); at the selected rates, 95% "
            "t-interval of mean(full - FPT) test accuracy: holds if its lower end is above 0, does not hold if its "
            f"upper end is at or below 0. A selected rate at the edge of the rates tried keeps it open (grid edge); "
            f"at least {MIN_SEEDS} matched seeds, every row trained and converged.")
    paper_ref = "Rothermel et al. 2021 (re-evaluation); not in the paper"
    first, second, tasks = ("full", "full"), ("FPT", "fpt"), ("listops", "mnist")

    def compare(self, task: str, what: str, a: Row, b: Row) -> Finding:
        return gain(task, what, a, b, ("full", "FPT"))


class TunedLrMatchesScratch(TunedLr):
    name = "tuned-lr-fpt-matches-scratch"
    number = 8
    title = "Tuned lr: FPT matches a transformer trained from scratch"
    statement = ("Claim 2 with a fair learning rate: the paper trained every model at lr 1e-3, a rate that can "
                 "cripple a transformer trained from scratch; with each method's rate selected on validation, "
                 "FPT still matches from-scratch training.")
    rule = ("Per task, each method's learning rate is selected by `benchmark.selection.select` (best validation "
            "metric averaged over seeds, among at least 2 learning rates tried); at the selected rates, claim 2's "
            "rule (95% t-interval of mean(FPT - random-full) with its lower end at or above -5 points). A selected "
            f"rate at the edge of the rates tried keeps it open (grid edge); at least {MIN_SEEDS} matched seeds, every "
            "row trained and converged.")
    paper_ref = "Table 1 (Full column) with a validation-selected lr per method; not in the paper"
    first, second = ("FPT", "fpt"), ("random-full", "random-full")
    tasks = PAPER_TASKS

    def compare(self, task: str, what: str, a: Row, b: Row) -> Finding:
        from .paper import MATCH_MARGIN

        return non_inferior(task, what, a, b, ("FPT", "random-full"), MATCH_MARGIN[task])
