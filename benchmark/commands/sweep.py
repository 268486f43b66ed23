"""``fptbench sweep``: run a profile's suite or a grid file, locally or on a Ray cluster.

Two forms, one path. ``--profile P`` runs the profile's fixed suite (what ``make reproduce`` and the
CI gate run); ``--grid FILE.toml`` (or a built-in grid name) expands a grid (``benchmark.grid``)
into the exact runs ``fptbench run`` makes. Both skip finished runs before submitting anything,
resume checkpointed ones, show a live view (done, running, failed, diverged, time left from the
measured throughput) and end with a one-screen summary. A grid sweep also appends one line per job
to ``RESULTS/sweep-log.jsonl`` (what ran where and how it ended, for audits: every run finished
exactly once). ``--dry-run`` prints the
expansion and an estimated cost instead of running (docs/sweeps.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from ..cli import DEFAULT_RESULTS, args, command
from ..grid import Job

if TYPE_CHECKING:
    from ..executors.placement import DeviceRequest

LEDGER = "sweep-log.jsonl"


def _sweep_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default=None, help="run this profile's suite (default cpu when no --grid)")
    p.add_argument("--grid", default=None, help="a grid TOML file, or a built-in grid: cpu-lr, paper-lr")
    p.add_argument("--executor", default="local", choices=["local", "ray"],
                   help="local processes, or a Ray cluster (docs/sweeps.md)")
    p.add_argument("--address", default=None, help="Ray cluster address (host:6379 or auto); default: start a local one")
    p.add_argument("--workers", type=int, default=None,
                   help="runs at once (local default: cores-1 per run's num_cpus, so 1 on 2 cores; ray: the cluster's CPUs)")
    p.add_argument("--retries", type=int, default=1, help="ray: times a run whose worker died is retried (resumes)")
    p.add_argument("--results", default=DEFAULT_RESULTS, help="results directory the runs go to")
    p.add_argument("--device", default=None,
                   help="override the grid's or profile's device (default: the grid's, else the profile's: auto, cuda for paper)")
    p.add_argument("--gpus-per-run", type=float, default=None,
                   help="GPUs each run asks for on CUDA (default: the grid's [resources] num_gpus or the profile's, else 1)")
    p.add_argument("--runs-per-gpu", type=int, default=None,
                   help="local: runs sharing one GPU (default 1: one worker per visible GPU, each pinned to its own)")
    p.add_argument("--dry-run", action="store_true", help="print the expansion and estimated cost, run nothing")
    p.add_argument("--probe-steps", type=int, default=0,
                   help="--dry-run: also time this many training steps of each configuration that has no recorded "
                   "speed (default 0: estimate from recorded throughput only, which answers in seconds)")
    p.add_argument("--json", action="store_true", help="--dry-run: print the runs and the estimate as JSON")
    p.add_argument("--no-progress", action="store_true", help="plain lines instead of a live progress bar")
    p.add_argument("--deadline", default=None, metavar="WHEN",
                   help="start a run only if its estimated wall time (recorded by finished runs of its configuration) "
                        "ends before WHEN: HH:MM in UTC, or a duration from now (90m, 2h, 1h30m); runs that would not "
                        "fit are deferred, not started (local executor; benchmark/deadline.py)")


# -- which jobs ----------------------------------------------------------------------------------
def profile_jobs(profile: str, device: str | None) -> tuple[str, list[Job], list[str]]:
    """The suite of a profile as jobs (threads left as the process has them, as `fptbench run` does).

    ``device`` None: ``auto``; the profile's own default device (``cuda`` for the GPU profiles) and the GPUs
    each run asks for are applied afterwards, with every sweep's, by ``executors.placement.place``."""
    from ..errors import NeedsData
    from ..grid import Resources
    from ..profiles import get_profile
    from ..runner import make_config

    jobs: dict[str, Job] = {}
    skipped: list[str] = []
    device = device or "auto"
    for entry in get_profile(profile).suite:
        for seed in entry.seeds:
            try:
                cfg = make_config(entry.task, entry.model, backbone=entry.backbone, seed=seed, profile=profile, device=device)
            except NeedsData as exc:
                msg = f"skip {entry.task}/{entry.model}: {exc}"
                if msg not in skipped:
                    skipped.append(msg)
                continue
            jobs.setdefault(cfg.run_id, Job(cfg, "", cfg.budget.lr, Resources(), pin_threads=False))
    return f"profile {profile}", list(jobs.values()), skipped


