"""The report's transfer-gain table: paired per-seed differences (DerivedRow op="diff")."""

from __future__ import annotations

import pytest

from benchmark.errors import FptError
from report import uncertainty as unc
from report.cells import Cell, _derived_cell
from report.specs import DerivedRow, get_table


def test_gain_table_registered_with_paired_diffs() -> None:
    spec = get_table("transfer-gain")
    assert {d.op for d in spec.derived} == {"diff"}
    labels = {r.label: r.model for r in spec.rows}
    controls = {labels[d.denominator] for d in spec.derived}
    assert controls == {"random-frozen", "no-body", "one-attention", "random-full"}


def test_diff_is_paired_over_matched_seeds() -> None:
    pre = Cell((90.0, 80.0, 75.0), (0, 1, 2))
    ctrl = Cell((60.0, 70.0), (0, 1))  # seed 2 never ran for the control
    cell = _derived_cell(pre, ctrl, "diff")
    assert cell.ok and not cell.derived
    assert cell.values == (30.0, 10.0) and cell.seeds == (0, 1) and cell.mean == pytest.approx(20.0)
    lo, hi = unc.paired_diff_ci([90.0, 80.0], [60.0, 70.0])[1]
    assert cell.notes == (f"95% CI {lo:.1f} to {hi:.1f}",)
    one = _derived_cell(Cell((90.0,), (0,)), Cell((60.0,), (0,)), "diff")
    assert one.values == (30.0,) and one.notes == ("one seed: no interval",)


def test_diff_missing_control_and_no_common_seed() -> None:
    missing = _derived_cell(Cell((90.0,), (0,)), Cell(missing="never run"), "diff")
    assert missing.missing == "control missing (never run)"
    apart = _derived_cell(Cell((90.0,), (0,)), Cell((60.0,), (1,)), "diff")
    assert apart.missing.startswith("no seed in common")
    # ratio is unchanged
    assert _derived_cell(Cell((2.0,), (0,)), Cell((4.0,), (0,))).values == (0.5,)


def test_unknown_op_refused() -> None:
    with pytest.raises(FptError, match="'ratio' or 'diff'"):
        DerivedRow("x", "a", "b", op="sum")
