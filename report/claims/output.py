"""Checking every registered claim on every group, and writing the result as Markdown and JSON.

``render_claims(runs, out_dir)`` writes ``claims.md`` and ``claims.json`` (the report calls it);
``readme_block`` is the compact table a README embeds between generated-block markers (see
``report.claims.readme``). Everything is a pure function of the runs table (bootstrap draws are
seeded), so a re-render is byte-identical and ``fptbench report --check`` covers it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from ..reasons import absence_reasons
from ..coverage import coverage_by_profile
from .base import FAILS, HOLDS, NOT_MEASURED, OPEN, ClaimResult, all_claims
from .evidence import ClaimContext, ClaimGroup, RunEvidence, claim_groups, records

NO_RUNS = "no runs"  # the reason every claim of a planned backbone without runs is open
NOT_COMPARABLE = "not yet comparable"

MD_FILE = "claims.md"
JSON_FILE = "claims.json"
MARK = {HOLDS: "✅ holds", FAILS: "❌ does not hold", OPEN: "❔ open", NOT_MEASURED: "⬜ not measured"}
Group = ClaimGroup


def evaluate_claims(runs: pd.DataFrame, absence: Mapping[str, str] | None = None, results_hint: str = "RESULTS",
                    select: Any = None, names: Sequence[str] | None = None,
                    results_dirs: Sequence[Path | str] | None = None, curves: pd.DataFrame | None = None,
                    predictions: pd.DataFrame | None = None,
                    planned: Mapping[str, tuple[str, ...]] | None = None) -> list[tuple[ClaimGroup, list[ClaimResult]]]:
    """Every registered claim (or ``names``) checked once per language backbone, every profile as evidence.

    ``planned``: backbone -> profiles that plan its runs (``evidence.planned_backbones``); one without runs
    here gets a group whose every claim is open with the reason "no runs" (never a verdict).

    ``results_dirs``: where the runs' curves and predictions are (default: ``results_hint`` when it is a
    directory); ``curves`` / ``predictions`` given directly instead (tests). Without them no row can be
    shown to have converged or trained, and the claims stay open: nothing is assumed."""
    from .paper import PAPER_TASKS

    if results_dirs is None:
        results_dirs = [results_hint] if Path(results_hint).is_dir() else []
    rec = records(runs)
    absence = dict(absence) if absence is not None else absence_reasons(PAPER_TASKS)
    claims = [c for c in all_claims() if names is None or c.name in names]
    evidence = RunEvidence(rec, curves, predictions, results_dirs)
    out = []
    for group in claim_groups(rec, planned):
        if not group.has_runs:
            out.append((group, [no_runs_result(c, group, results_hint) for c in claims]))
            continue
        ctx = ClaimContext(rec, group, absence, results_hint, select, runs, evidence)
        out.append((group, [c.evaluate(ctx) for c in claims]))
    return out


def no_runs_result(claim, group: ClaimGroup, results_hint: str) -> ClaimResult:
    """A claim on a backbone with no runs here: open, "no runs", with the sweeps that would run it."""
    cmds = tuple(f"fptbench sweep --profile {p} --results {results_hint} --workers 2" for p in group.profiles)
    where = f" (planned by profile {', '.join(f'`{p}`' for p in group.profiles)})" if group.profiles else ""
    return ClaimResult(name=claim.name, number=claim.number, title=claim.title, statement=claim.statement,
                       rule=claim.rule, paper_ref=claim.paper_ref, profile=", ".join(group.profiles),
                       backbone=group.backbone, stand_in_for=group.stand_in_for, verdict=OPEN,
                       reason=f"{NO_RUNS}: no run of backbone {group.backbone} in these results{where}",
                       commands=cmds, evidence=NO_RUNS)


def agreement(verdicts: Sequence[str]) -> str:
    """Whether the backbones' verdicts on one claim agree: only decisive verdicts are comparable."""
    if len(verdicts) < 2:
        return ""
    if not all(v in (HOLDS, FAILS) for v in verdicts):
        return NOT_COMPARABLE
    return f"agree ({verdicts[0]})" if len(set(verdicts)) == 1 else "disagree"


def agreements(checked: list[tuple[ClaimGroup, list[ClaimResult]]]) -> dict[str, str]:
    """Claim name -> agreement line across every backbone checked ({} with one backbone)."""
    if len(checked) < 2:
        return {}
    by_claim: dict[str, list[str]] = {}
    for _, results in checked:
        for r in results:
            by_claim.setdefault(r.name, []).append(r.verdict)
    return {name: agreement(v) for name, v in by_claim.items()}


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _estimate(f) -> str:
    if f.estimate is None:
        return ""
    if f.unit == "x":
        return f"{f.estimate:.1f}x"
    sign = "+" if f.unit == "pts" else ""
    text = f"{f.estimate:{sign}.1f}{' pts' if f.unit == 'pts' else '%'}"
    if f.ci is not None:
        text += f" [{f.ci[0]:.1f}, {f.ci[1]:.1f}]"
    return text


def _claim_cell(r: ClaimResult) -> str:
    return f"{r.number}. {_md_escape(r.title)}"


