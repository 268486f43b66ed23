"""The local executor: this machine, one job at a time in-process, or a pool of processes.

With one worker the jobs run in the sweep's own process, one after another, exactly as
``fptbench run`` would run them (and as the CI gate's reference was recorded). With more, each job
runs in a fresh *spawned* process (never forked: a forked copy of a process that already used torch
threads can deadlock), each pinned to the grid's ``num_cpus`` threads. A pool process that dies
fails the jobs it held; their checkpoints let the next sweep resume them.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable

from ..errors import FptError
from ..grid import Job
from . import default_workers
from .job import Outcome, run_job


class LocalExecutor:
    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise FptError(f"--workers must be >= 1, got {workers}")
        self.workers = workers

    def parallelism(self, jobs: list[Job]) -> int:
        if self.workers is not None:
            return self.workers
        return default_workers(max((j.resources.num_cpus for j in jobs), default=1))

    def run(self, jobs: list[Job], results: Path, on_done: Callable[[Outcome], None],
            on_start: Callable[[int], None] | None = None) -> list[Outcome]:
        n = min(self.parallelism(jobs), max(1, len(jobs)))
        if on_start is not None:
            on_start(n)
        outcomes: list[Outcome] = []
        if n == 1:
            for job in jobs:
                out = run_job(job, str(results))
                outcomes.append(out)
                on_done(out)
            return outcomes
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as pool:
            pending = {pool.submit(run_job, job, str(results)): job for job in jobs}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    job = pending.pop(fut)
                    try:
                        out = fut.result()
                    except BrokenProcessPool as exc:
                        out = Outcome(job.run_id, "failed", error=f"worker process died ({exc}); rerun to resume")
                    outcomes.append(out)
                    on_done(out)
        return outcomes
