"""Checking every registered claim on every group, and writing the result as Markdown and JSON.

``render_claims(runs, out_dir)`` writes ``claims.md`` and ``claims.json`` (the report calls it);
``readme_block`` is the compact table a README embeds between generated-block markers (see
``report.claims.readme``). Everything is a pure function of the runs table (bootstrap draws are
seeded), so a re-render is byte-identical and ``fptbench report --check`` covers it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from ..compute import absence_reasons
from ..coverage import coverage_by_profile
from .base import FAILS, HOLDS, INCONCLUSIVE, NOT_MEASURED, ClaimResult, all_claims
from .evidence import ClaimContext, Group, claim_groups, run_table

MD_FILE = "claims.md"
JSON_FILE = "claims.json"
MARK = {HOLDS: "✅ holds", FAILS: "❌ does not hold", INCONCLUSIVE: "❔ inconclusive", NOT_MEASURED: "⬜ not measured"}


def evaluate_claims(runs: pd.DataFrame, absence: Mapping[str, str] | None = None, results_hint: str = "RESULTS",
                    select: Any = None, names: Sequence[str] | None = None) -> list[tuple[Group, list[ClaimResult]]]:
    """Every registered claim (or ``names``) checked on every (profile, language backbone) group, headline first."""
    from .paper import PAPER_TASKS

    rec = run_table(runs)
    absence = dict(absence) if absence is not None else absence_reasons(PAPER_TASKS)
    claims = [c for c in all_claims() if names is None or c.name in names]
    out = []
    for group in claim_groups(rec):
        ctx = ClaimContext(rec, group, absence, results_hint, select, runs)
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


def summary_table(group: Group, results: list[ClaimResult]) -> str:
    """The one-screen table: claim, verdict, why (Markdown)."""
    lines = ["| # | claim (paper) | verdict | why |", "|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.number} | {_md_escape(r.title)} ({_md_escape(r.paper_ref)}) | {MARK[r.verdict]} | "
                     f"{_md_escape(r.reason)} |")
    return "\n".join(lines)


def readme_block(checked: list[tuple[Group, list[ClaimResult]]], report_link: str | None = None,
                 coverage: Mapping[str, str] | None = None) -> str:
    """The headline group's claims table with its backbone and profile named: what a README embeds.
    ``coverage``: profile -> how much of its suite the results hold (report/coverage.py)."""
    group, results = checked[0]
    head = f"**Does the paper hold?** Checked on {group.label}, from the committed results"
    lines = [head + (f" ([details]({report_link}))." if report_link else "."), ""]
    if coverage and group.profile in coverage:
        lines += [coverage[group.profile], ""]
    lines += [summary_table(group, results), ""]
    lines += companion_table(checked[1:], coverage)
    lines.append("Verdicts need at least 2 seeds and 95% bootstrap intervals over seeds; each claim's decision rule is "
                 "stated in the details. A stand-in backbone tests the claims on *that* backbone, not on GPT-2.")
    return "\n".join(lines) + "\n"


def companion_table(others: list[tuple[Group, list[ClaimResult]]], coverage: Mapping[str, str] | None = None) -> list[str]:
    """The claims other groups of the same results measure (e.g. ``cpu-converge``'s Table 6), below the
    headline's table: a narrow profile settles what the headline leaves open, and the first screen
    should show it, labelled with its own profile. Claims a group does not measure are left out."""
    rows = [(g, r) for g, results in others for r in results if r.verdict != NOT_MEASURED]
    if not rows:
        return []
    lines = ["Also measured in these results, on other profiles (their own sections in the details):", ""]
    for profile in dict.fromkeys(g.profile for g, _ in rows):  # each profile's coverage line, once, in order
        if coverage and profile in coverage:
            lines += [coverage[profile], ""]
    lines += ["| profile, backbone | # | claim | verdict | why |", "|---|---|---|---|---|"]
    for g, r in rows:
        lines.append(f"| `{g.profile}`, `{g.backbone}` | {r.number} | {_md_escape(r.title)} | {MARK[r.verdict]} | "
                     f"{_md_escape(r.reason)} |")
    return lines + [""]


def to_markdown(checked: list[tuple[Group, list[ClaimResult]]], coverage: Mapping[str, str] | None = None) -> str:
    out = ["# The paper's claims, checked on these results", "",
           "Each claim is a decision rule over the runs table (report/claims/, docs/claims.md): *holds* and *does not "
           "hold* need at least 2 seeds and 95% bootstrap intervals over seeds (paired over matched seeds for a "
           "difference); *inconclusive* means measured but not settled; *not measured* lists the commands that would "
           "measure it. One section per (profile, backbone): a stand-in backbone tests the claims on that backbone.", ""]
    for group, results in checked:
        out += [f"## {group.label}", ""]
        if coverage and group.profile in coverage:
            out += [coverage[group.profile], ""]
        out += [summary_table(group, results), ""]
        for r in results:
            out += [f"### {r.number}. {r.title} — {MARK[r.verdict]}", "", f"*Claim ({r.paper_ref}).* {r.statement}", "",
                    f"*Rule.* {r.rule}", "", f"*Verdict.* {r.verdict}: {r.reason}.", ""]
            if r.findings:
                out += ["| task | comparison | verdict | estimate [95% CI] | n | why |", "|---|---|---|---|---|---|"]
                for f in r.findings:
                    out.append(f"| {f.task} | {_md_escape(f.what)} | {f.verdict} | {_estimate(f)} | {f.n or ''} | "
                               f"{_md_escape(f.note)} |")
                out.append("")
            if r.commands:
                out += ["<details><summary>Commands that would measure what is missing</summary>", "", "```sh"]
                out += list(r.commands)
                out += ["```", "", "</details>", ""]
    return "\n".join(out).rstrip() + "\n"


def to_json(checked: list[tuple[Group, list[ClaimResult]]]) -> str:
    payload = {"fptbench_claims": 1, "groups": [
        {"profile": g.profile, "backbone": g.backbone, "stand_in_for": g.stand_in_for,
         "claims": [r.to_dict() for r in results]} for g, results in checked]}
    return json.dumps(payload, indent=2, sort_keys=True, allow_nan=False) + "\n"


def render_claims(runs: pd.DataFrame, out_dir: Path | str, absence: Mapping[str, str] | None = None,
                  results_hint: str = "RESULTS") -> list[Path]:
    """Write ``claims.md`` and ``claims.json`` into ``out_dir``; return their paths (the report's hook)."""
    out_dir = Path(out_dir)
    checked = evaluate_claims(runs, absence, results_hint)
    md, js = out_dir / MD_FILE, out_dir / JSON_FILE
    md.write_text(to_markdown(checked, coverage_by_profile(runs, results_hint)), encoding="utf-8")
    js.write_text(to_json(checked), encoding="utf-8")
    return [md, js]
