"""``fptbench export``: the results store as a Hugging Face dataset (Parquet shards + dataset card)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cli import DEFAULT_RESULTS, args, command


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", action="append", help=f"results directory, repeatable (default {DEFAULT_RESULTS})")
    p.add_argument("--out", required=True, help="export folder (replaced atomically; with --check: the export to verify)")
    p.add_argument("--format", default="hf", choices=("hf",), help="hf: Parquet shards per table + README.md dataset card")
    p.add_argument("--predictions", action="store_true", help="also export the per-example predictions table")
    p.add_argument("--check", action="store_true",
                   help="regenerate in a temporary folder and compare with --out; exit 1 if anything differs "
                   "(the predictions table is checked when --out has one)")


@command("export", "write results as a Hugging Face dataset (runs, curves, optionally predictions) loadable with "
         "datasets.load_dataset(OUT, 'runs'); --check verifies an existing export",
         group="share")
@args(_export_args)
def cmd_export(a: argparse.Namespace) -> int:
    from ..export import check_export, export_results

    dirs = [Path(d) for d in (a.results or [DEFAULT_RESULTS])]
    if a.check:
        diffs = check_export(dirs, Path(a.out), predictions=True if a.predictions else None)
        for line in diffs:
            print(line)
        print(f"{a.out}: {'out of date, ' + str(len(diffs)) + ' file(s) differ' if diffs else 'up to date'} "
              f"(results: {', '.join(map(str, dirs))})")
        return 1 if diffs else 0
    for path in export_results(dirs, Path(a.out), predictions=a.predictions, fmt=a.format):
        print(path)
    return 0
