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

MD_FILE = "claims.md"
JSON_FILE = "claims.json"
MARK = {HOLDS: "✅ holds", FAILS: "❌ does not hold", OPEN: "❔ open", NOT_MEASURED: "⬜ not measured"}
Group = ClaimGroup


def evaluate_claims(runs: pd.DataFrame, absence: Mapping[str, str] | None = None, results_hint: str = "RESULTS",
                    select: Any = None, names: Sequence[str] | None = None,
                    results_dirs: Sequence[Path | str] | None = None, curves: pd.DataFrame | None = None,
                    predictions: pd.DataFrame | None = None) -> list[tuple[ClaimGroup, list[ClaimResult]]]:
    """Every registered claim (or ``names``) checked once per language backbone, every profile as evidence.

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
    for group in claim_groups(rec):
        ctx = ClaimContext(rec, group, absence, results_hint, select, runs, evidence)
        out.append((group, [c.evaluate(ctx) for c in claims]))
    return out


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


def readme_block(checked: list[tuple[ClaimGroup, list[ClaimResult]]], report_link: str | None = None,
                 coverage: Mapping[str, str] | None = None) -> str:
    """The first backbone's claims: one sentence, one table, one line of rules; what a README embeds.
    ``coverage``: profile -> how much of its suite the results hold (report/coverage.py), listed below."""
    group, results = checked[0]
    head = "**Does the paper hold?** " + budgets_sentence(group, results)
    lines = [head + (f" [Details]({report_link})." if report_link else ""), ""]
    lines += [summary_table(results), ""]
    lines.append("Decisive verdicts need 3 matched seeds, rows that trained and converged, and a 95% t-interval "
                 "clear of the rule's bound; else *open* with the reason. A stand-in backbone tests the claims on "
                 "*that* backbone, not on GPT-2.")
    if coverage:
        lines += [""] + [coverage[p] for p in group.profiles if p in coverage]
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
    for group, results in checked:
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
         "claims": [r.to_dict() for r in results]} for g, results in checked]}
    return json.dumps(payload, indent=2, sort_keys=True, allow_nan=False) + "\n"


def render_claims(runs: pd.DataFrame, out_dir: Path | str, absence: Mapping[str, str] | None = None,
                  results_hint: str = "RESULTS", results_dirs: Sequence[Path | str] | None = None) -> list[Path]:
    """Write ``claims.md`` and ``claims.json`` into ``out_dir``; return their paths (the report's hook)."""
    out_dir = Path(out_dir)
    checked = evaluate_claims(runs, absence, results_hint, results_dirs=results_dirs)
    md, js = out_dir / MD_FILE, out_dir / JSON_FILE
    md.write_text(to_markdown(checked, coverage_by_profile(runs, results_hint)), encoding="utf-8")
    js.write_text(to_json(checked), encoding="utf-8")
    return [md, js]
