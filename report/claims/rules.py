"""Decision rules shared by the claims: comparisons with a status, the choice among profiles, the verdict.

A comparison (a :class:`Finding`) compares rows of one profile on one task. Its statistics:

- **gain** (``X beats Y``): the 95% t-interval of mean(X - Y) over matched seeds; *holds* if its
  lower end is above 0, *does not hold* if its upper end is at or below 0;
- **non-inferiority** (``X matches Y within m``): *holds* if the lower end is at or above -m, *does
  not hold* if the upper end is below -m;
- **level** (``X solves the task`` / ``X does not``): the t-interval of X's mean against the level;
- **faster** (steps to threshold, censored): per matched seed X is faster when it reached the
  threshold and Y did not, or reached it in fewer steps; *holds* if faster on every seed, *does not
  hold* if slower on every seed; equal steps on every seed is a tie.

Then the gate (:func:`gate`): a comparison may keep *holds* / *does not hold* only when it has at
least ``MIN_SEEDS`` matched seeds and every row trained and converged (``report.claims.evidence``);
a row that fails to reach a level decides only once it converged; rows all at the ceiling are a tie.
Anything else is *open* with its reason. The t-interval is what its label says (the percentile
bootstrap over 2-3 seeds is the seed range); where every seed falls on one side the note says "all n
seeds agree", which is then the evidence in plain words.

Per task, the comparison with the longest budget (the smallest budget of its rows, then the largest)
decides (:func:`decide`); the others are listed as superseded. :func:`combine` makes the claim's verdict.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Callable, Iterable

from ..cells import seeds_per_precision
from ..uncertainty import paired_t_interval, t_interval
from .base import (DECISIVE, EARLY, EQUAL_STEPS, FAILS, FEW_SEEDS, HOLDS, NOT_MEASURED, NOT_TRAINED, OPEN, STRADDLES, TIE,
                   Finding)
from .evidence import CEILING, CEILING_MARGIN, Row

MIN_SEEDS = 3
GAIN, MATCH, REACH, MISS, STEPS = "gain", "match", "reach", "miss", "steps"  # kinds of comparison (the gate's)


def _fmt(x: float) -> str:
    return f"{x:+.1f}" if math.isfinite(x) else str(x)


def _ci_text(ci: tuple[float, float] | None) -> str:
    return "one seed, no interval" if ci is None else f"95% t-interval [{ci[0]:.1f}, {ci[1]:.1f}]"


def short(f: Finding) -> str:
    """``what: +1.2 [0.3, 2.0] -> holds`` (one seed: ``(1 seed)`` instead of an interval)."""
    if f.estimate is None:
        return f"{f.what}: {f.verdict}"
    ci = f" [{f.ci[0]:.1f}, {f.ci[1]:.1f}]" if f.ci is not None else f" ({f.n} seed{'s' if f.n != 1 else ''})"
    return f"{f.what}: {f.estimate:+.1f}{ci} -> {f.verdict}"


def missing_finding(task: str, what: str, reasons: dict[str, str], profile: str = "", part: str = "") -> Finding:
    """A finding for a comparison that lacks a row: the rows' own reasons (never run, needs data, ...)."""
    by_reason: dict[str, list[str]] = {}
    for label, why in reasons.items():
        by_reason.setdefault(why, []).append(label)
    note = "; ".join(f"{', '.join(labels)}: {why}" for why, labels in by_reason.items())
    return Finding(task, what, NOT_MEASURED, note=note, profile=profile, part=part)


def precision_note(rows: dict[str, Row], seeds: list[int]) -> str:
    """'' when every run compared computed in one precision; else which row's seeds ran in which."""
    per_row = {label: row.precisions(seeds) for label, row in rows.items()}
    if len({p for precs in per_row.values() for p in precs.values()}) < 2:
        return ""
    return "; mixed precision: " + "; ".join(f"{label} {seeds_per_precision(precs.keys(), precs.values())}"
                                            for label, precs in per_row.items())


def matched(a: Row, b: Row) -> tuple[list[int], list[float], list[float]]:
    seeds = sorted(set(a.values) & set(b.values))
    return seeds, [a.values[s] for s in seeds], [b.values[s] for s in seeds]


