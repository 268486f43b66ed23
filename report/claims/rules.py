"""Decision rules shared by the claims: one function per kind of comparison, each returning a Finding.

All intervals are 95% percentile-bootstrap intervals over seeds from ``report.uncertainty`` (the same
numbers the leaderboard shows); paired comparisons resample matched seeds. The rules, in words
(docs/claims.md repeats them):

- **gain** (``X beats Y``): paired CI of mean(X - Y) over matched seeds; *holds* if its lower end is
  above 0, *does not hold* if its upper end is at or below 0, otherwise *inconclusive*.
- **non-inferiority** (``X matches Y within m``): *holds* if the lower end of the paired CI of
  mean(X - Y) is at or above -m, *does not hold* if its upper end is below -m, else *inconclusive*.
- **level** (``X solves the task``): CI of X's mean; *holds* if its lower end is at or above the
  level, *does not hold* if its upper end is below it.
- **faster** (steps to threshold, censored): per matched seed, X is faster when it reached the
  threshold and Y did not, or reached it in fewer steps; *holds* if X is faster on every seed,
  *does not hold* if X is faster on none and some seed reached the threshold, else *inconclusive*.

Fewer than two seeds (or matched pairs) never settle anything: the finding is *inconclusive*.
"""

from __future__ import annotations

import math

from ..compute import seeds_per_precision
from ..uncertainty import bootstrap_mean_ci, paired_diff_ci
from .base import FAILS, HOLDS, INCONCLUSIVE, NOT_MEASURED, Finding
from .evidence import Row

MIN_SEEDS = 2


def _fmt(x: float) -> str:
    return f"{x:+.1f}" if math.isfinite(x) else str(x)


def _ci_text(ci: tuple[float, float] | None) -> str:
    return "one seed, no interval" if ci is None else f"95% CI [{ci[0]:.1f}, {ci[1]:.1f}]"


def short(f: Finding) -> str:
    """``what: +1.2 [0.3, 2.0] -> holds`` (one seed: ``(1 seed)`` instead of an interval)."""
    if f.estimate is None:
        return f"{f.what}: {f.verdict}"
    ci = f" [{f.ci[0]:.1f}, {f.ci[1]:.1f}]" if f.ci is not None else f" ({f.n} seed{'s' if f.n != 1 else ''})"
    return f"{f.what}: {f.estimate:+.1f}{ci} -> {f.verdict}"


def missing_finding(task: str, what: str, reasons: dict[str, str]) -> Finding:
    """A finding for a comparison that lacks a row: the rows' own reasons (never run, needs data, ...)."""
    by_reason: dict[str, list[str]] = {}
    for label, why in reasons.items():
        by_reason.setdefault(why, []).append(label)
    note = "; ".join(f"{', '.join(labels)}: {why}" for why, labels in by_reason.items())
    return Finding(task, what, NOT_MEASURED, note=note)


def precision_note(rows: dict[str, Row], seeds: list[int]) -> str:
    """'' when every run compared computed in one precision; else which row's seeds ran in which.

    ``precision=auto`` resolves per machine, so rows from two sittings can mix fp32 and bf16; a
    verdict resting on both says so (the gate's calibration treats the difference as noise, docs/ci.md).
    """
    per_row = {label: row.precisions(seeds) for label, row in rows.items()}
    if len({p for precs in per_row.values() for p in precs.values()}) < 2:
        return ""
    return "; mixed precision: " + "; ".join(f"{label} {seeds_per_precision(precs.keys(), precs.values())}"
                                            for label, precs in per_row.items())


def matched(a: Row, b: Row) -> tuple[list[int], list[float], list[float]]:
    seeds = sorted(set(a.values) & set(b.values))
    return seeds, [a.values[s] for s in seeds], [b.values[s] for s in seeds]