def summary_table(results: list[ClaimResult]) -> str:
    """One row per claim: claim, verdict, the evidence in one line (Markdown)."""
    lines = ["| claim | verdict | evidence |", "|---|---|---|"]
    for r in results:
        lines.append(f"| {_claim_cell(r)} | {MARK[r.verdict]} | {_md_escape(r.evidence)} |")
    return "\n".join(lines)


def budgets_sentence(group: ClaimGroup, results: list[ClaimResult]) -> str:
    """Backbone, what it stands in for, and the budgets the deciding comparisons trained, in one sentence."""
    steps: dict[str, set[int]] = {}
    for r in results:
        for f in r.findings:
            if not f.superseded and f.verdict != NOT_MEASURED:
                steps.setdefault(f.task, set()).update(f.budgets.values())
    budgets = "; ".join(f"{t} {'/'.join(f'{s:,}' for s in sorted(v))}" for t, v in sorted(steps.items()) if v)
    stand = f", standing in for {group.stand_in_for.split(' (')[0]}" if group.stand_in_for else ""
    return (f"Checked on backbone `{group.backbone}`{stand}, with every profile in the committed results as "
            f"evidence ({', '.join(f'`{p}`' for p in group.profiles)}); per task the longest budget decides "
            f"(steps: {budgets or 'none measured'}).")


def side_by_side(checked: list[tuple[ClaimGroup, list[ClaimResult]]]) -> str:
    """One row per claim: each backbone's verdict with its shortest evidence, and whether they agree."""
    from .rules import ROW_CHARS, evidence_line

    agree = agreements(checked)
    head = "| claim | " + " | ".join(f"`{g.backbone}`" for g, _ in checked) + " | backbones agree? |"
    lines = [head, "|---" * (len(checked) + 2) + "|"]
    for i, first in enumerate(checked[0][1]):
        cells = []
        short = [results[i] for _, results in checked if results[i].evidence == NO_RUNS]
        # what the row spends outside the evidence texts, counted exactly: the claim, the no-runs cells,
        # the agreement, the separators and each evidence cell's verdict mark
        fixed = (len(f"| {_claim_cell(first)} | ") + sum(len(f"{MARK[r.verdict]}: {r.evidence} | ") for r in short)
                 + len(f"| {agree.get(first.name, '')} |"))
        n_long = max(1, len(checked) - len(short))
        room = (ROW_CHARS - fixed) // n_long - len(f"{MARK[OPEN]}:  | ")
        for _, results in checked:
            r = results[i]
            text = r.evidence if r.evidence == NO_RUNS else evidence_line(r.verdict, list(r.findings), room)
            if len(text) > room:  # too long beside another backbone: the verdict's clauses that fit, in words
                clause = _clauses(r.reason, room + 12)
                cells.append(f"{MARK[r.verdict].split()[0]} {_md_escape(clause)}")
                continue
            cells.append(f"{MARK[r.verdict]}: {_md_escape(text)}")
        lines.append(f"| {_claim_cell(first)} | " + " | ".join(cells) + f" | {agree.get(first.name, '')} |")
    return "\n".join(lines)


def _clauses(reason: str, room: int) -> str:
    """The leading clauses of a verdict's reason ("holds on X; open on Y (early training)") that fit in
    ``room``; the first clause cut at a word when even it does not."""
    parts = [c.strip() for c in reason.split(";")]
    out = parts[0] if len(parts[0]) <= room else parts[0][:room].rsplit(" ", 1)[0] + " ..."
    for c in parts[1:]:
        if len(f"{out}; {c}") > room:
            break
        out = f"{out}; {c}"
    return out


def readme_block(checked: list[tuple[ClaimGroup, list[ClaimResult]]], report_link: str | None = None,
                 coverage: Mapping[str, str] | None = None) -> str:
    """The claims: one sentence per backbone, one table (backbones side by side with an agreement column
    when there are several), one line of rules; what a README embeds. ``coverage``: profile -> how much of
    its suite the results hold (report/coverage.py), listed below."""
    group, results = checked[0]
    if len(checked) > 1:
        head = "**Does the paper hold?** " + " ".join(
            budgets_sentence(g, r) if g.has_runs else f"Backbone `{g.backbone}`: {r[0].reason}." for g, r in checked)
        lines = [head + (f" [Details]({report_link})." if report_link else ""), "", side_by_side(checked), ""]
    else:
        head = "**Does the paper hold?** " + budgets_sentence(group, results)
        lines = [head + (f" [Details]({report_link})." if report_link else ""), ""]
        lines += [summary_table(results), ""]
    lines.append("Decisive verdicts need 3 matched seeds, rows that trained and converged, and a 95% t-interval "
                 "clear of the rule's bound; else *open* with the reason. A claim holds on the tasks whose "
                 "comparisons decide it; a task still in early training does not block it and is named *open* in "
                 "its row. A stand-in backbone tests the claims on "
                 "*that* backbone, not on GPT-2.")
    if len(checked) > 1:
        lines[-1] += (" Backbones agree on a claim when both verdicts are decisive and equal; an open or unmeasured "
                      f"verdict on either side is *{NOT_COMPARABLE}*.")
    if coverage:
        shown = dict.fromkeys(p for g, _ in checked if g.has_runs for p in g.profiles)
        lines += [""] + [coverage[p] for p in shown if p in coverage]
    return "\n".join(lines) + "\n"


