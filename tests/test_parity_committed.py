"""The committed bf16-vs-fp32 parity runs (BENCHMARKS.md) pass the regression gate, as the page says.

BENCHMARKS.md prints `fptbench check --reference results/parity/fp32 --results results/parity/bf16`; this
re-judges the committed Parquet files (no training), so the page's verdict cannot drift from the data.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmark.commands.check import check_dirs
from benchmark.gate import GateConfig
from benchmark.gate.table import render

ROOT = Path(__file__).resolve().parents[1] / "results" / "parity"


def _runs(precision: str) -> pd.DataFrame:
    return pd.concat(pd.read_parquet(f) for f in sorted((ROOT / precision / "runs").glob("*.parquet")))


def test_each_side_holds_only_its_precision_and_three_seeds_per_task():
    for precision in ("fp32", "bf16"):
        runs = _runs(precision).drop_duplicates("run_id")
        assert set(runs.precision) == {precision}
        assert set(runs.status) == {"finished"} and not runs.git_dirty.any()
        assert runs.groupby("task").seed.apply(lambda s: sorted(s)).to_dict() == {"bit-xor": [0, 1, 2], "mnist": [0, 1, 2]}


def test_bf16_is_within_the_gate_tolerance_of_fp32_on_the_committed_runs():
    report = check_dirs(ROOT / "fp32", ROOT / "bf16", GateConfig())
    assert report.exit_code == 0
    text = render(report)
    assert "PASS" in text and text.count("3/3") == 2  # both tasks compared, every seed paired
    assert "fptbench check --reference results/parity/fp32 --results results/parity/bf16" in (
        ROOT.parents[1] / "BENCHMARKS.md").read_text()
