"""Precision and cost travel with the numbers: ``precision=auto`` resolves per machine (bf16 on AMX CPUs, fp32
elsewhere), so a profile run in several sittings can mix precisions. The report's coverage line, a
table cell whose seeds mix precisions, and a claim finding that compares mixed runs must all say so;
runs of one precision must carry no such note.
"""

from __future__ import annotations

import pandas as pd

from report.cells import compute_all
from report.coverage import coverage_lines
from report.specs import get_table
from test_claims import claim, finding, frame, run_rows

ACC = (0.9, 0.92, 0.91)


def _fpt_vs_random(fpt_precisions: tuple[str, ...], random_precision: str = "fp32") -> list[list[dict]]:
    fpt = [run_rows("bit-xor", "fpt", s, ACC[s], precision=p) for s, p in enumerate(fpt_precisions)]
    rnd = [run_rows("bit-xor", "random-frozen", s, ACC[s] - 0.3, precision=random_precision) for s in range(3)]
    return fpt + rnd


def _fpt_cell(runs):
    spec = get_table("table1")
    (table,) = [t for t in compute_all([spec], runs) if t.group.backbone == "minilm-l6"]
    row = next(r for r in table.rows if r.model == "fpt" and not r.derived)
    return row.cells["bit-xor"]


def test_a_cell_whose_seeds_mix_precisions_names_which_seed_ran_in_which():
    mixed = _fpt_cell(frame(*_fpt_vs_random(("fp32", "bf16", "bf16"))))
    assert mixed.ok and mixed.n == 3
    assert "precision bf16 seeds 1, 2, fp32 seed 0" in mixed.notes
    same = _fpt_cell(frame(*_fpt_vs_random(("bf16", "bf16", "bf16"))))
    assert same.ok and not any("precision" in n for n in same.notes)


def test_a_claim_finding_over_mixed_precisions_says_so_and_one_precision_says_nothing():
    mixed = finding(claim(frame(*_fpt_vs_random(("fp32", "bf16", "bf16"))), "language-beats-random"), "bit-xor")
    assert mixed.verdict == "holds"
    assert "mixed precision" in mixed.note and "FPT bf16 seeds 1, 2, fp32 seed 0" in mixed.note
    assert "random-frozen fp32 seeds 0, 1, 2" in mixed.note
    plain = finding(claim(frame(*_fpt_vs_random(("bf16",) * 3, "bf16")), "language-beats-random"), "bit-xor")
    assert plain.verdict == "holds" and "precision" not in plain.note


def test_the_coverage_line_counts_runs_per_precision():
    one = coverage_lines(frame(*_fpt_vs_random(("fp32",) * 3)), "results/x")[0]
    assert "Precision: all its runs computed in fp32." in one
    two = coverage_lines(frame(*_fpt_vs_random(("fp32", "bf16", "bf16"))), "results/x")[0]
    assert "fp32 (4 runs) and bf16 (2 runs)" in two and "precision=auto" in two


def test_the_coverage_line_states_the_cpu_hours_the_runs_took():
    runs = frame(*_fpt_vs_random(("fp32",) * 3))
    runs["wall_time_s"], runs["threads"] = 1800.0, 2  # six runs of half an hour on two threads: 6 CPU-hours
    line = coverage_lines(runs, "results/x")[0]
    assert "Compute: 6.0 CPU-hours over its 6 runs here" in line
    runs.loc[runs.run_id == runs.run_id.iloc[0], "threads"] = None  # a run that did not record it is counted apart
    assert "Compute: 5.0 CPU-hours over its 5 runs here" in coverage_lines(runs, "results/x")[0]
    assert "1 run(s) did not record it" in coverage_lines(runs, "results/x")[0]


def test_the_coverage_line_counts_runs_outside_the_suite_apart():
    runs = frame(*_fpt_vs_random(("fp32",) * 3))  # the `cpu` suite has seeds 0 and 1 of these two rows
    assert "2 more runs of this profile outside its suite" in coverage_lines(runs, "results/x")[0]
    suite_only = runs[runs.seed < 2]
    assert "outside its suite" not in coverage_lines(suite_only, "results/x")[0]
    grid = frame(*[run_rows("bit-xor", "fpt", s, ACC[s], lr=1e-2, precision="fp32") for s in range(3)])  # an lr grid
    line = coverage_lines(pd.concat([runs, grid], ignore_index=True), "results/x")[0]
    assert "5 more runs of this profile outside its suite" in line and "9 in all" in line
