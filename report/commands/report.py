"""``fptbench report``: render every registered table and the convergence figures from Parquet results."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.cli import DEFAULT_RESULTS, args, command

# `report` and `leaderboard` write to sibling folders: each replaces its own folder whole, so neither
# default may sit inside the other's (report/local held the leaderboard once, and a report deleted it).
DEFAULT_OUT = "results/rendered/local/report"


def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", action="append", help="results directory, repeatable (default results/local; "
                   "with --check: the directories recorded in the report's manifest)")
    p.add_argument("--out", default=DEFAULT_OUT, help="report directory, replaced whole (with --check: the committed "
                   f"report; default {DEFAULT_OUT}, beside `leaderboard`'s results/rendered/local/leaderboard)")
    p.add_argument("--format", default=None, help="comma-separated formats: md,csv,tex,html (default all)")
    p.add_argument("--tables", default=None, help="comma-separated table names (default every registered table)")
    p.add_argument("--no-figures", action="store_true", help="skip the convergence figures")
    p.add_argument("--check", action="store_true",
                   help="regenerate into a temporary directory and diff against --out; exit 1 if anything differs")
    p.add_argument("--json", action="store_true", help="print the written files (or --check's differences) as JSON")


@command("report", "render every registered table (ours beside the paper's numbers) and convergence figures "
         "from Parquet results; --check diffs a committed report against a fresh render", group="results")
@args(_report_args)
def cmd_report(a: argparse.Namespace) -> int:
    from report.render import check_note, check_report, render_report

    if a.check:
        diffs = check_report(Path(a.out), [Path(d) for d in a.results] if a.results else None)
        if a.json:
            import json

            print(json.dumps({"report": a.out, "up_to_date": not diffs, "differences": diffs}, indent=2))
            return 1 if diffs else 0
        for line in diffs:
            print(line)
        print(f"{a.out}: {'out of date, ' + str(len(diffs)) + ' file(s) differ' if diffs else 'up to date'}; "
              f"{check_note(Path(a.out))}")
        return 1 if diffs else 0
    tables = [t.strip() for t in a.tables.split(",") if t.strip()] if a.tables else None
    written = render_report([Path(d) for d in (a.results or [DEFAULT_RESULTS])], Path(a.out), formats=a.format,
                            tables=tables, figures=not a.no_figures)
    if a.json:
        import json

        print(json.dumps({"report": a.out, "index": str(Path(a.out) / "README.md"), "files": [str(p) for p in written]},
                         indent=2))
        return 0
    for path in written:
        print(path)
    print(f"report: {Path(a.out) / 'README.md'} ({len(written)} files)")
    return 0
