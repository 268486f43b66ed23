"""One Cell, one rule for diverged seeds: the report's tables and the leaderboard build the same class
(``report.cell.Cell``) and count a cell's seeds with the same rule (``report.cell.count_seeds``).

The static check walks the source tree: a second ``class Cell`` anywhere is a second home for the fact."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from test_runview import config, rows_of, store

from benchmark.runview import read_runs
from report.cell import Cell
from report.cells import Group, compute_table
from report.leaderboard.data import build_leaderboard
from report.specs import RowSpec, TableSpec

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("benchmark", "tasks", "baselines", "report", "examples", "tests")


def _classes_named(name: str) -> list[str]:
    found = []
    for folder in SOURCE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            found += [f"{path.relative_to(ROOT)}:{n.lineno}" for n in ast.walk(tree)
                      if isinstance(n, ast.ClassDef) and n.name == name]
    return found


def test_exactly_one_class_cell_in_the_tree() -> None:
    assert _classes_named("Cell") == ["report/cell.py:" + str(_line_of_cell())]


def _line_of_cell() -> int:
    tree = ast.parse((ROOT / "report" / "cell.py").read_text(encoding="utf-8"))
    return next(n.lineno for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "Cell")


def test_the_leaderboard_and_the_report_use_that_class() -> None:
    from report import cells
    from report.leaderboard import schema

    assert cells.Cell is Cell and schema.Cell is Cell


def run(seed: int, test: float, status: str = "finished") -> list[dict]:
    """One run's rows as the harness writes them (with the parameter counts the leaderboard shows)."""
    val = test if test == test else float("nan")
    return [{**r, "n_params_total": 100, "n_params_trainable": 10}
            for r in rows_of(config(seed=seed), val=val, test=test, status=status)]


@pytest.fixture
def diverged_results(tmp_path: Path) -> Path:
    """fpt on bit-xor: seeds 0 and 1 finished (test 0.5, 0.7), seed 2 diverged but scored at its best
    validation state (test 0.9), seed 3 diverged before any finite score."""
    return store(tmp_path, run(0, 0.5), run(1, 0.7), run(2, 0.9, "diverged"), run(3, float("nan"), "diverged"))


def test_a_diverged_seed_is_in_the_mean_and_flagged_on_both_pages(diverged_results: Path) -> None:
    spec = TableSpec("t", "t", rows=(RowSpec("FPT", "fpt"),), tasks=("bit-xor",), metric="test-metric")
    table = compute_table(spec, Group("cpu", "minilm-l6"), read_runs([diverged_results]))
    report_cell = table.rows[0].cells["bit-xor"]
    board = build_leaderboard([diverged_results], select=lambda runs: None)
    (row,) = [r for t in board.tracks for r in t.rows if r.model == "fpt"]
    board_cell = row.cells["bit-xor"]
    for cell in (report_cell, board_cell):
        assert list(cell.seeds) == [0, 1, 2] and cell.n == 3 and cell.diverged == 1
        assert cell.mean == pytest.approx(70.0)  # (50 + 70 + 90) / 3: the scored diverged seed is in it
        assert "1 diverged before any finite score" in cell.notes  # the unscored one is named, not dropped
    assert board_cell.n_runs == 4 and "1 of 3 seed(s) diverged" in board_cell.reason
    assert report_cell.n_diverged == board_cell.n_diverged == 2  # scored or not
    record = board_cell.record()
    assert (record["n"], record["n_diverged"], record["n_runs"]) == (3, 2, 4)


def test_no_scored_seed_makes_a_missing_cell_saying_so(tmp_path: Path) -> None:
    root = store(tmp_path, run(0, float("nan"), "diverged"))
    board = build_leaderboard([root], select=lambda runs: None)
    (row,) = [r for t in board.tracks for r in t.rows if r.model == "fpt"]
    cell = row.cells["bit-xor"]
    assert cell.mean is None and cell.reason == "diverged (1 of 1 seeds)" and cell.n_runs == cell.n_diverged == 1


def test_cell_statistics_come_from_the_values() -> None:
    cell = Cell((1.0, 2.0, 3.0), (0, 1, 2))
    assert (cell.mean, cell.std, cell.n, cell.reason) == (2.0, 1.0, 3, "")
    assert Cell(missing="never run").mean is None and Cell(missing="never run").reason == "never run"
