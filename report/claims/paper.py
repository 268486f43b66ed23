"""The paper's claims (Lu et al. 2021) as registered decision rules over the runs table.

Each claim states the paper's conclusion, the rule that decides it (thresholds, margins, interval
level, seeds) and the tables it comes from; ``report.claims.rules`` holds the shared comparisons.
Tasks are the paper's seven; a task whose rows were never run (or whose data is absent) is listed
as not measured with the commands that would measure it, and the verdict covers the measured tasks.
"""

from __future__ import annotations

from .base import FAILS, HOLDS, INCONCLUSIVE, NOT_MEASURED, Claim, Finding, register_claim
from .evidence import ANY_LR, ClaimContext, Row, RowKey
from .rules import MIN_SEEDS, combine, faster, gain, level, missing_finding, non_inferior, short

PAPER_TASKS = ("bit-memory", "bit-xor", "listops", "mnist", "cifar10", "cifar10-lra", "remote-homology")
SEEDS = 3  # what a missing row's command asks for: the paper's 3 seeds

SOLVED_AT = 98.0  # % test accuracy: "at or near 100%" on the bit tasks
MATCH_MARGIN = {t: 2.0 for t in PAPER_TASKS}  # points: FPT "matches" from-scratch training within this
ORDER_MARGIN = 1.0  # points: a weak step "X >= Y" of an ordering tolerates X below Y by at most this
LR_GRID_TASKS = ("listops", "mnist")  # the re-evaluation's finding on ListOps and MNIST-like tasks
LR_GRID = (1e-4, 1e-3, 1e-2)  # the grid a missing tuned-lr comparison asks for (docs/claims.md)

FPT = RowKey.of("fpt")
RANDOM = RowKey.of("random-frozen")
SCRATCH = RowKey.of("random-full")
LSTM = RowKey.of("lstm")
BITMEM = RowKey.of("bit-memory-pretrained")


def _row_or_commands(ctx: ClaimContext, task: str, key: RowKey, commands: list[str], column: str = "test_value") -> Row:
    """The row, adding the commands that would complete it (to ``SEEDS`` seeds) when it is short."""
    row = ctx.row(task, key, column)
    if not row.ok or len(row.values) < SEEDS:
        commands.extend(ctx.missing_commands(task, key, row, SEEDS))
    return row


class BitTasksSolved(Claim):
    name = "bit-tasks-solved"
    number = 1
    title = "FPT solves the bit tasks; the LSTM does not solve Bit Memory"
    statement = ("The frozen pretrained transformer reaches (near) 100% on Bit Memory and Bit XOR, where a fully "
                 "trained 3-layer LSTM does not solve Bit Memory.")
    rule = (f"Solved = the 95% bootstrap CI (over seeds) of mean test accuracy lies at or above {SOLVED_AT:g}%; "
            f"not solved = its upper end is below {SOLVED_AT:g}%. Holds when FPT solves both tasks and the LSTM "
            f"does not solve Bit Memory; at least {MIN_SEEDS} seeds per row, else inconclusive.")
    paper_ref = "Table 1"

    def check(self, ctx: ClaimContext):
        cmds: list[str] = []
        findings = []
        for task in ("bit-memory", "bit-xor"):
            row = _row_or_commands(ctx, task, FPT, cmds)
            findings.append(level(task, "FPT solves it", row, "FPT", SOLVED_AT, want=True))
        lstm = _row_or_commands(ctx, "bit-memory", LSTM, cmds)
        findings.append(level("bit-memory", "LSTM does not solve it", lstm, "LSTM", SOLVED_AT, want=False))
        verdict, reason = combine(findings, require_all=True)
        return verdict, reason, findings, cmds


