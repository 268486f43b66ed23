"""``fptbench verify``: numbers still come out of the code, by rerunning a seeded sample with the harness.

Two forms: ``--results DIR`` checks committed harness results (docs/ci.md); ``FILE`` checks a submitted
bundle (docs/submitting.md) and records its verdict (verified / contradicted) where the leaderboard
shows it, exactly as ``fptbench leaderboard --verify FILE`` does.
"""

from __future__ import annotations

import argparse

from ..cli import DEFAULT_RESULTS, args, command
from ..errors import FptError


def _verify_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", default=None, help="a `fptbench submit` bundle to verify (instead of --results)")
    p.add_argument("--results", default=None, help="the committed results directory, e.g. results/cpu")
    p.add_argument("--submissions", default=None, help="with FILE: where the verdict is recorded (default "
                   "results/local/submitted, as `fptbench leaderboard`)")
    p.add_argument("--device", default="cpu", help="with FILE: device of the reruns (default cpu)")
    p.add_argument("--sample", type=int, default=2, help="how many runs to rerun (default 2; the cheapest third)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0: the same runs every time)")
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

    from ..verify import render, verify

    if (a.file is None) == (a.results is None):
        raise FptError("give either a submission FILE or --results DIR (not both)")
    if a.file is not None:
        return _verify_bundle(a)
    t0 = time.perf_counter()
    checked = verify(a.results, a.sample, a.seed, a.run, a.workdir, a.tol)
    print(render(a.results, checked))
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0 if all(v.ok for v in checked) else 1


def _verify_bundle(a: argparse.Namespace) -> int:
    """Rerun a sample of a submitted bundle's configurations; exit 1 when the reruns contradict it."""
    from pathlib import Path

    from ..submission import SUBMITTED_SUBDIR
    from ..verification import verify_submission

    dest = Path(a.submissions) if a.submissions else Path(DEFAULT_RESULTS) / SUBMITTED_SUBDIR
    res = verify_submission(a.file, dest, sample=a.sample, seed=a.seed, device=a.device)
    for c in res.checks:
        print(f"  {c.status}: {c.run_id}: {c.detail}")
    print(f"submission '{res.submission}': {res.status} ({res.method}); recorded in {res.sidecar}")
    return 1 if res.status == "contradicted" else 0
