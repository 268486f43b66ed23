"""The local executor: this machine, one job at a time in-process, or a pool of processes.

With one worker the jobs run in the sweep's own process, one after another, exactly as
``fptbench run`` would run them (and as the CI gate's reference was recorded). With more, each job
runs in a fresh *spawned* process (never forked: a forked copy of a process that already used torch
threads can deadlock), each pinned to the grid's ``num_cpus`` threads. A pool process that dies
fails the jobs it held; their checkpoints let the next sweep resume them.

GPUs: when the runs ask for GPUs (``Resources.num_gpus > 0``, set by ``placement.place`` whenever the
device is CUDA), the pool has one worker per visible GPU (``--runs-per-gpu N``: N per GPU; default
``1 / num_gpus``), and each worker process is pinned to its own device before it touches CUDA
(``CUDA_VISIBLE_DEVICES=<id>``: the run's ``cuda`` is that GPU), as Ray pins its GPU tasks. Without this,
a 32-core machine with one GPU would put 7 runs on ``cuda:0`` and time them under contention.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable

from ..deadline import admitted
from ..errors import FptError
from ..grid import Job
from . import default_workers
from .job import Outcome, run_job


def _pin_gpu(slots) -> None:
    """Pool initializer: take one GPU id for this worker process, before anything initialises CUDA."""
    os.environ["CUDA_VISIBLE_DEVICES"] = slots.get_nowait()


def gpu_slots(gpus: list[str], per_gpu: int) -> list[str]:
    """One entry per worker: each GPU id ``per_gpu`` times, interleaved (0, 1, 0, 1) so a short sweep spreads."""
    return [g for _ in range(per_gpu) for g in gpus]


def _died(job: Job, exc: BaseException) -> Outcome:
    """The outcome of a job whose pool process died: failed, resumable from its checkpoint."""
    return Outcome(job.run_id, "failed", error=f"worker process died ({exc}); rerun to resume")


class LocalExecutor:
    name = "local"

    def __init__(self, workers: int | None = None, runs_per_gpu: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise FptError(f"--workers must be >= 1, got {workers}")
        if runs_per_gpu is not None and runs_per_gpu < 1:
            raise FptError(f"--runs-per-gpu must be >= 1, got {runs_per_gpu}")
        self.workers, self.runs_per_gpu = workers, runs_per_gpu

    def gpus_available(self, jobs: list[Job] | None = None) -> int:
        from ..cuda_env import visible_gpus

        return len(visible_gpus())

    def per_gpu(self, jobs: list[Job]) -> int:
        if self.runs_per_gpu is not None:
            return self.runs_per_gpu
        need = max((j.resources.num_gpus for j in jobs), default=1.0) or 1.0
        return max(1, int(1.0 / need)) if need < 1 else 1

    def slots(self, jobs: list[Job]) -> list[str]:
        """GPU ids of the pool's workers (one entry per worker); [] when the runs ask for no GPU."""
        from ..cuda_env import visible_gpus

        if not any(j.resources.num_gpus > 0 for j in jobs):
            return []
        gpus = visible_gpus()
        if not gpus:
            raise FptError("the runs ask for GPUs but this machine has no visible CUDA device; use --device cpu")
        slots = gpu_slots(gpus, self.per_gpu(jobs))
        return slots[: self.workers] if self.workers is not None else slots

    def parallelism(self, jobs: list[Job]) -> int:
        if any(j.resources.num_gpus > 0 for j in jobs):
            return len(self.slots(jobs))
        if self.workers is not None:
            return self.workers
        return default_workers(max((j.resources.num_cpus for j in jobs), default=1))

    def run(self, jobs: list[Job], results: Path, on_done: Callable[[Outcome], None],
            on_start: Callable[[int], None] | None = None,
            admit: Callable[[Job], str | None] | None = None) -> list[Outcome]:
        """Run ``jobs``; with ``admit`` (a deadline), each job is asked just before it would start and is
        deferred (an outcome, nothing run) when ``admit`` gives a reason."""
        slots = self.slots(jobs)
        n = min(len(slots) if slots else self.parallelism(jobs), max(1, len(jobs)))
        if on_start is not None:
            on_start(n)
        outcomes: list[Outcome] = []

        def defer(job: Job, reason: str) -> None:
            out = Outcome(job.run_id, "deferred", error=reason)
            outcomes.append(out)
            on_done(out)

        todo = admitted(jobs, admit, defer)
        if n == 1:  # in-process (the first visible GPU, if the runs ask for one, is the run's cuda)
            for job in todo:
                out = run_job(job, str(results), gpu=slots[0] if slots else None)
                outcomes.append(out)
                on_done(out)
            return outcomes
        ctx = multiprocessing.get_context("spawn")
        pinning: dict = {}
        if slots:  # one GPU id per worker process, taken by the worker as it starts
            queue = ctx.Queue()
            for gpu in slots[:n]:
                queue.put(gpu)
            pinning = dict(initializer=_pin_gpu, initargs=(queue,))
        with ProcessPoolExecutor(max_workers=n, mp_context=ctx, **pinning) as pool:
            pending: dict = {}

            def submit_next() -> None:  # one job per free worker, so a deadline is asked as each starts
                for job in todo:
                    try:
                        pending[pool.submit(run_job, job, str(results))] = job
                        return
                    except BrokenProcessPool as exc:  # a dead pool takes no more jobs: each fails, resumable
                        out = _died(job, exc)
                        outcomes.append(out)
                        on_done(out)

            for _ in range(n):
                submit_next()
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    job = pending.pop(fut)
                    try:
                        out = fut.result()
                    except BrokenProcessPool as exc:
                        out = _died(job, exc)
                    outcomes.append(out)
                    on_done(out)
                    submit_next()
        return outcomes
