"""The paper's claims, checked by the benchmark: a registry of decision rules over the runs table.

``CLAIMS`` holds registered :class:`Claim` objects (built-ins in ``report.claims.paper``, declared in
pyproject's ``fptbench.builtins`` group as ``claim``; others through the ``fptbench.claims`` entry
point). ``evaluate_claims(runs)`` checks each on every (profile, language backbone) group and
``render_claims(runs, out_dir)`` writes ``claims.md`` / ``claims.json`` for the report. The decision
rules are stated in each claim's ``rule`` and in docs/claims.md.
"""

from __future__ import annotations

from .base import (CLAIMS, FAILS, HOLDS, INCONCLUSIVE, NOT_MEASURED, VERDICTS, Claim, ClaimResult, Finding,
                   all_claims, get_claim, register_claim)
from .evidence import ClaimContext, Group, RowKey, claim_groups, run_table
from .output import evaluate_claims, readme_block, render_claims, to_json, to_markdown

__all__ = ["CLAIMS", "FAILS", "HOLDS", "INCONCLUSIVE", "NOT_MEASURED", "VERDICTS", "Claim", "ClaimContext",
           "ClaimResult", "Finding", "Group", "RowKey", "all_claims", "claim_groups", "evaluate_claims", "get_claim",
           "readme_block", "register_claim", "render_claims", "run_table", "to_json", "to_markdown"]
