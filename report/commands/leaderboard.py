"""``fptbench leaderboard``: import submissions (``--add``), verify them by rerunning a sample
(``--verify``) and write the static leaderboard site."""

from __future__ import annotations

import argparse
import filecmp
import tempfile
from pathlib import Path

from benchmark.cli import DEFAULT_RESULTS, args, command

DEFAULT_OUT = "results/rendered/local/leaderboard"  # beside `report`'s results/rendered/local/report, never inside it


def default_submissions(results: list[str] | None) -> Path:
    """Where submitted runs go when ``--submissions`` is not given: ``submitted/`` inside the first
    ``--results`` directory (so they travel with the results they are compared with). Harness readers
    (``report``, ``sweep``, the gate) read only ``<results>/runs``, so they never see them."""
    from benchmark.submission import SUBMITTED_SUBDIR

    return Path((results or [DEFAULT_RESULTS])[0]) / SUBMITTED_SUBDIR


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", action="append", help=f"harness results directory, repeatable (default {DEFAULT_RESULTS})")
    p.add_argument("--submissions", default=None, metavar="DIR",
                   help="where --add imports submitted runs and --verify records verdicts (default: "
                        "<first --results>/submitted); always read, kept apart from harness results")
    p.add_argument("--add", action="append", metavar="FILE", help="validate and import a `fptbench submit` file, repeatable")
    p.add_argument("--verify", action="append", metavar="FILE",
                   help="rerun a seeded sample of the submission's configurations with this harness and record "
                        "verified/contradicted beside it (repeatable; combine with --add to import too)")
    p.add_argument("--verify-sample", type=int, default=2, metavar="N", help="configurations rerun per --verify (default 2)")
    p.add_argument("--verify-seed", type=int, default=None,
                   help="seed of the rerun sample (default: a fresh random seed, printed, that no submitter can know)")
    p.add_argument("--device", default="cpu", help="device for --verify reruns (default cpu)")
    p.add_argument("--out", default=DEFAULT_OUT, help="site directory (replaced whole)")
    p.add_argument("--check", action="store_true", help="regenerate into a temporary directory and compare with --out")
    p.add_argument("--json", action="store_true", help="print the site's index, run count and rows per track as JSON")


def _diff(a: Path, b: Path) -> list[str]:
    """Relative paths that differ between two site directories."""
    out = []
    names = {p.relative_to(a) for p in a.rglob("*") if p.is_file()} | {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    for rel in sorted(names):
        if not (a / rel).is_file() or not (b / rel).is_file() or not filecmp.cmp(a / rel, b / rel, shallow=False):
            out.append(str(rel))
    return out


def _shown(text: str) -> str:
    """A submitter's text for the terminal: control characters were refused at load; quote it anyway."""
    from report.markup import visible

    return visible(text)


@command("leaderboard", "write the static leaderboard site from Parquet results; --add imports a submission, "
         "--verify reruns a sample of one", group="results")
@args(_args)
def cmd_leaderboard(a: argparse.Namespace) -> int:
    from report.leaderboard import build_site

    from benchmark.submission import import_submission, summarize

    submissions = Path(a.submissions) if a.submissions else default_submissions(a.results)
    for file in a.add or []:
        sub, imported, skipped, notes = import_submission(file, submissions)
        print(f"{_shown(summarize(sub))}: imported {len(imported)} run(s) into {submissions.resolve()}"
              + (f", {len(skipped)} already there" if skipped else ""))
        if sub.manifest.get("note"):
            print(f"submitter's note: {_shown(sub.manifest['note'])}")
        for note in notes:
            print(f"note: {_shown(note)}")
    for file in a.verify or []:
        from benchmark.submission.rerun import verify_submission

        res = verify_submission(file, submissions, sample=a.verify_sample, seed=a.verify_seed, device=a.device)
        for c in res.checks:
            print(f"  {c.status}: {c.run_id}: {_shown(c.detail)}")
        print(f"submission '{res.submission}': {res.status} ({res.method}); recorded in {res.sidecar}")
    dirs = [Path(d) for d in (a.results or [DEFAULT_RESULTS])] + [submissions]
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
    if getattr(a, "json", False):
        import json

        print(json.dumps({"index": str(Path(a.out) / "index.html"), "runs": board.n_runs, "rows_per_track": rows,
                          "files": len(written)}, indent=2))
        return 0
    print(f"wrote {Path(a.out) / 'index.html'}: {board.n_runs} runs; rows per track {rows}; {len(written)} files")
    return 0