class MatchesScratch(Claim):
    name = "fpt-matches-scratch"
    number = 2
    title = "FPT matches a transformer trained from scratch"
    statement = ("Freezing the pretrained self-attention and feed-forward layers costs little: FPT matches a "
                 "fully trained transformer (from random init) on each task.")
    rule = ("Per task, paired 95% bootstrap CI (matched seeds) of mean(FPT - random-full) test accuracy: holds "
            f"if its lower end is at or above -{MATCH_MARGIN['mnist']:g} points (non-inferiority margin, the same "
            f"for every task), does not hold if its upper end is below -{MATCH_MARGIN['mnist']:g}. The claim holds "
            "when it holds on every measured task and fails on none; at least 2 matched seeds.")
    paper_ref = "Table 1 (Full column: a transformer trained from scratch)"

    def check(self, ctx: ClaimContext):
        cmds: list[str] = []
        findings = []
        for task in PAPER_TASKS:
            a = _row_or_commands(ctx, task, FPT, cmds)
            b = _row_or_commands(ctx, task, SCRATCH, cmds)
            findings.append(non_inferior(task, "FPT - from-scratch (random-full)", a, b, ("FPT", "random-full"),
                                         MATCH_MARGIN[task]))
        return (*combine(findings), findings, cmds)


class PretrainingBeatsRandom(Claim):
    name = "language-beats-random"
    number = 3
    title = "Language pretraining beats random initialization of the same frozen transformer"
    statement = ("With the same parts frozen, a language-pretrained body transfers better than a randomly "
                 "initialized one.")
    rule = ("Per task, paired 95% bootstrap CI (matched seeds) of mean(FPT - random-frozen) test accuracy: holds "
            "if its lower end is above 0, does not hold if its upper end is at or below 0. The claim holds when "
            "it holds on every measured task; at least 2 matched seeds.")
    paper_ref = "Table 2"

    def check(self, ctx: ClaimContext):
        cmds: list[str] = []
        findings = []
        for task in PAPER_TASKS:
            a = _row_or_commands(ctx, task, FPT, cmds)
            b = _row_or_commands(ctx, task, RANDOM, cmds)
            findings.append(gain(task, "FPT - random-frozen", a, b, ("FPT", "random-frozen")))
        return (*combine(findings), findings, cmds)


class ConvergesFaster(Claim):
    name = "fpt-converges-faster"
    number = 4
    title = "FPT reaches the task threshold in fewer steps than random-frozen"
    statement = "Language pretraining speeds up convergence: FPT needs fewer gradient steps than a random frozen body."
    rule = ("Per task and matched seed, FPT is faster when it reached the task's validation threshold and "
            "random-frozen did not, or did in more steps (resolution: the profile's eval_every). Holds on a task "
            "when FPT is faster on every seed (at least 2), does not hold when it is faster on none and some run "
            "reached the threshold; neither reaching it is inconclusive (budget too short). The speed-up shown is "
            "the smallest per-seed ratio random/FPT, a lower bound (>=) when random-frozen never reached it.")
    paper_ref = "Table 6"

    def check(self, ctx: ClaimContext):
        cmds: list[str] = []
        findings = []
        for task in PAPER_TASKS:
            a = _row_or_commands(ctx, task, FPT, cmds, "steps_to_threshold")
            b = _row_or_commands(ctx, task, RANDOM, cmds, "steps_to_threshold")
            b_trained = ctx.row(task, RANDOM, "steps_trained")
            findings.append(faster(task, "steps: FPT vs random-frozen", a, b, b_trained, ("FPT", "random-frozen")))
        return (*combine(findings), findings, cmds)


