"""A sweep that starts only the runs it can finish before a deadline (``fptbench sweep --deadline``).

A run cut off by the end of a sitting (a session on a time-limited machine, a reservation, a CI job)
leaves a checkpoint that the next machine never sees: its hours are lost, and long evidence rows (the
LSTM on Bit Memory takes hours on one core) are the ones most often cut. With a deadline the local
executor asks before it starts each run whether the run's estimated wall time ends in time; a run that
would not is *deferred*: not started, nothing written, left for the next sweep, which picks it up like
any unfinished run. The question is asked when the run would start, not when the sweep starts, so a
worker that frees up late still gets a short run that fits.

The estimate is the run's steps left times the wall seconds per step (evaluations and set-up
included) that finished runs of the same configuration recorded (``wall_time_s / steps_trained``;
this results directory first, then the repository's committed results), replaced by the sweep's own
measurement once a run of that configuration finishes in it: records may come from another machine. Only
records computed in the precision the configuration gets on this machine count (``computed_here``): the
LSTM's bf16 records from an AMD EPYC priced its fp32 runs on an AMX Xeon at a quarter of their wall
time. A configuration with no
recorded run is priced by a probe of a few training steps through the real trainer (once per
configuration), its evaluations added at a third of a training example per evaluated example
(``sweep_cost.EVAL_COST``); one the probe cannot price is deferred, saying why.
"""

from __future__ import annotations

import re
import statistics
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .errors import FptError
from .grid import Job
from .sweep_cost import (SpeedKey, committed_results_dirs, computed_here, format_seconds, job_steps_left, per_configuration,
                         speed_key)

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_deadline(text: str, now: datetime) -> datetime:
    """``HH:MM`` (UTC; the next time the clock shows it) or a duration from now (``90m``, ``2h``, ``1h30m``)."""
    s = text.strip().lower()
    clock = _CLOCK.match(s)
    if clock:
        h, m = int(clock.group(1)), int(clock.group(2))
        if h > 23 or m > 59:
            raise FptError(f"--deadline {text!r}: not a time of day; give HH:MM in UTC (e.g. 17:15) or a duration (90m, 2h)")
        at = now.astimezone(timezone.utc).replace(hour=h, minute=m, second=0, microsecond=0)
        return at if at > now else at + timedelta(days=1)
    dur = _DURATION.match(s)
    if dur and (dur.group(1) or dur.group(2)):
        return now + timedelta(hours=int(dur.group(1) or 0), minutes=int(dur.group(2) or 0))
    raise FptError(f"--deadline {text!r}: give HH:MM in UTC (e.g. 17:15) or a duration from now (90m, 2h, 1h30m)")


def deadline_from_now(text: str) -> datetime:
    """``parse_deadline`` against the clock now (UTC)."""
    return parse_deadline(text, datetime.now(timezone.utc))


def wall_seconds_per_step(dirs: Iterable[Path | str], keep: Callable[[Any], bool] | None = computed_here
                          ) -> dict[SpeedKey, float]:
    """Median wall seconds per trained step (evaluations and set-up included) per configuration, over the
    finished runs in ``dirs`` that recorded their wall time and that ``keep(run)`` accepts (by default:
    computed here, ``sweep_cost.computed_here``)."""
    def per_step(r) -> float | None:
        wall, steps = getattr(r, "wall_time_s", None), r.steps_trained
        return wall / float(steps) if isinstance(wall, float) and steps and steps > 0 else None

    return {k: statistics.median(v) for k, v in per_configuration(dirs, per_step, keep).items()}