def paired_rule(task: str, what: str, a: Row, b: Row, labels: tuple[str, str], bound: float, op: str) -> Finding:
    """X - Y against ``bound`` on the paired CI of mean(X - Y) over matched seeds: holds when the whole
    interval is above it (``op=">"``) or at/above it (``">="``), fails when it is entirely on the other side."""
    if not a.ok or not b.ok:
        return missing_finding(task, what, {lab: r.missing or "no value" for lab, r in zip(labels, (a, b)) if not r.ok})
    seeds, xa, xb = matched(a, b)
    per_seed = {labels[0]: dict(a.values), labels[1]: dict(b.values)}
    if not seeds:
        return Finding(task, what, INCONCLUSIVE, note="no seed run by both rows", seeds=per_seed)
    mean, ci = paired_diff_ci(xa, xb)
    above = (lambda x: x > bound) if op == ">" else (lambda x: x >= bound)
    other = "<=" if op == ">" else "<"
    if len(seeds) < MIN_SEEDS or ci is None:
        verdict, why = INCONCLUSIVE, "one matched seed: no interval"
    elif above(ci[0]):
        verdict, why = HOLDS, f"lower end {ci[0]:.1f} {op} {bound:g}"
    elif not above(ci[1]):
        verdict, why = FAILS, f"upper end {ci[1]:.1f} {other} {bound:g}"
    else:
        verdict, why = INCONCLUSIVE, f"interval contains {bound:g}"
    mixed = precision_note(dict(zip(labels, (a, b))), seeds)
    return Finding(task, what, verdict, mean, ci, len(seeds), "pts", f"{_fmt(mean)} pts, {_ci_text(ci)}: {why}{mixed}",
                   per_seed)


def gain(task: str, what: str, a: Row, b: Row, labels: tuple[str, str]) -> Finding:
    """X beats Y: paired CI of mean(X - Y) entirely above 0."""
    return paired_rule(task, what, a, b, labels, 0.0, ">")


def non_inferior(task: str, what: str, a: Row, b: Row, labels: tuple[str, str], margin: float) -> Finding:
    """X matches Y within ``margin`` points: paired CI of mean(X - Y) at or above -margin."""
    return paired_rule(task, what, a, b, labels, -margin, ">=")


def level(task: str, what: str, a: Row, label: str, at_least: float, want: bool = True) -> Finding:
    """``a`` reaches ``at_least`` (% test accuracy): CI of its mean at or above it (``want=False``: below it)."""
    if not a.ok:
        return missing_finding(task, what, {label: a.missing or "no value"})
    vals = [a.values[s] for s in sorted(a.values)]
    mean = sum(vals) / len(vals)
    ci = bootstrap_mean_ci(vals)
    per_seed = {label: dict(a.values)}
    if len(vals) < MIN_SEEDS or ci is None:
        return Finding(task, what, INCONCLUSIVE, mean, None, len(vals), "%", f"{mean:.1f}%, one seed: no interval", per_seed)
    reached = ci[0] >= at_least
    below = ci[1] < at_least
    if not reached and not below:
        verdict, why = INCONCLUSIVE, f"interval contains {at_least:g}"
    elif reached == want:
        verdict, why = HOLDS, (f"lower end {ci[0]:.1f} >= {at_least:g}" if want else f"upper end {ci[1]:.1f} < {at_least:g}")
    else:
        verdict, why = FAILS, (f"upper end {ci[1]:.1f} < {at_least:g}" if want else f"lower end {ci[0]:.1f} >= {at_least:g}")
    mixed = precision_note({label: a}, sorted(a.values))
    return Finding(task, what, verdict, mean, ci, len(vals), "%", f"{mean:.1f}%, {_ci_text(ci)}: {why}{mixed}", per_seed)


