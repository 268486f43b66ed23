"""``fptbench claims``: the paper's claims checked on results; ``--readme`` keeps a README's generated block."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.cli import DEFAULT_RESULTS, args, command


def _claims_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", action="append", help=f"results directory, repeatable (default {DEFAULT_RESULTS})")
    p.add_argument("--json", action="store_true", help="print claims.json instead of the Markdown table")
    p.add_argument("--readme", default=None, metavar="FILE",
                   help="rewrite the generated claims block of FILE (between its fptbench:claims markers)")
    p.add_argument("--link", default=None, help="link shown after the README table, e.g. results/rendered/report-cpu-long/claims.md")
    p.add_argument("--check", action="store_true", help="with --readme: exit 1 if FILE's block is not what the results give")


@command("claims", "check the paper's claims on results (holds / does not hold / open / not measured, with "
         "intervals and the commands that would measure what is missing); --readme updates a README's block",
         group="results")
@args(_claims_args)
def cmd_claims(a: argparse.Namespace) -> int:
    from benchmark.errors import FptError
    from benchmark.results import read_table
    from report.claims import evaluate_claims, readme_block, to_json, to_markdown
    from report.claims.planned import planned_backbones
    from report.claims.readme import update_readme
    from report.coverage import coverage_by_profile

    dirs = [Path(d) for d in (a.results or [DEFAULT_RESULTS])]
    for d in dirs:
        if not d.is_dir():
            raise FptError(f"results directory {d} does not exist; pass the right --results")
    runs = read_table(dirs, "runs")
    checked = evaluate_claims(runs, results_hint=str(dirs[0]), results_dirs=dirs, planned=planned_backbones())
    coverage = coverage_by_profile(runs, str(dirs[0]))
    if a.readme:
        same = update_readme(a.readme, readme_block(checked, a.link, coverage), check=a.check)
        state = "up to date" if same else ("out of date" if a.check else "updated")
        print(f"{a.readme}: claims block {state}")
        return 1 if a.check and not same else 0
    print(to_json(checked) if a.json else to_markdown(checked, coverage), end="")
    return 0
