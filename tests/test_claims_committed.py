"""The claims on the committed results, as `fptbench claims --results results/cpu-long --json` gives them.

One verdict per registered claim for `minilm-l6`, and a walk over every deciding finding: no decisive
verdict ("holds" / "does not hold") rests on fewer than 3 seeds, on a row that did not train, or on a
row that did not converge, except where the rule itself is final without it (a row that reached a
level has reached it; steps to a threshold are censored at the budget).
Mutation tried: `rules.gate` returning the finding unchanged: the walk fails on claim 2 (Bit Memory at
600 steps) and claim 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.cli import main
from report.claims import all_claims
from report.claims.rules import MIN_SEEDS

RESULTS = Path(__file__).resolve().parents[1] / "results" / "cpu-long"
DECISIVE = ("holds", "does not hold")


@pytest.fixture(scope="module")
def payload():
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["claims", "--results", str(RESULTS), "--json"]) == 0
    return json.loads(out.getvalue())


def test_one_verdict_per_claim_for_minilm(payload):
    groups = [g for g in payload["groups"] if g["backbone"] == "minilm-l6"]
    assert len(groups) == 1
    names = [c["name"] for c in groups[0]["claims"]]
    assert sorted(names) == sorted(c.name for c in all_claims()) and len(set(names)) == len(names)
    assert set(groups[0]["profiles"]) >= {"cpu-long", "cpu-converge"}


def test_no_decisive_verdict_rests_on_an_untrained_unconverged_or_thin_row(payload):
    walked = 0
    for group in payload["groups"]:
        for c in group["claims"]:
            for f in c["findings"]:
                if f["superseded"] or f["verdict"] not in DECISIVE:
                    continue
                walked += 1
                where = (c["name"], f["task"], f["part"], f["profile"])
                assert f["n"] >= MIN_SEEDS, where
                kind = f["kind"]
                reached = (kind == "reach" and f["verdict"] == "holds") or (kind == "miss" and f["verdict"] == "does not hold")
                if kind in ("gain", "match"):
                    assert all(f["trained"].values()), where
                if kind != "steps" and not reached:
                    assert all(f["converged"].values()), where
            if c["verdict"] in DECISIVE:
                assert any(f["verdict"] in DECISIVE and not f["superseded"] for f in c["findings"]), c["name"]
    assert walked > 0