class Ordering(Claim):
    """An ordering of rows: weak steps ``upper >= lower`` (within ORDER_MARGIN) and one strict end.

    Per task: a step is violated when the paired CI of mean(upper - lower) lies entirely below
    -ORDER_MARGIN, consistent when its lower end is at or above -ORDER_MARGIN. The task holds when every
    step is consistent and the strict end (top - bottom) has a CI above 0. Informational comparisons
    are shown and never change the verdict.
    """

    chain: str = ""  # the ordering in words, e.g. "+pos >= +input >= +ln >= output-only"
    steps: tuple[tuple[str, str], ...] = ()
    strict: tuple[str, str] = ("", "")
    info: tuple[tuple[str, str], ...] = ()
    tasks: tuple[str, ...] = PAPER_TASKS

    def rows(self, ctx: ClaimContext) -> dict[str, RowKey]:
        raise NotImplementedError

    def check(self, ctx: ClaimContext):
        cmds: list[str] = []
        findings: list[Finding] = []
        keys = self.rows(ctx)
        for task in self.tasks:
            rows = {label: _row_or_commands(ctx, task, key, cmds) for label, key in keys.items()}
            absent = {label: row.missing or "no value" for label, row in rows.items() if not row.ok}
            if absent:
                findings.append(missing_finding(task, self.chain, absent))
                continue
            step_findings = [non_inferior(task, f"{hi} >= {lo}", rows[hi], rows[lo], (hi, lo), ORDER_MARGIN)
                             for hi, lo in self.steps]
            top, bottom = self.strict
            end = gain(task, f"{top} > {bottom}", rows[top], rows[bottom], (top, bottom))
            findings.append(self._task_finding(task, step_findings, end))
            for hi, lo in self.info:
                f = gain(task, f"{hi} - {lo} (shown, not decisive)", rows[hi], rows[lo], (hi, lo))
                if f.verdict != NOT_MEASURED:
                    findings.append(Finding(task, f.what, INCONCLUSIVE, f.estimate, f.ci, f.n, f.unit,
                                            "informational: " + f.note, f.seeds))
        decisive = [f for f in findings if not f.note.startswith("informational")]
        return (*combine(decisive), findings, cmds)

    def _task_finding(self, task: str, steps: list[Finding], end: Finding) -> Finding:
        parts = steps + [end]
        seeds = {k: v for f in parts for k, v in f.seeds.items()}
        notes = "; ".join(short(f) for f in parts)
        what = self.chain or end.what
        if any(f.verdict == FAILS for f in steps) or end.verdict == FAILS:
            verdict = FAILS
        elif all(f.verdict == HOLDS for f in steps) and end.verdict == HOLDS:
            verdict = HOLDS
        else:
            verdict = INCONCLUSIVE
        n = min(f.n for f in parts)
        return Finding(task, what, verdict, end.estimate, end.ci, n, "pts", notes, seeds)


class ModalityOrdering(Ordering):
    name = "modality-ordering"
    number = 5
    title = "Pretraining modality: language and images beat Bit Memory pretraining, which beats random init"
    statement = ("Which pretraining transfers: language (and image) pretraining beats pretraining on Bit Memory, "
                 "which beats a random frozen body; language and images are close.")
    chain = "Language, Images >= Bit Memory >= Random"
    steps = (("Language", "Bit Memory"), ("Images", "Bit Memory"), ("Bit Memory", "Random"))
    strict = ("Language", "Random")
    info = (("Language", "Images"),)
    rule = (f"Per task, each step X >= Y holds when the paired 95% bootstrap CI of mean(X - Y) has its lower end at "
            f"or above -{ORDER_MARGIN:g} point and fails when its upper end is below -{ORDER_MARGIN:g}; the task holds "
            "when every step holds and Language - Random has a CI above 0. Language vs Images is shown, not decided. "
            "The claim holds when it holds on every measured task; at least 2 matched seeds.")
    paper_ref = "Table 2"

    def rows(self, ctx: ClaimContext) -> dict[str, RowKey]:
        return {"Language": FPT, "Images": RowKey.of("fpt", backbone=ctx.image_backbone()),
                "Bit Memory": BITMEM, "Random": RANDOM}