def _context(rows: dict[str, Row], seeds: list[int]) -> dict:
    """The fields every comparison carries about its rows: profile, budgets, means, status."""
    profile = next((r.profile for r in rows.values() if r.profile), "")
    return dict(profile=profile, budgets={k: r.budget for k, r in rows.items()},
                means={k: r.mean(seeds) for k, r in rows.items()}, rows={k: r.status() for k, r in rows.items()},
                trained={k: r.trained for k, r in rows.items()}, converged={k: r.converged for k, r in rows.items()})


def _agree(values: list[float], bound: float, above: bool) -> str:
    n = len(values)
    if n >= 2 and all((v > bound) if above else (v < bound) for v in values):
        return f"; all {n} seeds agree"
    return ""


def paired_rule(task: str, what: str, a: Row, b: Row, labels: tuple[str, str], bound: float, op: str,
                kind: str | None, part: str = "") -> Finding:
    """X - Y against ``bound`` on the 95% t-interval of mean(X - Y) over matched seeds, then the gate
    (``kind`` None: the interval's verdict alone, for a part of a comparison that is gated as a whole)."""
    rows = dict(zip(labels, (a, b)))
    if not a.ok or not b.ok:
        return missing_finding(task, what, {lab: r.missing or "no value" for lab, r in rows.items() if not r.ok},
                               a.profile or b.profile, part)
    seeds, xa, xb = matched(a, b)
    per_seed = {labels[0]: dict(a.values), labels[1]: dict(b.values)}
    if not seeds:
        return Finding(task, what, OPEN, note="no seed run by both rows", seeds=per_seed, open_reason=FEW_SEEDS,
                       part=part, **_context(rows, seeds))
    mean, ci = paired_t_interval(xa, xb)
    above = (lambda x: x > bound) if op == ">" else (lambda x: x >= bound)
    other = "<=" if op == ">" else "<"
    diffs = [x - y for x, y in zip(xa, xb)]
    if ci is None:
        verdict, why = OPEN, "one matched seed: no interval"
    elif above(ci[0]):
        verdict, why = HOLDS, f"lower end {ci[0]:.1f} {op} {bound:g}" + _agree(diffs, bound, True)
    elif not above(ci[1]):
        verdict, why = FAILS, f"upper end {ci[1]:.1f} {other} {bound:g}" + _agree(diffs, bound, False)
    else:
        verdict, why = OPEN, f"interval contains {bound:g}"
    mixed = precision_note(rows, seeds)
    f = Finding(task, what, verdict, mean, ci, len(seeds), "pts", f"{_fmt(mean)} pts, {_ci_text(ci)}: {why}{mixed}",
                per_seed, part=part, open_reason=STRADDLES if verdict == OPEN else "", **_context(rows, seeds))
    return gate(f, rows, kind, seeds) if kind else f


def gain(task: str, what: str, a: Row, b: Row, labels: tuple[str, str], part: str = "", gated: bool = True) -> Finding:
    """X beats Y: t-interval of mean(X - Y) entirely above 0 (rows all at the ceiling: a tie)."""
    return paired_rule(task, what, a, b, labels, 0.0, ">", GAIN if gated else None, part)


def non_inferior(task: str, what: str, a: Row, b: Row, labels: tuple[str, str], margin: float, part: str = "",
                 gated: bool = True) -> Finding:
    """X matches Y within ``margin`` points: t-interval of mean(X - Y) at or above -margin."""
    return paired_rule(task, what, a, b, labels, -margin, ">=", MATCH if gated else None, part)


def level(task: str, what: str, a: Row, label: str, at_least: float, want: bool = True, part: str = "") -> Finding:
    """``a`` reaches ``at_least`` (% test accuracy): t-interval of its mean at or above it (``want=False``:
    the claim is that it stays below it)."""
    if not a.ok:
        return missing_finding(task, what, {label: a.missing or "no value"}, a.profile, part)
    seeds = sorted(a.values)
    vals = [a.values[s] for s in seeds]
    mean, ci = t_interval(vals)
    per_seed = {label: dict(a.values)}
    ctx = _context({label: a}, seeds)
    if ci is None:
        f = Finding(task, what, OPEN, mean, None, len(vals), "%", f"{mean:.1f}%, one seed: no interval", per_seed,
                    part=part, open_reason=FEW_SEEDS, **ctx)
        return gate(f, {label: a}, REACH if want else MISS, seeds)
    reached, below = ci[0] >= at_least, ci[1] < at_least
    if reached:
        why = f"lower end {ci[0]:.1f} >= {at_least:g}" + _agree(vals, at_least - 1e-9, True)
    elif below:
        why = f"upper end {ci[1]:.1f} < {at_least:g}" + _agree(vals, at_least, False)
    else:
        why = f"interval contains {at_least:g}"
    verdict = OPEN if not (reached or below) else (HOLDS if reached == want else FAILS)
    mixed = precision_note({label: a}, seeds)
    f = Finding(task, what, verdict, mean, ci, len(vals), "%", f"{mean:.1f}%, {_ci_text(ci)}: {why}{mixed}", per_seed,
                part=part, open_reason=STRADDLES if verdict == OPEN else "", **ctx)
    return gate(f, {label: a}, REACH if want else MISS, seeds)