def grid_jobs(spec: str, device: str | None) -> tuple[str, list[Job], list[str]]:
    from dataclasses import replace

    from ..grid import expand, load_grid

    grid = load_grid(spec)
    if device:
        grid = replace(grid, device=device)
    skipped: list[str] = []
    return f"grid {grid.name}", expand(grid, skipped), skipped


def device_request(a: argparse.Namespace, grid_spec: str | None, profile: str) -> "DeviceRequest":
    """What the user asked for, before it is checked against the hardware (``placement.place``)."""
    from ..executors.placement import DeviceRequest

    flag = getattr(a, "device", None)
    gpus = getattr(a, "gpus_per_run", None)
    if grid_spec:
        from ..grid import load_grid

        grid = load_grid(grid_spec)
        return DeviceRequest(flag or grid.device, flag is not None, gpus, grid.resources.num_gpus, f"grid {grid.name}")
    from ..profiles import get_profile

    p = get_profile(profile)
    return DeviceRequest(flag or p.device, flag is not None, gpus, p.gpus_per_run, f"profile {profile}")


def job_state(job: Job, results: Path) -> str:
    """done | checkpointed | todo: what a sweep would do with this job now."""
    from ..record import finished_run_exists
    from ..results import checkpoint_path

    if finished_run_exists(results, job.config):
        return "done"
    return "checkpointed" if checkpoint_path(results, job.run_id).exists() else "todo"


# -- dry run -------------------------------------------------------------------------------------
def dry_run(title: str, jobs: list[Job], results: Path, parallelism: int, probe_steps: int, as_json: bool = False,
            gpu_lines: list[str] | None = None, deadline_text: str | None = None) -> int:
    from ..sweep_cost import format_seconds, job_steps_left, probe_speed, recorded_speeds, speed_key, speeds_from_results

    states = {j.run_id: job_state(j, results) for j in jobs}
    todo = [j for j in jobs if states[j.run_id] != "done"]
    speeds = {**recorded_speeds(), **speeds_from_results([results])}  # this results dir wins over committed records
    if as_json:
        return _dry_run_json(title, jobs, states, todo, results, parallelism, speeds)
    print(f"{title}: {len(jobs)} runs into {results}")
    print(f"  {'state':<12} {'task':<14} {'model':<16} {'backbone':<12} {'preset':<12} {'lr':>8} {'seed':>4} {'steps':>6}  run id")
    for j in jobs:
        c = j.config
        print(f"  {states[j.run_id]:<12} {c.task:<14} {c.model:<16} {c.backbone:<12} {j.preset or '-':<12} {j.lr:>8.1e} "
              f"{c.seed:>4} {c.budget.steps:>6}  {j.run_id}")
    total, unknown = 0.0, 0
    print(f"\nestimated cost of the {len(todo)} runs left (an estimate from recorded throughput, training steps only; "
          "evaluations add to it, and another machine's speed differs):")
    for key in dict.fromkeys(speed_key(j.config) for j in todo):
        group = [j for j in todo if speed_key(j.config) == key]
        speed = speeds.get(key)
        if speed is None:
            speed = probe_speed(group[0], probe_steps) if probe_steps > 0 else None
        steps = sum(job_steps_left(j, results) for j in group)
        if speed is None or speed.steps_per_s is None:
            unknown += len(group)
            why = speed.source if speed is not None else (
                "unknown: no finished run computed as it would be here (device, precision), and --probe-steps 0")
            print(f"  {key[0]}/{key[1]}/{key[2]} {key[3] if key[3] != '{}' else ''}: {len(group)} runs, {steps} steps; {why}")
            continue
        secs = steps / speed.steps_per_s
        total += secs
        print(f"  {key[0]}/{key[1]}/{key[2]} {key[3] if key[3] != '{}' else ''}: {len(group)} runs, {steps} steps at "
              f"{speed.steps_per_s:.2f} steps/s from {speed.source} = {format_seconds(secs)}")
    if unknown == len(todo) and todo:
        print(f"total: unknown (no speed measured for any of the {len(todo)} runs; allow --probe-steps or add results)")
    else:
        note = f" (+ {unknown} runs of unknown speed)" if unknown else ""
        print(f"total (estimate): {format_seconds(total)} of training in one worker; ~{format_seconds(total / max(1, parallelism))} "
              f"with {parallelism} at once{note}")
    if gpu_lines:
        print()
        print("\n".join(gpu_lines))
    if deadline_text is not None:
        print("\n".join(deadline_lines(deadline_text, todo, results, parallelism)))
    return 0


