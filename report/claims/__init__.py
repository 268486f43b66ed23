"""The paper's claims, checked by the benchmark: a registry of decision rules over the runs table.

``CLAIMS`` holds registered :class:`Claim` objects (built-ins in ``report.claims.paper``, declared in
pyproject's ``fptbench.builtins`` group as ``claim``; others through the ``fptbench.claims`` entry
point). ``evaluate_claims(runs)`` checks each once per language backbone, every profile as evidence, and
``render_claims(runs, out_dir)`` writes ``claims.md`` / ``claims.json`` for the report. The decision
rules are stated in each claim's ``rule`` and in docs/claims.md.
"""

from __future__ import annotations

from .base import (CLAIMS, FAILS, HOLDS, INCONCLUSIVE, NOT_MEASURED, OPEN, VERDICTS, Claim, ClaimResult, Finding,
                   all_claims, get_claim, register_claim)
from .evidence import ClaimContext, ClaimGroup, Group, RowKey, claim_groups, records
from .output import evaluate_claims, readme_block, render_claims, to_json, to_markdown

__all__ = ["CLAIMS", "FAILS", "HOLDS", "INCONCLUSIVE", "NOT_MEASURED", "OPEN", "VERDICTS", "Claim", "ClaimContext",
           "ClaimGroup", "ClaimResult", "Finding", "Group", "RowKey", "all_claims", "claim_groups", "evaluate_claims",
           "get_claim", "readme_block", "records", "register_claim", "render_claims", "to_json", "to_markdown"]