class AblationOrdering(Ordering):
    name = "ablation-ordering"
    number = 6
    title = "Which parts must train: output only < + layer norms < + input < + positions"
    statement = ("Training more of the small parts helps in the paper's cumulative order: output layer only, then "
                 "+ layer norms, + input layer, + positions (the default FPT).")
    chain = "+pos >= +input >= +ln >= output-only"
    steps = (("+pos", "+input"), ("+input", "+ln"), ("+ln", "output-only"))
    strict = ("+pos", "output-only")
    rule = (f"Rows are `fpt --option preset=NAME`. Per task, each step X >= Y holds when the paired 95% bootstrap CI "
            f"of mean(X - Y) has its lower end at or above -{ORDER_MARGIN:g} point and fails when its upper end is "
            f"below -{ORDER_MARGIN:g}; the task holds when every step holds and +pos - output-only has a CI above 0. "
            "The claim holds when it holds on every measured task; at least 2 matched seeds.")
    paper_ref = "ablation table (Section 4)"

    def rows(self, ctx: ClaimContext) -> dict[str, RowKey]:
        return {p: RowKey.of("fpt", preset=p) for p in ("output-only", "+ln", "+input", "+pos")}


class TunedLr(Claim):
    """A comparison of two methods, each at the learning rate selected on validation among the rates tried.

    Subclasses name the two rows (``first``, ``second``: label and model), the tasks, and ``compare``
    (a rule of ``report.claims.rules`` applied to (first, second) at the selected rates)."""

    first: tuple[str, str]
    second: tuple[str, str]
    tasks: tuple[str, ...]

    def compare(self, task: str, what: str, a: Row, b: Row) -> Finding:
        raise NotImplementedError

    def check(self, ctx: ClaimContext):
        cmds: list[str] = []
        findings: list[Finding] = []
        select = ctx.selector()
        la, lb = self.first[0], self.second[0]
        what = f"{la} - {lb} at the selected lr"
        for task in self.tasks:
            rows: dict[str, Row] = {}
            chosen: dict[str, float] = {}
            missing: dict[str, str] = {}
            for label, model in (self.first, self.second):
                runs = ctx.runs_of(task, RowKey.of(model, lr=ANY_LR))
                lrs = sorted(set(runs[runs.status == "finished"].lr))
                if len(lrs) < 2:
                    missing[label] = (f"learning rates tried: {', '.join(f'{x:g}' for x in lrs) or 'none'} "
                                      "(a grid of at least 2 is needed)")
                    data = ctx.data_command(task)
                    cmds.extend([data] if data and data not in cmds else [])
                    cmds.extend(ctx.run_command(task, RowKey.of(model), tuple(range(SEEDS)), lr)
                                for lr in LR_GRID if not any(abs(lr - y) <= 1e-12 for y in lrs))
                    continue
                if select is None:
                    missing[label] = "benchmark.selection (validation-based lr selection) is not in this checkout"
                    cmds.append(f"fptbench select --results {ctx.results_hint} --json")
                    continue
                lr, eligible = _selected_lr(select, runs, ctx, task, model)
                if eligible is not None and len(eligible) < 2:  # a half-finished grid selects among one rate
                    missing[label] = (f"learning rates with every seed finished: "
                                      f"{', '.join(f'{x:g}' for x in eligible) or 'none'} (at least 2 are needed; "
                                      "the others are incomplete)")
                    cmds.append(f"fptbench select --results {ctx.results_hint} --json")
                    continue
                if lr is None:
                    missing[label] = "the selector picked no learning rate for it"
                    cmds.append(f"fptbench select --results {ctx.results_hint} --json")
                    continue
                chosen[label] = lr
                rows[label] = ctx.row(task, RowKey.of(model, lr=lr))
            if missing:
                findings.append(missing_finding(task, what, missing))
                continue
            findings.append(self.compare(task, f"{la} (lr {chosen[la]:g}) - {lb} (lr {chosen[lb]:g}), selected on "
                                         "validation", rows[la], rows[lb]))
        return (*combine(findings), findings, list(dict.fromkeys(cmds)))


