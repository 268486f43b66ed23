"""Convergence figures: what a line averages, and whether a curve had flattened at the end of training.

A line is one config: runs of a learning-rate grid or a data-efficiency fraction get their own line
(averaging them with the profile's runs drew a band over two configs and a wrong n). The end-of-training
verdict (report/plateau.py) is computed from the plotted series, so "the budget reaches a flat curve"
is a measured statement under every figure.
"""

from __future__ import annotations

import pandas as pd
import pytest

from report.figures import series_table
from report.formats import Figure, ReportData, write_md
from report.plateau import FLAT_POINTS, curve_end, describe
from test_claims import frame, run_rows


def _series(values, steps=None, metric="accuracy"):
    steps = steps or [100 * (i + 1) for i in range(len(values))]
    return pd.DataFrame({"step": steps, "value_mean": values, "metric": metric, "n_seeds": 1, "series": "fpt"})


def test_flat_rising_falling_over_the_last_quarter():
    assert curve_end(_series([50, 90, 99.5, 99.6, 99.7, 99.8, 99.9, 100.0]))[0] == "flat"
    verdict, change, start, end = curve_end(_series([50, 60, 70, 80]))  # steps 100..400: window from 300
    assert (verdict, start, end) == ("rising", 300, 400) and change == pytest.approx(10.0)
    assert curve_end(_series([90, 95, 96, 90]))[0] == "falling"
    assert curve_end(_series([50, 50 + FLAT_POINTS]))[0] == "rising"  # the threshold itself is not flat
    assert curve_end(_series([50]))[0] == "too few evaluations to tell"
    assert describe(_series([50, 60, 70, 80])) == "rising (+10.0 pts, steps 300-400)"


def _curves(run_id: str, values) -> list[dict]:
    return [{"run_id": run_id, "step": 100 * (i + 1), "split": "val", "metric": "accuracy", "value": v,
             "train_loss": 0.1, "wall_time_s": float(i)} for i, v in enumerate(values)]


def test_a_grid_learning_rate_is_its_own_line_never_averaged_into_the_profiles():
    base = [run_rows("bit-xor", "fpt", s, 1.0) for s in (0, 1)]
    grid = [run_rows("bit-xor", "fpt", s, 0.7, lr=1e-4) for s in (0, 1)]
    runs = frame(*base, *grid)
    (b0, b1), (g0, g1) = ([rows[0]["run_id"] for rows in runs_of] for runs_of in (base, grid))
    curves = pd.DataFrame(_curves(b0, [0.9, 1.0]) + _curves(b1, [0.8, 1.0]) + _curves(g0, [0.5, 0.6])
                          + _curves(g1, [0.5, 0.7]))
    table = series_table(runs, curves)
    last = table[table.step == 200].set_index("series")
    assert set(last.index) == {"fpt", "fpt lr=0.0001"}
    assert last.loc["fpt", "value_mean"] == pytest.approx(100.0) and last.loc["fpt", "n_seeds"] == 2
    assert last.loc["fpt lr=0.0001", "value_mean"] == pytest.approx(65.0)


def test_the_markdown_report_states_each_lines_end_of_training():
    fig = Figure("p__b", "p", "b", "bit-xor", "f.png", "f.svg", "f.csv", ("fpt (n=3): flat (+0.0 pts, steps 750-1000)",))
    md = write_md(ReportData(tables=[], figures=[fig]))
    assert "End of training" in md and "fpt (n=3): flat (+0.0 pts, steps 750-1000)" in md