def deadline_lines(text: str, todo: list[Job], results: Path, parallelism: int) -> list[str]:
    """What ``--deadline`` would start and defer, priced as the sweep would price it (benchmark/deadline.py)."""
    from ..deadline import Deadline, preview

    d = Deadline.for_sweep(text, results)
    plan = preview(d, todo, parallelism)
    ends = [end for _, end, _ in plan if end is not None]
    last = time.strftime("%H:%M UTC", time.gmtime(max(ends))) if ends else "-"
    lines = [f"\nwith --deadline {d.at.strftime('%H:%M UTC')} and {parallelism} at once: {len(ends)} of the {len(todo)} "
             f"runs left would start (the last ending about {last}), {len(plan) - len(ends)} deferred"]
    lines += [f"  deferred {job.run_id}: {why}" for job, end, why in plan if end is None][:20]
    return lines


def _dry_run_json(title: str, jobs: list[Job], states: dict, todo: list[Job], results: Path, parallelism: int,
                  speeds: dict) -> int:
    """The same expansion and estimate as JSON (recorded speeds only: no probe)."""
    from ..sweep_cost import job_steps_left, speed_key

    known = [(j, speeds.get(speed_key(j.config))) for j in todo]
    secs = [job_steps_left(j, results) / sp.steps_per_s for j, sp in known if sp is not None and sp.steps_per_s]
    print(json.dumps({
        "sweep": title, "results": str(results), "parallelism": parallelism,
        "runs": [{"run_id": j.run_id, "state": states[j.run_id], "task": j.config.task, "model": j.config.model,
                  "backbone": j.config.backbone, "preset": j.preset, "lr": j.lr, "seed": j.config.seed,
                  "steps": j.config.budget.steps} for j in jobs],
        "estimate": {"kind": "estimate from recorded throughput, training steps only", "train_seconds_one_worker": sum(secs),
                     "runs_left": len(todo), "runs_of_unknown_speed": len(todo) - len(secs)},
    }, indent=2))
    return 0


