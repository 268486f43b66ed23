"""Executors: where the runs of a sweep execute. ``local`` (this machine) and ``ray`` (a Ray cluster).

An executor takes expanded ``Job``s and a results directory and reports one ``Outcome`` per job
through a callback as each finishes. Every job runs ``benchmark.executors.job.run_job``, i.e. the
same ``Trainer`` ``fptbench run`` uses, so the executor changes where a run executes, never what
it computes. Ray is optional: only ``benchmark/executors/ray_cluster.py`` imports it, lazily.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Protocol

from ..errors import FptError
from ..grid import Job
from .job import Outcome

EXECUTORS = ("local", "ray")


class Executor(Protocol):
    name: str

    def gpus_available(self, jobs: list[Job]) -> int:
        """GPUs this executor can hand out (visible devices here; the Ray cluster's declared GPUs)."""

    def parallelism(self, jobs: list[Job]) -> int:
        """How many jobs run at once (for the live view's time estimate)."""

    def run(self, jobs: list[Job], results: Path, on_done: Callable[[Outcome], None],
            on_start: Callable[[int], None] | None = None) -> list[Outcome]:
        """Run every job, call ``on_done`` as each finishes, return all outcomes (in completion order).
        ``on_start(parallelism)`` is called once the executor knows how many jobs run at once."""


def default_workers(num_cpus: int = 1) -> int:
    """Local pool size: the machine's cores less one for the driver and the OS, per run's CPUs (1 on 2 cores)."""
    return max(1, ((os.cpu_count() or 1) - 1) // max(1, num_cpus))


def get_executor(name: str, *, workers: int | None = None, address: str | None = None, retries: int = 1,
                 runs_per_gpu: int | None = None) -> Executor:
    if name == "local":
        from .local import LocalExecutor

        if address:
            raise FptError("--address is for --executor ray; drop it or add --executor ray")
        return LocalExecutor(workers, runs_per_gpu=runs_per_gpu)
    if name == "ray":
        from .ray_cluster import RayExecutor

        if runs_per_gpu is not None:
            raise FptError("--runs-per-gpu is for the local executor; on Ray give a fraction: --gpus-per-run 0.5")
        return RayExecutor(address=address, workers=workers, retries=retries)
    raise FptError(f"unknown executor '{name}'; choose from {', '.join(EXECUTORS)}")


__all__ = ["EXECUTORS", "Executor", "Outcome", "default_workers", "get_executor"]
