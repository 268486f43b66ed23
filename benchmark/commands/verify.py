"""``fptbench verify``: committed numbers still come out of the code (reruns a seeded sample, docs/ci.md)."""

from __future__ import annotations

import argparse

from ..cli import args, command


def _verify_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", required=True, help="the committed results directory, e.g. results/cpu")
    p.add_argument("--sample", type=int, default=2, help="how many runs to rerun (default 2; the cheapest third)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0: the same runs every time)")
    p.add_argument("--run", action="append", default=None, help="rerun this run id instead of a sample (repeatable)")
    p.add_argument("--tol", type=float, default=None,
                   help="allowed |fresh - committed| test metric (default: the gate's one-seed floor, 0.05 "
                   "for keys without a per-key setting)")
    p.add_argument("--workdir", default=None, help="where the reruns go (default: a temp dir)")


@command("verify", "rerun a seeded sample of committed runs from their stored configs: exit 1 on a contradiction")
@args(_verify_args)
def cmd_verify(a: argparse.Namespace) -> int:
    import time

    from ..verify import render, verify

    t0 = time.perf_counter()
    checked = verify(a.results, a.sample, a.seed, a.run, a.workdir, a.tol)
    print(render(a.results, checked))
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0 if all(v.ok for v in checked) else 1
