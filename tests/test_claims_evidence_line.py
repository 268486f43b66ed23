"""The README's one line per claim leads with the comparison that shows most of what the verdict means."""

from __future__ import annotations

from report.claims.base import HOLDS, Finding
from report.claims.rules import evidence_line


def _match(task: str, fpt: float, other: float) -> Finding:
    return Finding(task, "FPT - random-full", HOLDS, fpt - other, (fpt - other - 1, fpt - other + 1), 3,
                   budgets={"FPT": 1000, "random-full": 1000}, means={"FPT": fpt, "random-full": other})


def test_a_match_at_the_ceiling_comes_after_one_below_it():
    line = evidence_line(HOLDS, [_match("bit-xor", 100.0, 100.0), _match("mnist", 93.1, 95.4)])
    assert line.startswith("FPT 93.1% vs random-full 95.4% on mnist"), line
    assert "bit-xor" in line  # still there, after it


def test_findings_below_the_ceiling_keep_their_order():
    line = evidence_line(HOLDS, [_match("bit-memory", 99.0, 98.0), _match("mnist", 93.1, 95.4)])
    assert line.index("bit-memory") < line.index("mnist")