def faster(task: str, what: str, a_steps: Row, b_steps: Row, b_trained: Row, labels: tuple[str, str],
           part: str = "") -> Finding:
    """X reaches the threshold in fewer steps than Y on every matched seed (a seed that never reaches it
    is censored at its budget); equal steps on every seed is a tie."""
    rows = dict(zip(labels, (a_steps, b_steps)))
    if not a_steps.ok or not b_steps.ok:
        return missing_finding(task, what, {lab: r.missing or "no value" for lab, r in rows.items() if not r.ok},
                               a_steps.profile or b_steps.profile, part)
    seeds = sorted(set(a_steps.values) & set(b_steps.values))
    per_seed = {labels[0]: dict(a_steps.values), labels[1]: dict(b_steps.values)}
    ctx = _context(rows, seeds)
    ctx["means"] = {}  # steps with censored seeds have no mean
    if not seeds:
        return Finding(task, what, OPEN, note="no seed run by both rows", unit="x", seeds=per_seed,
                       open_reason=FEW_SEEDS, part=part, **ctx)
    wins = losses = 0
    reached_any, ratios, lower_bounds = False, [], []
    for s in seeds:
        xa, xb = a_steps.values[s], b_steps.values[s]
        tb = b_trained.values.get(s)
        reached_any |= xa is not None or xb is not None
        if xa is not None and (xb is None or xa < xb):
            wins += 1
        elif xb is not None and (xa is None or xb < xa):
            losses += 1
        if xa is not None and xa > 0:
            if xb is not None:
                ratios.append(xb / xa)
            elif tb is not None:
                lower_bounds.append(tb / xa)  # Y never reached it in tb steps: its speed-up is at least tb / xa
    n = len(seeds)
    reason = ""
    if not reached_any:
        verdict, why, reason = OPEN, "neither reached the threshold within the budget (a longer budget is needed)", EARLY
    elif wins == n:
        verdict, why = HOLDS, f"{labels[0]} faster on all {n} seeds"
    elif losses == n:
        verdict, why = FAILS, f"{labels[0]} slower on all {n} seeds"
    elif wins == 0 and losses == 0:
        verdict, why, reason = OPEN, f"equal steps on all {n} seeds", EQUAL_STEPS
    else:
        verdict, why, reason = OPEN, f"{labels[0]} faster on {wins}, slower on {losses} of {n} seeds", STRADDLES
    both = ratios + lower_bounds
    estimate = min(both) if both else None  # the smallest per-seed speed-up (a lower bound where censored)
    est_text = "" if estimate is None else (f"speed-up >= {estimate:.1f}x" if lower_bounds else f"speed-up {estimate:.1f}x (min over seeds)")
    note = f"{est_text + '; ' if est_text else ''}{why}{precision_note(rows, seeds)}"
    f = Finding(task, what, verdict, estimate, None, n, "x", note, per_seed, part=part, open_reason=reason, **ctx)
    return gate(f, rows, STEPS, seeds)


