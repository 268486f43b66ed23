"""``fptbench verify``: numbers still come out of the code, by rerunning a seeded sample with the harness.

Two forms: ``--results DIR`` checks committed harness results (docs/ci.md); ``FILE`` checks an
imported submitted bundle (docs/submitting.md) and records each rerun run's verdict (verified /
contradicted) where the leaderboard shows it, exactly as ``fptbench leaderboard --verify FILE`` does.
"""

from __future__ import annotations

import argparse

from ..cli import args, command
from ..errors import FptError
from ..paths import SUBMITTED_SUBDIR


def _verify_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", default=None, help="a `fptbench submit` bundle to verify (already imported "
                   "with `fptbench leaderboard --add`)")
    p.add_argument("--results", default=None, help="without FILE: the committed results directory, e.g. results/cpu; "
                   f"with FILE: the leaderboard's results directory (its submissions are in <DIR>/{SUBMITTED_SUBDIR})")
    p.add_argument("--submissions", default=None, help="with FILE: the directory the bundle was imported into "
                   f"(default <--results>/{SUBMITTED_SUBDIR}, as `fptbench leaderboard`)")
    p.add_argument("--device", default="cpu", help="with FILE: device of the reruns (default cpu)")
    p.add_argument("--sample", type=int, default=2, help="how many runs to rerun (default 2; with --results, from "
                   "the cheapest third; with FILE, a number >= its runs reruns them all)")
    p.add_argument("--seed", type=int, default=None, help="seed of the sample (with --results default 0: the same "
                   "runs every time; with FILE default a fresh random seed, printed, that the submitter cannot know)")
    p.add_argument("--run", action="append", default=None, help="rerun this run id instead of a sample (repeatable)")
    p.add_argument("--tol", type=float, default=None,
                   help="allowed |fresh - committed| test metric (default: the gate's one-seed floor, 0.05 "
                   "for keys without a per-key setting)")
    p.add_argument("--workdir", default=None, help="where the reruns go (default: a temp dir)")


@command("verify", "rerun a seeded sample of committed runs from their stored configs: exit 1 on a contradiction",
         group="share")
@args(_verify_args)
def cmd_verify(a: argparse.Namespace) -> int:
    import time

    from ..rerun_committed import render, verify

    if a.file is not None:
        return _verify_bundle(a)
    if a.results is None:
        raise FptError("give a submission FILE or --results DIR")
    t0 = time.perf_counter()
    checked = verify(a.results, a.sample, 0 if a.seed is None else a.seed, a.run, a.workdir, a.tol)
    print(render(a.results, checked))
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0 if all(v.ok for v in checked) else 1


def _verify_bundle(a: argparse.Namespace) -> int:
    """Rerun a sample of an imported bundle's runs; exit 1 when a rerun contradicts its claim.

    The verdict is recorded where the bundle was imported (``--submissions``, or ``<--results>/submitted``
    as the leaderboard defaults); a bundle not imported there is refused, so a verdict never lands
    where the leaderboard does not look."""
    from pathlib import Path

    from ..submission.rerun import verify_submission

    if a.submissions is None and a.results is None:
        raise FptError("with FILE, name where it was imported: --results DIR (the leaderboard's; submissions in "
                       f"DIR/{SUBMITTED_SUBDIR}) or --submissions DIR")
    dest = Path(a.submissions) if a.submissions else Path(a.results) / SUBMITTED_SUBDIR
    res = verify_submission(a.file, dest, sample=a.sample, seed=a.seed, device=a.device)
    for c in res.checks:
        print(f"  {c.status}: {c.run_id}: {c.detail}")
    print(f"submission '{res.submission}': {res.status} ({res.method}); recorded in {res.sidecar}")
    return 1 if any(c.status == "contradicted" for c in res.checks) or res.status == "contradicted" else 0
