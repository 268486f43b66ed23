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


def test_a_decisive_line_names_the_tasks_still_open():
    from report.claims.base import EARLY, OPEN

    early = Finding("listops", "FPT - random-full", OPEN, 2.9, (-10.8, 16.5), 3, open_reason=EARLY,
                    budgets={"FPT": 100, "random-full": 100}, means={"FPT": 18.0, "random-full": 18.0})
    line = evidence_line(HOLDS, [_match("mnist", 93.1, 95.4), early], max_chars=120)
    assert line.startswith("FPT 93.1% vs random-full 95.4% on mnist") and line.endswith("; open: listops"), line
    assert len(line) <= 120


def test_a_verdict_too_long_for_its_cell_keeps_the_clauses_that_fit():
    from report.claims.output import _clauses

    reason = "holds on bit-memory; tie on bit-xor; open on listops, mnist (early training); not measured: cifar10"
    assert _clauses(reason, 80) == "holds on bit-memory; tie on bit-xor; open on listops, mnist (early training)"
    assert _clauses(reason, 12) == "holds on ..."
