"""The claims as an HTML section for the leaderboard site (``report/leaderboard/site.py`` inserts it).

The leaderboard must regenerate byte for byte on any machine (``fptbench leaderboard --check``),
so the reasons a cell is missing are machine-independent here ("no run in these results") instead
of the report's live ones (which say whether this machine has the data).
"""

from __future__ import annotations

import html

import pandas as pd

from ..coverage import coverage_by_profile
from ..markup import from_backticks
from ..markup import html as markup_html
from .base import FAILS, HOLDS, NOT_MEASURED, OPEN
from .output import evaluate_claims

CSS_CLASS = {HOLDS: "claim-holds", FAILS: "claim-fails", OPEN: "claim-open", NOT_MEASURED: "claim-missing"}
STYLE = (".claim-holds{color:#1a7f37;font-weight:600}.claim-fails{color:#cf222e;font-weight:600}"
         ".claim-open{color:#9a6700}.claim-missing{color:#57606a}")
NO_RUN = "no run in these results"
ANCHOR = '<section id="track-'


def claims_section(runs: pd.DataFrame, results_hint: str = "RESULTS", results_dirs=None) -> str:
    """``<section id="claims">``: one table per language backbone, verdict and evidence per claim."""
    from .paper import PAPER_TASKS

    from .planned import planned_backbones

    checked = evaluate_claims(runs, {t: NO_RUN for t in PAPER_TASKS}, results_hint, results_dirs=results_dirs,
                              planned=planned_backbones())
    coverage = coverage_by_profile(runs, results_hint)
    parts = [f"<style>{STYLE}</style>", '<section id="claims"><h2>Does the paper hold? The claims, checked</h2>',
             '<p class="small">Each claim is a decision rule over these results (docs/claims.md): <em>holds</em> and '
             "<em>does not hold</em> need 3 matched seeds, rows that trained and converged, and a 95% t-interval; "
             "every profile is evidence and per task the longest budget decides; a stand-in backbone "
             "tests the claim on that backbone, not on GPT-2. The report's claims.md has the numbers and the commands "
             "that would measure what is missing.</p>"]
    for group, results in checked:
        stand = f" (stand-in for {group.stand_in_for})" if group.stand_in_for else ""
        parts.append(f"<h3>backbone {html.escape(group.backbone)}{html.escape(stand)}, profiles "
                     f"{html.escape(group.profile)}</h3>")
        for p in group.profiles:
            if p in coverage:
                parts.append(f'<p class="small">{markup_html(from_backticks(coverage[p]))}</p>')
        parts.append("<table><thead><tr><th>#</th><th>claim</th><th>verdict</th><th>evidence</th></tr></thead><tbody>")
        for r in results:
            parts.append(f"<tr><td>{r.number}</td><td title=\"{html.escape(r.rule)}\">{html.escape(r.title)} "
                         f"<span class=\"small\">({html.escape(r.paper_ref)})</span></td>"
                         f"<td class=\"{CSS_CLASS[r.verdict]}\">{html.escape(r.verdict)}</td>"
                         f"<td title=\"{html.escape(r.reason)}\">{html.escape(r.evidence)}</td></tr>")
        parts.append("</tbody></table>")
    parts.append("</section>")
    return "\n".join(parts)


def insert_claims_section(index_html: str, runs: pd.DataFrame, results_hint: str = "RESULTS") -> str:
    """The index page with the claims section before the first track (else before ``</body>``)."""
    section = claims_section(runs, results_hint) + "\n"
    at = index_html.find(ANCHOR)
    if at < 0:
        at = index_html.rfind("</body>")
    if at < 0:
        return index_html + section
    return index_html[:at] + section + index_html[at:]
