"""Table 6's speed-up when the control never reaches the threshold: a lower bound, never a number.

random-frozen that does not reach the threshold within its budget needed *more* steps than it trained,
so random / FPT is at least (mean steps trained) / (FPT's mean steps): shown as ``≥ Nx`` with the reason,
with no Δ against the paper (a bound minus a value is no difference). When FPT itself never reaches
it, nothing bounds the ratio from below, and the cell stays missing.
"""

from __future__ import annotations

import pytest

from report.cells import compute_all
from report.formats import delta_text, ours_text
from report.specs import get_table
from test_claims import frame, seeds


def _speedup(fpt_stts, random_stts, steps: int = 1000):
    runs = frame(seeds("bit-xor", "fpt", [1.0] * len(fpt_stts), stts=list(fpt_stts), steps=steps),
                 seeds("bit-xor", "random-frozen", [0.6] * len(random_stts), stts=list(random_stts), steps=steps))
    (table,) = [t for t in compute_all([get_table("table6")], runs) if t.group.backbone == "minilm-l6"]
    row = next(r for r in table.rows if r.derived)
    return row.cells["bit-xor"], row.paper["bit-xor"]


def test_a_control_that_never_reaches_the_threshold_gives_a_lower_bound():
    cell, pv = _speedup((200, 250, 150), (None, None, None))
    assert cell.ok and cell.bound == ">="
    assert cell.values[0] == pytest.approx(1000 / 200)
    text = ours_text(cell, 0)
    assert text.startswith("≥ 5.0x") and "not reached in 1000 steps" in text
    assert pv is not None and delta_text(cell, pv, 0) == ""


def test_partly_censored_control_bounds_with_its_reached_seeds_values():
    cell, _ = _speedup((200, 200, 200), (600, None, None))
    assert cell.bound == ">=" and cell.values[0] == pytest.approx((600 + 1000 + 1000) / 3 / 200)


def test_both_reached_gives_the_exact_ratio_and_fpt_censored_gives_nothing():
    exact, pv = _speedup((200, 200, 200), (800, 600, 400))
    assert exact.ok and not exact.bound and exact.values[0] == pytest.approx(3.0)
    assert ours_text(exact, 0) == "3.0x" and delta_text(exact, pv, 0) != ""
    open_, _ = _speedup((None, None, None), (None, None, None))
    assert not open_.ok and open_.missing
