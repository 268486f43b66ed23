"""What one sweep job does wherever it executes: run one config through the harness's Trainer.

This function is what a local pool process or a Ray worker calls, so it must be importable by
reference (no closures) and must never raise for a failed run: a failure is an ``Outcome``. A
worker that dies (killed, out of memory) produces no outcome; the executor reports it as failed
and the run's checkpoint lets the next sweep resume it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..grid import Job


@dataclass(frozen=True)
class Outcome:
    run_id: str
    status: str  # finished | diverged | skipped | failed | deferred (a deadline: not started)
    seconds: float = 0.0  # wall time of the job, evaluations included
    steps: int = 0  # steps this job trained (0 when skipped or failed)
    error: str = ""
    host: str = ""
    pid: int = 0
    gpu: str = ""  # the GPU id(s) the run was given (CUDA_VISIBLE_DEVICES of its worker); "" without GPUs


@contextlib.contextmanager
def pinned_threads(n: int | None) -> Iterator[None]:
    """Run with ``n`` torch threads (None: leave the process's setting), restoring the old count after."""
    import torch

    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def assigned_gpu(job: Job, gpu: str | None = None) -> str:
    """The GPU id(s) this worker was given for ``job``: what the executor pinned, as the run sees it."""
    if job.resources.num_gpus <= 0:
        return ""
    if gpu is not None:
        return gpu
    return os.environ.get("CUDA_VISIBLE_DEVICES", "")


def run_job(job: Job, results: str, gpu: str | None = None) -> Outcome:
    """Run ``job`` into ``results`` (an absolute path every worker can reach) and say how it went.

    ``gpu``: the id an in-process executor gave the run (pool workers and Ray tasks are pinned by
    their environment, read here)."""
    from ..errors import FptError
    from ..results import checkpoint_path
    from ..runner import run

    t0 = time.perf_counter()
    where = {"host": socket.gethostname(), "pid": os.getpid(), "gpu": assigned_gpu(job, gpu)}
    cfg = job.config
    start_step = _checkpoint_step(checkpoint_path(Path(results), cfg.run_id))
    try:
        with pinned_threads(job.resources.num_cpus if job.pin_threads else None):
            status = run(cfg, results, progress=False)
    except FptError as exc:
        return Outcome(cfg.run_id, "failed", time.perf_counter() - t0, error=str(exc), **where)
    except Exception as exc:  # noqa: BLE001 - a bug in one run must not end the sweep
        return Outcome(cfg.run_id, "failed", time.perf_counter() - t0, error=f"{type(exc).__name__}: {exc}", **where)
    steps = 0 if status == "skipped" else max(0, _trained_steps(Path(results), cfg.run_id) - start_step)
    return Outcome(cfg.run_id, status, time.perf_counter() - t0, steps, **where)


def _checkpoint_step(path: Path) -> int:
    """The step a checkpoint resumes from (0 without one), read without loading the weights' optimizer."""
    if not path.exists():
        return 0
    try:
        import torch

        return int(torch.load(path, map_location="cpu", weights_only=True)["state"]["step"])
    except Exception:  # noqa: BLE001 - only used for the time estimate
        return 0


def _trained_steps(results: Path, run_id: str) -> int:
    import pyarrow.parquet as pq

    from ..results import run_path

    try:
        return int(pq.read_table(run_path(results, run_id), columns=["steps_trained"]).column(0)[0].as_py())
    except Exception:  # noqa: BLE001 - only used for the time estimate
        return 0