class Deadline:
    """Admits a job when ``now + its estimated wall time <= at``; else says why it is deferred."""

    def __init__(self, at: datetime, per_step: dict[SpeedKey, float], results: Path,
                 clock: Callable[[], float] = time.time, probe: Callable[[Job], float | None] | None = None) -> None:
        self.at, self.per_step, self.results, self.clock, self.probe = at, per_step, results, clock, probe
        self.probed: set[SpeedKey] = set()

    @classmethod
    def for_sweep(cls, text: str, results: Path) -> "Deadline":
        """The deadline ``--deadline`` names, priced from this results directory, then the committed ones."""
        per_step = {**wall_seconds_per_step(committed_results_dirs()), **wall_seconds_per_step([results])}
        return cls(deadline_from_now(text), per_step, results, probe=probed_seconds_per_step)

    def observe(self, job: Job, seconds: float, steps: int) -> None:
        """A run of this sitting finished: its configuration is priced from it from now on (this machine,
        now), not from records that another machine may have made."""
        if steps > 0 and seconds > 0:
            self.per_step[speed_key(job.config)] = seconds / steps

    def estimate(self, job: Job) -> float | None:
        key = speed_key(job.config)
        if key not in self.per_step and self.probe is not None and key not in self.probed:
            self.probed.add(key)  # once per configuration, priced or not
            sps = self.probe(job)
            if sps is not None:
                self.per_step[key] = sps
        sps = self.per_step.get(key)
        return None if sps is None else sps * job_steps_left(job, self.results)

    def admit(self, job: Job) -> str | None:
        """None to start the job now, else the reason it is deferred (one line)."""
        return self.decide(job, self.clock())[0]

    def decide(self, job: Job, now: float) -> tuple[str | None, float | None]:
        """(reason it is deferred or None, its estimate) for ``job`` starting at ``now`` (epoch seconds)."""
        left = self.at.timestamp() - now
        est = self.estimate(job)
        when = self.at.strftime("%H:%M UTC")
        if est is None:
            return (f"no finished run of this configuration records its wall time and a probe could not price it, "
                    f"so whether it ends before {when} is unknown (run one without --deadline)"), None
        if est > left:
            return f"estimated {format_seconds(est)} of wall time, {format_seconds(max(0.0, left))} left before {when}", est
        return None, est


def probed_seconds_per_step(job: Job, steps: int = 6) -> float | None:
    """Wall seconds per step from a probe of ``steps`` training steps, with the run's evaluations priced at
    ``EVAL_COST`` of a trained example per evaluated one (the val split every ``eval_every`` steps, the test
    split once); None when the probe fails."""
    from .sweep_cost import eval_seconds, evaluated_examples, probe_speed
    from .task import get_task

    speed = probe_speed(job, steps)
    if not speed.steps_per_s:
        return None
    b = job.config.budget
    splits = get_task(job.config.task).spec.splits
    examples = evaluated_examples(b, b.steps, splits["val"].size, splits["test"].size)
    return (b.steps / speed.steps_per_s + eval_seconds(examples, b.batch_size, speed.steps_per_s)) / b.steps


def preview(deadline: Deadline, jobs: list[Job], workers: int) -> list[tuple[Job, float | None, str | None]]:
    """What a sweep with this deadline would do, in order: (job, estimated end as epoch seconds, or None
    when deferred, and the reason). Each job goes to the worker that frees up first, as the executor does."""
    free = [deadline.clock()] * max(1, workers)
    out: list[tuple[Job, float | None, str | None]] = []
    for job in jobs:
        i = min(range(len(free)), key=free.__getitem__)
        reason, est = deadline.decide(job, free[i])  # asked at the moment that worker frees up
        if reason is None:
            free[i] += est or 0.0
            out.append((job, free[i], None))
        else:
            out.append((job, None, reason))
    return out


def admitted(jobs: Iterable[Job], admit: Callable[[Job], str | None] | None,
             on_deferred: Callable[[Job, str], None]) -> Iterator[Job]:
    """The jobs to start, each asked at the moment it is taken (lazily); the others go to ``on_deferred``."""
    for job in jobs:
        reason = admit(job) if admit is not None else None
        if reason is None:
            yield job
        else:
            on_deferred(job, reason)