def gate(f: Finding, rows: dict[str, Row], kind: str, seeds: list[int]) -> Finding:
    """A decisive verdict stands only on a comparison that can decide; else *open* with the first reason:
    a tie at the ceiling, fewer than ``MIN_SEEDS`` seeds, a row that did not train, early training."""
    f = replace(f, kind=kind)
    reason, why = "", ""
    if kind == GAIN and all(r.at_ceiling(seeds) for r in rows.values()):
        reason, why = TIE, f"every row at the ceiling ({', '.join(f'{k} {r.mean(seeds):.1f}%' for k, r in rows.items())})"
    elif f.tie:
        return f
    elif f.n < MIN_SEEDS:
        reason, why = FEW_SEEDS, f"{f.n} matched seed{'s' if f.n != 1 else ''}, at least {MIN_SEEDS} needed"
    elif kind in (GAIN, MATCH) and not all(r.trained for r in rows.values()):
        untrained = {k: r for k, r in rows.items() if not r.trained}
        # a row that did not train within a budget short of convergence may yet: that is early training
        reason = EARLY if all(not r.converged for r in untrained.values()) else NOT_TRAINED
        why = "; ".join(f"{k} did not train ({r.trained_note})" + ("" if r.converged else f" within {r.converged_note}")
                        for k, r in untrained.items())
    else:
        # a row that reached the level, or a comparison of levels, is final only once every row converged;
        # a row that reached a level has settled that much whatever comes later
        final = {GAIN: True, MATCH: True, STEPS: False, REACH: f.verdict == FAILS, MISS: f.verdict == HOLDS}[kind]
        early = {k: r for k, r in rows.items() if not r.converged}
        if final and early:
            reason, why = EARLY, "; ".join(f"{k} {r.converged_note}" for k, r in early.items())
    if not reason:
        return f
    return replace(f, verdict=OPEN, open_reason=reason, note=f"{reason}: {why}; {f.note}" if f.note else f"{reason}: {why}")


def decide(candidates: Iterable[Finding]) -> list[Finding]:
    """Per slot (task, part) the comparison with the longest budget decides; the others are superseded.

    Measured comparisons beat not-measured ones; among measured, the smallest row budget, then the
    largest, then the seed count rank them (profiles at equal budgets: the first given). Of a slot with
    nothing measured, one not-measured finding stays (the first given: the headline profile's)."""
    by_slot: dict[tuple[str, str], list[Finding]] = {}
    for f in candidates:
        by_slot.setdefault(f.slot, []).append(f)
    out: list[Finding] = []
    for fs in by_slot.values():
        measured = [f for f in fs if f.verdict != NOT_MEASURED]
        if not measured:
            out.append(fs[0])
            continue
        best = max(measured, key=lambda f: (min(f.budgets.values(), default=0), max(f.budgets.values(), default=0), f.n))
        out.append(best)
        label = f"{best.profile} ({_budget_text(best)})"
        out += [replace(f, superseded=label) for f in measured if f is not best]
    return out


def _budget_text(f: Finding) -> str:
    steps = sorted(set(f.budgets.values()))
    return " / ".join(f"{s:,}" for s in steps) + " steps" if steps else "no budget"


def across(profiles: Iterable[str], build: Callable[[str], list[Finding]]) -> list[Finding]:
    """``build(profile)`` for each profile, then :func:`decide`: one deciding comparison per slot."""
    return decide([f for p in profiles for f in build(p)])


def combine(findings: list[Finding], require_all: bool = False) -> tuple[str, str]:
    """Overall verdict from the deciding findings (superseded ones never count), with a one-line reason.

    Any *does not hold* -> does not hold; every decisive finding *holds* and the rest are ties -> holds;
    nothing measured -> not measured; otherwise open. A tie (at the ceiling, or equal steps) neither
    decides nor blocks. With ``require_all`` (the parts of one claim) a missing part leaves it open at best.
    """
    live = [f for f in findings if not f.superseded]
    measured = [f for f in live if f.verdict != NOT_MEASURED]

    names, open_text = _names, _open_text
    missing = names([f for f in live if f.verdict == NOT_MEASURED])
    scope = f"; not measured: {missing}" if missing else ""
    if not measured:
        return NOT_MEASURED, ("not measured on any task" + (f" ({missing})" if missing else "")
                              + ": each lacks a row it compares; the details say what")
    fails = [f for f in measured if f.verdict == FAILS]
    holds = [f for f in measured if f.verdict == HOLDS]
    ties = [f for f in measured if f.tie]
    opens = [f for f in measured if f.verdict == OPEN and not f.tie]

    # early training is "not measured at convergence yet": it neither decides nor, unless every part of the
    # claim is required, blocks; every other open reason (few seeds, a baseline that did not train at a
    # converged budget, grid edge, an interval on the bound) blocks "holds"
    blocking = [f for f in opens if require_all or f.open_reason != EARLY]
    tie_text = f"; tie on {names(ties)}" if ties else ""
    early_text = f"; {open_text([f for f in opens if f not in blocking])}" if len(blocking) < len(opens) else ""
    if fails:
        return FAILS, (f"does not hold on {names(fails)}" + (f"; holds on {names(holds)}" if holds else "")
                       + (f"; {open_text(opens)}" if opens else "") + tie_text + scope)
    if holds and not blocking and not (require_all and missing):
        return HOLDS, f"holds on {names(holds)}{tie_text}{early_text}{scope}"
    if not holds and not opens:
        return OPEN, f"tie on {names(ties)}{scope}"
    if not opens:
        return OPEN, f"holds on {names(holds)}{tie_text}, but not every part is measured{scope}"
    return OPEN, open_text(opens) + (f"; holds on {names(holds)}" if holds else "") + tie_text + scope


