"""What a sweep will cost, from measured training speed: existing results first, a short probe else.

A run's speed depends on its task, model, backbone, options, batch size and device, never on its
learning rate or seed, so one measurement covers every lr and seed of a configuration. Speeds come
from ``steps_per_s`` of finished runs already in the results directories (the median), or, where
there is none, from a timed probe of a few training steps through the real Trainer (the first step,
which pays for lazy initialisation, is not timed). Both count training steps only: evaluations add
to the wall time, so the estimate says it is a lower bound. The live view replaces these numbers by
the sweep's own measured wall time per step as runs finish.
"""

from __future__ import annotations

import json
import math
import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

from .grid import Job

SpeedKey = tuple[str, str, str, str, int, str]


@dataclass(frozen=True)
class Speed:
    steps_per_s: float | None
    source: str  # "results (n runs)" | "probe (k steps)" | "unknown: why"


def speed_key(cfg) -> SpeedKey:
    return (cfg.task, cfg.model, cfg.backbone, json.dumps(cfg.model_options, sort_keys=True), cfg.budget.batch_size,
            cfg.device)


def speeds_from_results(dirs: Iterable[Path | str]) -> dict[SpeedKey, Speed]:
    """Median measured steps/s per configuration over the finished runs in ``dirs``."""
    from .config import RunConfig  # noqa: F401  (documents what the config JSON is)
    from .profiles import Budget
    from .results import read_table

    runs = read_table([d for d in dirs if Path(d).is_dir()], "runs")
    if runs.empty:
        return {}
    runs = runs[(runs.status == "finished")].drop_duplicates("run_id")
    found: dict[SpeedKey, list[float]] = {}
    for r in runs.itertuples():
        if not (isinstance(r.steps_per_s, float) and math.isfinite(r.steps_per_s) and r.steps_per_s > 0):
            continue
        c = json.loads(r.config)
        key = (c["task"], c["model"], c["backbone"], json.dumps(c.get("model_options", {}), sort_keys=True),
               int(c.get("budget", {}).get("batch_size", Budget().batch_size)), c.get("device", "auto"))
        found.setdefault(key, []).append(float(r.steps_per_s))
    return {k: Speed(statistics.median(v), f"results ({len(v)} runs)") for k, v in found.items()}


def recorded_speeds() -> dict[SpeedKey, Speed]:
    """Speeds recorded in the committed results (``results/*`` of the repository): what ``--dry-run``
    estimates from before anything ran here. Measured on the machine that made them, said as such."""
    from .paths import REPO_ROOT

    out: dict[SpeedKey, Speed] = {}
    root = REPO_ROOT / "results"
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        if d.name != "local" and (d / "runs").is_dir():
            for key, speed in speeds_from_results([d]).items():
                out.setdefault(key, Speed(speed.steps_per_s, f"recorded in results/{d.name} ({speed.source[9:-1]})"))
    return out


class _ProbeDone(Exception):
    pass


def probe_speed(job: Job, steps: int = 6) -> Speed:
    """Time ``steps`` training steps of ``job``'s configuration in a throw-away results directory."""
    from .errors import FptError
    from .executors.job import pinned_threads
    from .runner import trainer_for

    budget = replace(job.config.budget, steps=max(steps + 1, 2), eval_at_start=False, eval_every=10**9,
                     checkpoint_every=10**9)
    cfg = replace(job.config, budget=budget)
    stamps: list[float] = []

    def on_step(step: int) -> None:
        stamps.append(time.perf_counter())
        if step >= steps + 1:
            raise _ProbeDone

    with tempfile.TemporaryDirectory(prefix="fptbench-probe-") as tmp:
        try:
            with pinned_threads(job.resources.num_cpus if job.pin_threads else None):
                trainer_for(cfg, tmp, progress=False, on_step=on_step).run()
        except _ProbeDone:
            pass
        except FptError as exc:
            return Speed(None, f"unknown: probe failed ({exc})")
        except Exception as exc:  # noqa: BLE001 - e.g. weights not downloadable here: the estimate says so
            return Speed(None, f"unknown: probe failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})")
    if len(stamps) < 2:
        return Speed(None, "unknown: probe too short")
    return Speed((len(stamps) - 1) / (stamps[-1] - stamps[0]), f"probe ({len(stamps) - 1} steps)")


def job_steps_left(job: Job, results: Path) -> int:
    """Steps a job still has to train: its budget, less what its checkpoint already holds."""
    from .executors.job import _checkpoint_step
    from .results import checkpoint_path

    return max(0, job.config.budget.steps - _checkpoint_step(checkpoint_path(results, job.run_id)))


def format_seconds(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return "?"
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
