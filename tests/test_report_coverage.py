"""The report's coverage line: how many of a profile's suite runs the results hold, and which do not count.

A long profile is committed in parts, so the count must be exact: only finished (or diverged) harness
runs of a suite entry count, at the profile's learning rate, default options, the whole training split.
"""

from __future__ import annotations

from benchmark.profiles import get_profile
from report.coverage import coverage_lines, suite_coverage
from test_claims import frame, run_rows


def _cpu_suite_runs(skip: int = 0, **kw) -> list[list[dict]]:
    profile = get_profile("cpu")
    keys = [(e.task, e.model, e.backbone or "none", s) for e in profile.suite for s in e.seeds]
    return [run_rows(t, m, s, 0.5, backbone=b, profile="cpu", lr=profile.budget(t, m, 3e-4 if m == "lstm" else None).lr,
                     **kw) for t, m, b, s in keys[skip:]]


def test_a_complete_suite_is_reported_complete_and_a_partial_one_names_what_is_missing():
    full = frame(*_cpu_suite_runs())
    (cov,) = suite_coverage(full)
    assert cov.profile == "cpu" and not cov.missing and len(cov.done) == len(cov.planned) > 10
    assert "all" in coverage_lines(full, "results/cpu")[0]

    part = frame(*_cpu_suite_runs(skip=3))
    (cov,) = suite_coverage(part)
    assert len(cov.missing) == 3 and cov.missing == cov.planned[:3]
    line = coverage_lines(part, "results/x")[0]
    n = len(cov.planned)
    assert f"{n - 3} of the {n} runs" in line and "fptbench sweep --profile cpu --results results/x" in line


def test_runs_that_are_not_the_suite_run_do_not_count():
    profile = get_profile("cpu")
    t, m, b, s = next((e.task, e.model, e.backbone or "none", e.seeds[0]) for e in profile.suite if e.model == "fpt")
    lr = profile.budget(t, m).lr
    for odd in (dict(status="failed"), dict(lr=lr * 10), dict(options={"preset": "+ln"}), dict(profile="ci")):
        kw = dict(backbone=b, profile="cpu", lr=lr) | odd
        runs = frame(run_rows(t, m, s, 0.5, **kw))
        done = [c.done for c in suite_coverage(runs) if c.profile == "cpu"]
        assert done in ([], [frozenset()]), odd
    assert suite_coverage(frame(run_rows(t, m, s, 0.5, backbone=b, profile="cpu", lr=lr, status="diverged")))[0].done


def test_runs_of_a_profile_unknown_here_are_skipped_and_an_empty_table_says_nothing():
    assert suite_coverage(frame(run_rows("bit-xor", "fpt", 0, 0.5, profile="someone-elses"))) == []
    assert coverage_lines(frame(), "results/x") == []


def test_the_readme_block_the_claims_page_and_the_leaderboard_state_a_partial_suite():
    from report.claims import evaluate_claims, readme_block
    from report.claims.html import claims_section
    from report.claims.output import to_markdown
    from report.coverage import coverage_by_profile
    from test_claims import ABSENCE

    runs = frame(*_cpu_suite_runs(skip=3))
    checked = evaluate_claims(runs, ABSENCE, "results/x")
    cov = coverage_by_profile(runs, "results/x")
    n = len(suite_coverage(runs)[0].planned)
    said = f"{n - 3} of the {n} runs"
    assert said in readme_block(checked, None, cov)
    assert said in to_markdown(checked, cov)
    assert said in claims_section(runs, "results/x")
    assert said not in readme_block(checked, None)
