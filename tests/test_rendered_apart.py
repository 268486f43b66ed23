"""Generated output lives apart from code: the committed rendered reports and leaderboards are under
results/rendered/, never inside the report/ package, and nothing that reads results mistakes that folder
(it has no runs/) for a results directory."""

from __future__ import annotations

import re
from pathlib import Path

from benchmark.results import read_table
from benchmark.runview import read_runs

ROOT = Path(__file__).resolve().parents[1]
RENDERED = ROOT / "results" / "rendered"
OUTPUTS = ("report-cpu", "report-cpu-long", "leaderboard-cpu", "leaderboard-cpu-long")


def test_rendered_outputs_are_under_results_not_in_the_code_package() -> None:
    for name in OUTPUTS:
        assert (RENDERED / name).is_dir(), name
    # a rendered report has a manifest.json, a leaderboard a leaderboard.json: none belongs in report/
    stray = [p for pat in ("manifest.json", "leaderboard.json", "index.html") for p in (ROOT / "report").rglob(pat)]
    assert not stray, stray


def test_makefile_renders_and_checks_every_committed_output() -> None:
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    outs = set(re.findall(r"--out (results/rendered/[\w.-]+)", make))
    assert {f"results/rendered/{n}" for n in OUTPUTS} <= outs
    assert "report/cpu" not in make


def test_the_rendered_folder_holds_no_runs() -> None:
    assert read_table([RENDERED], "runs").empty
    assert read_runs([RENDERED]).runs.empty
    assert read_runs([ROOT / "results"]).runs.empty  # the parent is not a results directory either


def test_the_dry_run_scan_of_results_skips_it() -> None:
    from benchmark.sweep_cost import recorded_speeds

    assert not [s for s in recorded_speeds().values() if "rendered" in s.source]
