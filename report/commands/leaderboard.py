"""``fptbench leaderboard``: import submissions (``--add``) and write the static leaderboard site."""

from __future__ import annotations

import argparse
import filecmp
import tempfile
from pathlib import Path

from benchmark.cli import DEFAULT_RESULTS, args, command

DEFAULT_SUBMISSIONS = "results/submitted"
DEFAULT_OUT = "report/local/leaderboard"


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", action="append", help=f"harness results directory, repeatable (default {DEFAULT_RESULTS})")
    p.add_argument("--submissions", default=DEFAULT_SUBMISSIONS,
                   help="where --add imports submitted runs (kept apart from harness results so a sweep never "
                        "mistakes them for its own finished runs); always read")
    p.add_argument("--add", action="append", metavar="FILE", help="validate and import a `fptbench submit` file, repeatable")
    p.add_argument("--out", default=DEFAULT_OUT, help="site directory (replaced whole)")
    p.add_argument("--check", action="store_true", help="regenerate into a temporary directory and compare with --out")


def _diff(a: Path, b: Path) -> list[str]:
    """Relative paths that differ between two site directories."""
    out = []
    names = {p.relative_to(a) for p in a.rglob("*") if p.is_file()} | {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    for rel in sorted(names):
        if not (a / rel).is_file() or not (b / rel).is_file() or not filecmp.cmp(a / rel, b / rel, shallow=False):
            out.append(str(rel))
    return out


@command("leaderboard", "write the static leaderboard site from Parquet results; --add imports a submission")
@args(_args)
def cmd_leaderboard(a: argparse.Namespace) -> int:
    from report.leaderboard import build_site

    from benchmark.submission import import_submission, summarize

    for file in a.add or []:
        sub, imported, skipped, notes = import_submission(file, a.submissions)
        print(f"{summarize(sub)}: imported {len(imported)} into {a.submissions}"
              + (f", {len(skipped)} already there" if skipped else ""))
        for note in notes:
            print(f"note: {note}")
    dirs = [Path(d) for d in (a.results or [DEFAULT_RESULTS])] + [Path(a.submissions)]
    if a.check:
        with tempfile.TemporaryDirectory() as tmp:
            build_site(dirs, Path(tmp) / "site")
            diff = _diff(Path(tmp) / "site", Path(a.out))
        if diff:
            print(f"leaderboard at {a.out} is stale: {len(diff)} file(s) differ ({', '.join(diff[:5])}); "
                  f"regenerate with `fptbench leaderboard --out {a.out}`")
            return 1
        print(f"leaderboard at {a.out} matches the results")
        return 0
    board, written = build_site(dirs, a.out)
    rows = {t.title: len(t.rows) for t in board.tracks}
    print(f"wrote {Path(a.out) / 'index.html'}: {board.n_runs} runs; rows per track {rows}; {len(written)} files")
    return 0