def faster(task: str, what: str, a_steps: Row, b_steps: Row, b_trained: Row,
           labels: tuple[str, str]) -> Finding:
    """X reaches the threshold in fewer steps than Y on every matched seed (a seed that never reaches it is censored)."""
    if not a_steps.ok or not b_steps.ok:
        return missing_finding(task, what, {lab: r.missing or "no value"
                                            for lab, r in zip(labels, (a_steps, b_steps)) if not r.ok})
    seeds = sorted(set(a_steps.values) & set(b_steps.values))
    per_seed = {labels[0]: dict(a_steps.values), labels[1]: dict(b_steps.values)}
    if not seeds:
        return Finding(task, what, INCONCLUSIVE, note="no seed run by both rows", unit="x", seeds=per_seed)
    wins, reached_any, ratios, lower_bounds = 0, False, [], []
    for s in seeds:
        xa, xb = a_steps.values[s], b_steps.values[s]
        tb = b_trained.values.get(s)
        reached_any |= xa is not None or xb is not None
        if xa is not None and (xb is None or xa < xb):
            wins += 1
        if xa is not None and xa > 0:
            if xb is not None:
                ratios.append(xb / xa)
            elif tb is not None:
                lower_bounds.append(tb / xa)  # Y never reached it in tb steps: its speed-up is at least tb / xa
    n = len(seeds)
    if wins == n and n >= MIN_SEEDS:
        verdict, why = HOLDS, f"{labels[0]} faster on all {n} seeds"
    elif n < MIN_SEEDS:
        verdict, why = INCONCLUSIVE, "one matched seed"
    elif wins == 0 and reached_any:
        verdict, why = FAILS, f"{labels[0]} faster on none of {n} seeds"
    elif not reached_any:
        verdict, why = INCONCLUSIVE, "neither reached the threshold within the budget (a longer budget is needed)"
    else:
        verdict, why = INCONCLUSIVE, f"{labels[0]} faster on {wins} of {n} seeds"
    both = ratios + lower_bounds
    estimate = min(both) if both else None  # the smallest per-seed speed-up (a lower bound where censored)
    est_text = "" if estimate is None else (f"speed-up >= {estimate:.1f}x" if lower_bounds else f"speed-up {estimate:.1f}x (min over seeds)")
    note = f"{est_text + '; ' if est_text else ''}{why}{precision_note(dict(zip(labels, (a_steps, b_steps))), seeds)}"
    return Finding(task, what, verdict, estimate, None, n, "x", note, per_seed)


def combine(findings: list[Finding], require_all: bool = False) -> tuple[str, str]:
    """Overall verdict from per-task findings, with a one-line reason.

    Any *does not hold* -> does not hold; every measured finding *holds* -> holds; nothing measured ->
    not measured; otherwise inconclusive. With ``require_all`` (the parts of one claim, e.g. FPT on both
    bit tasks *and* the LSTM on Bit Memory) a missing part makes the claim inconclusive at best.
    """
    measured = [f for f in findings if f.verdict != NOT_MEASURED]
    per_task: dict[str, int] = {}
    for f in findings:
        per_task[f.task] = per_task.get(f.task, 0) + 1

    def names(fs: list[Finding]) -> str:
        # a task with several findings names the part ("bit-memory (LSTM does not solve it)"), so
        # "does not hold on bit-memory; not measured: bit-memory" never reads as a contradiction
        return ", ".join(sorted({f.task if per_task[f.task] == 1 else f"{f.task} ({f.what})" for f in fs}))

    missing = names([f for f in findings if f.verdict == NOT_MEASURED])
    scope = f"; not measured: {missing}" if missing else ""
    if not measured:
        return NOT_MEASURED, ("not measured on any task" + (f" ({missing})" if missing else "")
                              + ": each lacks a row it compares; the details say what")
    fails = [f for f in measured if f.verdict == FAILS]
    holds = [f for f in measured if f.verdict == HOLDS]
    open_ = names([f for f in measured if f.verdict == INCONCLUSIVE])
    if fails:  # the tasks where it does hold are part of the answer: "fails on one of three" is not "fails"
        return FAILS, (f"does not hold on {names(fails)}" + (f"; holds on {names(holds)}" if holds else "")
                       + (f"; open on {open_}" if open_ else "") + scope)
    if require_all and missing:
        return INCONCLUSIVE, f"parts measured hold or are open, but not everything the claim needs{scope}"
    if len(holds) == len(measured):
        return HOLDS, f"holds on {names(holds)}{scope}"
    return INCONCLUSIVE, f"open on {open_}" + (f"; holds on {names(holds)}" if holds else "") + scope