class TunedLrFullOvertakes(TunedLr):
    name = "tuned-lr-full-overtakes"
    number = 7
    title = "With a tuned learning rate, full training overtakes frozen (ListOps, MNIST)"
    statement = ("The re-evaluation (Rothermel et al. 2021): with the learning rate selected on validation per "
                 "method, training the whole pretrained transformer beats freezing it on ListOps and MNIST-like tasks.")
    rule = ("Per task, each method's learning rate is selected by `benchmark.selection.select` (best validation "
            "metric averaged over seeds, among at least 2 learning rates tried); at the selected rates, paired 95% "
            "bootstrap CI of mean(full - FPT) test accuracy: holds if its lower end is above 0, does not hold if its "
            "upper end is at or below 0. At least 2 matched seeds.")
    paper_ref = "Rothermel et al. 2021 (re-evaluation); not in the paper"
    first, second, tasks = ("full", "full"), ("FPT", "fpt"), LR_GRID_TASKS

    def compare(self, task: str, what: str, a: Row, b: Row) -> Finding:
        return gain(task, what, a, b, ("full", "FPT"))


class TunedLrMatchesScratch(TunedLr):
    name = "tuned-lr-fpt-matches-scratch"
    number = 8
    title = "FPT matches a transformer trained from scratch when each has its tuned learning rate"
    statement = ("Claim 2 with a fair learning rate: the paper trained every model at lr 1e-3, a rate that can "
                 "cripple a transformer trained from scratch; with each method's rate selected on validation, "
                 "FPT still matches from-scratch training.")
    rule = ("Per task, each method's learning rate is selected by `benchmark.selection.select` (best validation "
            "metric averaged over seeds, among at least 2 learning rates tried); at the selected rates, paired 95% "
            f"bootstrap CI of mean(FPT - random-full) test accuracy: holds if its lower end is at or above "
            f"-{MATCH_MARGIN['mnist']:g} points (claim 2's margin), does not hold if its upper end is below "
            f"-{MATCH_MARGIN['mnist']:g}. At least 2 matched seeds.")
    paper_ref = "Table 1 (Full column) with a validation-selected lr per method; not in the paper"
    first, second, tasks = ("FPT", "fpt"), ("random-full", "random-full"), PAPER_TASKS

    def compare(self, task: str, what: str, a: Row, b: Row) -> Finding:
        return non_inferior(task, what, a, b, ("FPT", "random-full"), MATCH_MARGIN[task])


def _selected_lr(select, runs, ctx: ClaimContext, task: str, model: str) -> tuple[float | None, list[float] | None]:
    """The lr the selector picks for (task, model, backbone) among this group's runs, and the rates it could
    choose from (None when the selector does not say), reading its documented record fields (task, model,
    backbone, lr_selected, lrs_eligible); the selector sees the runs table rows of these runs."""
    import math

    import pandas as pd

    table = ctx.raw_runs[ctx.raw_runs.run_id.isin(set(runs.run_id))]
    if table.empty:
        return None, None
    picked = select(table)
    recs = picked.to_dict("records") if isinstance(picked, pd.DataFrame) else list(picked)
    for r in recs:
        if r.get("task") == task and r.get("model") == model and r.get("backbone", ctx.group.backbone) == ctx.group.backbone:
            lr = r.get("lr_selected")
            eligible = r.get("lrs_eligible")
            lr = None if lr is None or (isinstance(lr, float) and math.isnan(lr)) else float(lr)
            return lr, (None if eligible is None else [float(x) for x in eligible])
    return None, None


for _claim in (BitTasksSolved(), MatchesScratch(), PretrainingBeatsRandom(), ConvergesFaster(), ModalityOrdering(),
               AblationOrdering(), TunedLrFullOvertakes(), TunedLrMatchesScratch()):
    register_claim(_claim)

__all__ = ["LR_GRID", "MATCH_MARGIN", "ORDER_MARGIN", "PAPER_TASKS", "SOLVED_AT"]
