"""The Ray executor: each run is one Ray task with declared resources, on a cluster or a local one.

The only module that imports ``ray`` (lazily, so the harness works without the ``ray`` extra).

Where results land: every worker writes its run's Parquet files and checkpoints directly into the
results directory, given to the workers as an **absolute path**, which therefore must be the same
shared filesystem on every node (NFS, a cluster volume; on a single machine, any directory). The
harness's one-file-per-run, written-atomically layout is what makes this safe: two workers never
write the same file, and a run's ``runs/`` file appears only when it is complete. Nothing is shipped
back to the driver but a small ``Outcome``, so a driver that dies loses nothing a worker finished.

Failure: a worker process that dies (killed, node lost) is retried by Ray up to ``retries`` times;
the retry resumes from the run's last checkpoint. A run that still fails is reported as failed and
the next ``fptbench sweep`` of the same grid resumes it. An exception inside a run (a bad option, a
missing dataset) is not retried: it would fail the same way again.

Every node needs the same fptbench (and torch) installed; `ray start --head` on one machine and
`ray start --address HEAD:6379` on the others make a cluster, `--address HEAD:6379` (or ``auto``
on a node of it) points the sweep at it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..errors import FptError
from ..grid import Job
from .job import Outcome, run_job


def _ray():
    try:
        import ray
    except ImportError as exc:
        raise FptError("--executor ray needs Ray: `pip install 'fptbench[ray]'` (or `pip install ray`)") from exc
    return ray


def fptbench_run(job: Job, results: str) -> Outcome:
    """The Ray task body (its name is the worker's process title: ``ray::fptbench_run``)."""
    return run_job(job, results)


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None, retries: int = 1) -> None:
        if workers is not None and workers < 1:
            raise FptError(f"--workers must be >= 1, got {workers}")
        if retries < 0:
            raise FptError(f"--retries must be >= 0, got {retries}")
        self.address, self.workers, self.retries = address, workers, retries
        self._started = False

    def _connect(self, jobs: list[Job]) -> None:
        ray = _ray()
        if ray.is_initialized():
            return
        common = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
        if self.address:
            try:
                ray.init(address=self.address, **common)
            except (ConnectionError, RuntimeError) as exc:
                raise FptError(f"cannot reach a Ray cluster at --address {self.address} ({exc}); "
                               "start one with `ray start --head` or drop --address to start a local one") from exc
        else:
            cpus = None
            if self.workers is not None:
                cpus = self.workers * max((j.resources.num_cpus for j in jobs), default=1)
            ray.init(address="local", num_cpus=cpus, **common)
        self._started = True

    def close(self) -> None:
        """Shut down a Ray this executor started (after a refusal that came before ``run``)."""
        if self._started:
            _ray().shutdown()
            self._started = False

    def gpus_available(self, jobs: list[Job]) -> int:
        """GPUs the cluster declares (a head started with ``--num-gpus N`` declares N, even without a GPU)."""
        ray = _ray()
        self._connect(jobs)
        return int(float(ray.cluster_resources().get("GPU", 0)))

    def parallelism(self, jobs: list[Job]) -> int:
        if self.workers is not None:
            return self.workers
        ray = _ray()
        if not ray.is_initialized():
            return 1
        res = ray.cluster_resources()
        cpus = float(res.get("CPU", 1))
        n = max(1, int(cpus // max((j.resources.num_cpus for j in jobs), default=1)))
        need = max((j.resources.num_gpus for j in jobs), default=0.0)
        if need > 0:  # GPU runs: as many at once as the cluster's GPUs hold
            n = min(n, max(1, int(float(res.get("GPU", 0)) // need)))
        return n

    def run(self, jobs: list[Job], results: Path, on_done: Callable[[Outcome], None],
            on_start: Callable[[int], None] | None = None) -> list[Outcome]:
        ray = _ray()
        results = Path(results).resolve()
        self._connect(jobs)
        if on_start is not None:
            on_start(min(self.parallelism(jobs), max(1, len(jobs))))
        outcomes: list[Outcome] = []
        try:
            task = ray.remote(fptbench_run)
            pending = {}
            for job in jobs:
                opts = dict(num_cpus=job.resources.num_cpus, num_gpus=job.resources.num_gpus, max_retries=self.retries,
                            retry_exceptions=False)
                pending[task.options(**opts).remote(job, str(results))] = job
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    job = pending.pop(ref)
                    try:
                        out = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                        out = Outcome(job.run_id, "failed", error=f"{type(exc).__name__}: {first}; rerun to resume")
                    outcomes.append(out)
                    on_done(out)
        finally:
            if self._started:
                ray.shutdown()
                self._started = False
        return outcomes