def _finding_row(f) -> str:
    budgets = " / ".join(f"{k} {v:,}" for k, v in f.budgets.items())
    state = f.verdict + (f" ({f.open_reason})" if f.open_reason and f.verdict == OPEN else "")
    return (f"| {f.task}{' [' + f.part + ']' if f.part else ''} | `{f.profile}` | {_md_escape(f.what)} | {state} | "
            f"{_estimate(f)} | {f.n or ''} | {_md_escape(budgets)} | {_md_escape(f.note)} |")


def to_markdown(checked: list[tuple[ClaimGroup, list[ClaimResult]]], coverage: Mapping[str, str] | None = None) -> str:
    out = ["# The paper's claims, checked on these results", "",
           "Each claim is a decision rule over the runs (report/claims/, docs/claims.md). One verdict per claim "
           "and backbone: every profile in the results is evidence, and per task the comparison with the longest "
           "budget decides (the others are listed as superseded). *holds* / *does not hold* need at least 3 matched "
           "seeds, every compared row trained (not single-class, not at the majority-class rate) and converged "
           "(threshold reached, a flat validation curve, or the paper's convergence budget), and a 95% t-interval "
           "clear of the rule's bound; otherwise *open* with the reason. *not measured* lists the commands that would "
           "measure it. A stand-in backbone tests the claims on that backbone.", ""]
    agree = agreements(checked)
    if agree:
        out += ["## Do the backbones agree?", "", side_by_side(checked), "",
                f"Agreement needs a decisive verdict (holds / does not hold) on every backbone; otherwise "
                f"*{NOT_COMPARABLE}*.", ""]
    for group, results in checked:
        if not group.has_runs:
            out += [f"## backbone `{group.backbone}`", "", f"{results[0].reason}: every claim is open until its runs "
                    "are here (never a verdict). The sweeps that would run it:", "", "```sh", *results[0].commands,
                    "```", ""]
            continue
        out += [f"## {group.label}", "", budgets_sentence(group, results), ""]
        for p in group.profiles:
            if coverage and p in coverage:
                out += [coverage[p], ""]
        out += [summary_table(results), ""]
        for r in results:
            out += [f"### {r.number}. {r.title} — {MARK[r.verdict]}", "", f"*Claim ({r.paper_ref}).* {r.statement}", "",
                    f"*Rule.* {r.rule}", "", f"*Verdict.* {r.verdict}: {r.reason}.", ""]
            live = [f for f in r.findings if not f.superseded]
            old = [f for f in r.findings if f.superseded]
            head = ["| task | profile | comparison | verdict | estimate [95% t-interval] | n | steps | why |",
                    "|---|---|---|---|---|---|---|---|"]
            if live:
                out += ["Deciding comparisons:", ""] + head + [_finding_row(f) for f in live] + [""]
                status = {(f.task, f.profile, k): v for f in live for k, v in f.rows.items()}
                if status:
                    out += ["Row status (deciding comparisons):", ""]
                    out += [f"- {t}, `{p}`, {k}: {_md_escape(v)}" for (t, p, k), v in status.items()] + [""]
            if old:
                out += ["Superseded (a longer budget decides) or informational:", ""] + head
                out += [_finding_row(replace(f, note=(f.note if f.superseded.startswith("informational") else f"superseded by {f.superseded}; {f.note}"))) for f in old] + [""]
            if r.commands:
                out += ["<details><summary>Commands that would measure what is missing</summary>", "", "```sh"]
                out += list(r.commands)
                out += ["```", "", "</details>", ""]
    return "\n".join(out).rstrip() + "\n"


def to_json(checked: list[tuple[Group, list[ClaimResult]]]) -> str:
    payload = {"fptbench_claims": 2, "groups": [
        {"backbone": g.backbone, "stand_in_for": g.stand_in_for, "profiles": list(g.profiles),
         "has_runs": g.has_runs, "claims": [r.to_dict() for r in results]} for g, results in checked],
        "agreement": agreements(checked)}
    return json.dumps(payload, indent=2, sort_keys=True, allow_nan=False) + "\n"


def render_claims(runs: pd.DataFrame, out_dir: Path | str, absence: Mapping[str, str] | None = None,
                  results_hint: str = "RESULTS", results_dirs: Sequence[Path | str] | None = None) -> list[Path]:
    """Write ``claims.md`` and ``claims.json`` into ``out_dir``; return their paths (the report's hook)."""
    out_dir = Path(out_dir)
    from .planned import planned_backbones

    checked = evaluate_claims(runs, absence, results_hint, results_dirs=results_dirs, planned=planned_backbones())
    md, js = out_dir / MD_FILE, out_dir / JSON_FILE
    md.write_text(to_markdown(checked, coverage_by_profile(runs, results_hint)), encoding="utf-8")
    js.write_text(to_json(checked), encoding="utf-8")
    return [md, js]