# -- live view -----------------------------------------------------------------------------------
class LiveView:
    """Counts and time left while a sweep runs (a tqdm bar, or plain lines with --no-progress).

    Time left = steps still to train x measured wall seconds per step (evaluations included) of the
    same configuration in this sweep, else of any configuration in this sweep, else the speed found
    in the results (training only), divided by how many runs execute at once.
    """

    def __init__(self, title: str, jobs: list[Job], results: Path, progress: bool) -> None:
        from ..sweep_cost import job_steps_left, speed_key, speeds_from_results

        self.title, self.results, self.progress = title, results, progress
        self.left = {j.run_id: (speed_key(j.config), job_steps_left(j, results)) for j in jobs}
        self.prior = speeds_from_results([results])
        self.measured: dict = {}
        self.counts: Counter = Counter()
        self.parallelism = 1
        self.bar = None
        self.total = len(jobs)
        self.t0 = time.perf_counter()

    def start(self, parallelism: int) -> None:
        self.parallelism = parallelism
        if self.progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total, desc=self.title, unit="run", dynamic_ncols=True, file=sys.stderr)
            self._refresh()

    def _sec_per_step(self, key) -> float | None:
        if key in self.measured:
            return statistics.fmean(self.measured[key])
        if self.measured:
            return statistics.fmean(v for vals in self.measured.values() for v in vals)
        prior = self.prior.get(key)
        return 1 / prior.steps_per_s if prior and prior.steps_per_s else None

    def eta(self) -> float | None:
        total = 0.0
        for key, steps in self.left.values():
            sps = self._sec_per_step(key)
            if sps is None:
                return None
            total += steps * sps
        return total / max(1, self.parallelism)

    def running(self) -> int:
        return min(len(self.left), self.parallelism)

    def _refresh(self) -> None:
        from ..sweep_cost import format_seconds

        if self.bar is not None:
            c = self.counts
            self.bar.set_postfix_str(f"finished {c['finished']} running {self.running()} failed {c['failed']} "
                                     f"diverged {c['diverged']} left ~{format_seconds(self.eta())}")

    def done(self, out) -> None:
        key, _ = self.left.pop(out.run_id, (None, 0))
        self.counts[out.status] += 1
        if out.steps > 0 and key is not None:
            self.measured.setdefault(key, []).append(out.seconds / out.steps)
        line = f"{out.run_id}: {out.status}" + (f" on GPU {out.gpu}" if out.gpu else "") + (f" ({out.error})" if out.error else "")
        if self.bar is not None:
            self.bar.write(line)
            self.bar.update(1)
            self._refresh()
        else:
            print(line, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def append_ledger(results: Path, title: str, executor: str, out) -> None:
    """One JSON line per job outcome, appended by the driver only (never by workers)."""
    results.mkdir(parents=True, exist_ok=True)
    rec = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "sweep": title, "executor": executor,
           "run_id": out.run_id, "status": out.status, "seconds": round(out.seconds, 3), "steps": out.steps,
           "host": out.host, "pid": out.pid, "gpu": out.gpu, "error": out.error}
    with open(results / LEDGER, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(rec, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def summary(title: str, executor: str, parallelism: int, jobs: list[Job], outcomes: list, pre_done: int,
            skipped_tasks: list[str], results: Path, seconds: float) -> str:
    from ..sweep_cost import format_seconds

    c = Counter(o.status for o in outcomes)
    deferred = (f", {c['deferred']} deferred (would not end before the deadline: not started, rerun later)"
                if c["deferred"] else "")
    lines = [f"{title}: {len(jobs)} runs via {executor} ({parallelism} at once) in {format_seconds(seconds)} — "
             f"{c['finished']} finished, {pre_done + c['skipped']} already done, {c['diverged']} diverged, "
             f"{c['failed']} failed{deferred}"]
    by_cfg: dict[tuple, Counter] = {}
    status = {o.run_id: o.status for o in outcomes}
    for j in jobs:
        k = (j.config.task, j.config.model, j.config.backbone, j.preset or "-")
        by_cfg.setdefault(k, Counter())[status.get(j.run_id, "skipped")] += 1
    if len(by_cfg) > 1 or len(jobs) > 1:
        lines.append(f"  {'task':<14} {'model':<16} {'backbone':<12} {'preset':<10} runs  finished/done  diverged  failed")
        for k, cnt in list(by_cfg.items())[:12]:
            lines.append(f"  {k[0]:<14} {k[1]:<16} {k[2]:<12} {k[3]:<10} {sum(cnt.values()):>4}  "
                         f"{cnt['finished'] + cnt['skipped']:>13}  {cnt['diverged']:>8}  {cnt['failed']:>6}")
        if len(by_cfg) > 12:
            lines.append(f"  ... and {len(by_cfg) - 12} more configurations")
    for o in [o for o in outcomes if o.status == "failed"][:5]:
        lines.append(f"  failed: {o.run_id}: {o.error}")
    if c["failed"] > 5:
        lines.append(f"  ... and {c['failed'] - 5} more failed (see {results / LEDGER})")
    lines += [f"  {m}" for m in skipped_tasks]
    tail = "rerun the same command to resume the failed runs; " if c["failed"] else ""
    lines.append(f"results: {results} ({tail}`fptbench select --results {results}` picks learning rates on validation)")
    return "\n".join(lines)


@command("sweep", "run a profile's suite or a grid (--grid FILE.toml), locally or on Ray; finished runs are skipped",
         group="run")
@args(_sweep_args)
def cmd_sweep(a: argparse.Namespace) -> int:
    from ..errors import FptError
    from ..executors import get_executor

    grid_spec = getattr(a, "grid", None)
    device = getattr(a, "device", None)
    if grid_spec and a.profile:
        raise FptError("give --grid or --profile, not both (a grid names its own profile)")
    from ..executors.placement import is_cuda, place

    profile = a.profile or "cpu"
    if grid_spec:
        title, jobs, skipped = grid_jobs(grid_spec, device)
    else:
        title, jobs, skipped = profile_jobs(profile, device)
    request = device_request(a, grid_spec, profile)
    executor_name = getattr(a, "executor", "local")
    deadline_text = getattr(a, "deadline", None)
    if deadline_text is not None:
        from ..deadline import deadline_from_now

        if executor_name != "local":
            raise FptError("--deadline works with the local executor only; drop it or use --executor local")
        deadline_from_now(deadline_text)  # bad input is refused before anything is built
    workers = getattr(a, "workers", None)
    executor = get_executor(executor_name, workers=workers, address=getattr(a, "address", None),
                            retries=getattr(a, "retries", 1), runs_per_gpu=getattr(a, "runs_per_gpu", None))
    results = Path(a.results).resolve() if executor_name == "ray" else Path(a.results)
    for msg in skipped:
        print(msg)
    if getattr(a, "dry_run", False):
        jobs, _ = place(jobs, request, None, "")
        gpu_lines = None
        probe = getattr(a, "probe_steps", 0)
        if is_cuda(request.device):  # priced in GPU-hours, also for runs whose data is not prepared here
            from ..cuda_env import cuda_available
            from ..executors.placement import gpus_per_run
            from ..sweep_cost import gpu_hours, plan_jobs, plan_profile, speeds_from_results

            n = gpus_per_run(request, request.device)
            planned = plan_jobs(jobs, results) if grid_spec else plan_profile(profile, request.device, n, jobs, results)
            prof = jobs[0].config.profile if grid_spec and jobs else profile
            gpu_lines = gpu_hours(planned, prof, speeds_from_results([results]))
            if grid_spec and skipped:
                gpu_lines.append(f"  not priced: {len(skipped)} task(s) whose data is not prepared here (listed above)")
            if not cuda_available():
                probe = 0  # a CUDA probe cannot run here; the GPU-hours use measured or stated speeds
        par = workers or (executor.parallelism(jobs) if executor_name == "local" and grid_spec and gpu_lines is None else 1)
        return dry_run(title, jobs, results, par, probe, getattr(a, "json", False), gpu_lines, deadline_text)
    where = "this machine" if executor_name == "local" else f"the Ray cluster{' at ' + a.address if getattr(a, 'address', None) else ''}"
    try:
        jobs, placed = place(jobs, request, executor.gpus_available(jobs), where)
    except BaseException:
        getattr(executor, "close", lambda: None)()
        raise
    if any(is_cuda(j.config.device) or j.resources.num_gpus > 0 for j in jobs):
        print(placed)
    elif executor_name == "local" and workers is None and not grid_spec:
        executor.workers = 1  # a CPU profile's suite keeps the process's own threads: one run at a time, as before

    pre_done = [j for j in jobs if job_state(j, results) == "done"]
    todo = [j for j in jobs if j not in pre_done]
    view = LiveView(title, todo, results, progress=not a.no_progress)
    for j in pre_done:
        print(f"{j.run_id}: skipped")
    t0 = time.perf_counter()
    par = [1]

    def on_start(n: int) -> None:
        par[0] = n
        view.start(n)

    def on_done(out) -> None:
        if grid_spec and out.status != "deferred":  # a suite (make reproduce, the CI gate) leaves its results as before;
            # a deferred job never ran, so the ledger (what ran where) does not list it
            append_ledger(results, title, executor_name, out)
        view.done(out)
        if deadline is not None and out.run_id in by_id:  # priced from this sitting's own measurement from now on
            deadline.observe(by_id[out.run_id], out.seconds, out.steps)

    deadline, by_id = None, {j.run_id: j for j in todo}
    if deadline_text is not None:
        from ..deadline import Deadline

        deadline = Deadline.for_sweep(deadline_text, results)
    admit = deadline.admit if deadline is not None else None
    try:
        outcomes = (executor.run(todo, results, on_done, on_start, admit=admit) if admit else
                    executor.run(todo, results, on_done, on_start)) if todo else []
    finally:
        view.close()
    print(summary(title, executor_name, par[0], jobs, outcomes, len(pre_done), skipped, results,
                  time.perf_counter() - t0))
    return 1 if any(o.status == "failed" for o in outcomes) else 0