def _names(fs: list[Finding]) -> str:
    return ", ".join(dict.fromkeys(f"{f.task} ({f.part})" if f.part else f.task for f in fs))


def _open_text(fs: list[Finding]) -> str:
    return "; ".join(f"open on {_names(g)} ({reason})" for reason, g in _by_reason(fs).items())


def _by_reason(fs: list[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in fs:
        out.setdefault(f.open_reason or "open", []).append(f)
    return out


# -- the README's one line ------------------------------------------------------------------------------
ROW_CHARS = 200  # a README row (claim, verdict, evidence) stays under about this many characters


def finding_line(f: Finding) -> str:
    """One comparison in plain words: ``FPT 99.6% vs random-frozen 75.1% on bit-memory (4,000 steps, n=3)``."""
    where = f"{f.task}" + (f" [{f.part}]" if f.part and f.part not in f.what else "")
    steps = list(f.budgets.values())
    budgets = f"{steps[0]:,}" if len(set(steps)) == 1 else " vs ".join(f"{b:,}" for b in steps)
    tail = f"({budgets} steps, n={f.n})" if steps else f"(n={f.n})"
    if f.unit == "x":
        if f.estimate is None:
            return f"{where}: {f.note.split(';')[0]} {tail}"
        bound = ">=" if ">=" in f.note.split(";")[0] else ""
        return f"{where} {bound}{f.estimate:.1f}x faster {tail}"
    if f.means and all(math.isfinite(v) for v in f.means.values()):
        if len(f.means) > 2:
            vals = ", ".join(f"{k} {v:.1f}" for k, v in f.means.items()) + "%"
        else:
            vals = " vs ".join(f"{k} {v:.1f}%" for k, v in f.means.items())
        return f"{vals} on {where} {tail}"
    return f"{f.what} on {where} {tail}"


def _all_at_ceiling(f: Finding) -> bool:
    return f.unit == "pts" and bool(f.means) and all(v >= CEILING - CEILING_MARGIN for v in f.means.values())


def evidence_line(verdict: str, findings: list[Finding], max_chars: int = 150) -> str:
    """The README's one line: the findings that decide the verdict (or keep it open, blocking reasons
    first), numbers first, as many as fit in ``max_chars``, then how many more the details hold. A
    decisive verdict with tasks still open names them last, so its scope is never only in the details."""
    live = [f for f in findings if not f.superseded and f.verdict != NOT_MEASURED]
    if verdict == NOT_MEASURED or not live:
        return "no comparison measured; the details list the commands"
    still_open = [f for f in live if f.verdict == OPEN and not f.tie]
    tail = f"; open: {_names(still_open)}" if verdict in DECISIVE and still_open else ""
    max_chars -= len(tail)
    if verdict == FAILS:
        key = [f for f in live if f.verdict == FAILS]
    elif verdict == HOLDS:
        # a match with every row at the ceiling (100% vs 100%) shows least of what a claim means: last
        key = sorted((f for f in live if f.verdict in DECISIVE), key=_all_at_ceiling)
    else:
        opens = [f for f in live if f.verdict == OPEN and not f.tie]
        key = sorted(opens, key=lambda f: f.open_reason == EARLY) + [f for f in live if f.verdict in DECISIVE]
    parts: list[str] = []
    for f in key:
        text = finding_line(f)
        if verdict == OPEN and f.open_reason:
            text = f"{f.open_reason}: {text}"
        if parts and len("; ".join(parts + [text])) > max_chars:
            break
        parts.append(text)
    more = len(key) - len(parts)
    return "; ".join(parts) + (f"; +{more} more in the details" if more else "") + tail
