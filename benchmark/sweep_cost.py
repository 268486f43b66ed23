"""What a sweep will cost, from measured training speed: existing results first, a short probe else.

A run's speed depends on its task, model, backbone, options, batch size and device, never on its
learning rate or seed, so one measurement covers every lr and seed of a configuration. Speeds come
from ``steps_per_s`` of finished runs already in the results directories (the median), or, where
there is none, from a timed probe of a few training steps through the real Trainer (the first step,
which pays for lazy initialisation, is not timed). Both count training steps only: evaluations add
to the wall time, so the estimate says it is a lower bound. A record counts only where it was computed
the way the configuration would compute here (``computed_here``: the same device type and precision):
the LSTM's bf16 records from an AMD EPYC with AVX512-BF16 priced its runs at 1.19 steps/s on an AVX2-only
EPYC whose fp32 (bf16 emulated, no bf16 LSTM kernel) trained it below 0.38 steps/s. The dry run, the live
view and ``--deadline`` all price through this one rule. The live view replaces these numbers by
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
from typing import Any, Callable, Iterable

from .errors import FptError
from .grid import Job

SpeedKey = tuple[str, str, str, str, int, str]


@dataclass(frozen=True)
class Speed:
    steps_per_s: float | None
    source: str  # "results (n runs)" | "probe (k steps)" | "unknown: why"


def speed_key(cfg) -> SpeedKey:
    return (cfg.task, cfg.model, cfg.backbone, json.dumps(cfg.model_options, sort_keys=True), cfg.budget.batch_size,
            cfg.device)


def config_speed_key(config_json: str) -> SpeedKey:
    """``speed_key`` of a finished run, read from the config JSON its runs table records."""
    from .profiles import Budget

    c = json.loads(config_json)
    return (c["task"], c["model"], c["backbone"], json.dumps(c.get("model_options", {}), sort_keys=True),
            int(c.get("budget", {}).get("batch_size", Budget().batch_size)), c.get("device", "auto"))


def computed_here(run: Any, precision_of: Callable[[str, str, str], str] | None = None) -> bool:
    """Whether a recorded run computed the way its configuration would on this machine (the same device
    type and precision), so that its speed can price a run here. ``precision_of(model, requested, device)``
    gives that precision (default: what the trainer would decide, ``benchmark.precision.decide`` with the
    model's workload); a configuration this machine cannot run (a CUDA device here) is never computed here."""
    c = json.loads(run.config)
    requested, device = str(c.get("budget", {}).get("precision", "auto")), str(c.get("device", "auto"))
    try:
        here = (precision_of or _precision_here)(c["model"], requested, device)
        if str(getattr(run, "device", "") or "cpu").split(":")[0] != _device_type_here(device):
            return False
    except (FptError, RuntimeError):  # e.g. device 'cuda' on a CPU machine, bf16 refused here: it prices nothing
        return False
    return str(getattr(run, "precision", "") or "").split("+")[0] == here


_HERE: dict[tuple[str, str, str], str] = {}


def _device_type_here(device: str) -> str:
    from .provenance import pick_device

    return pick_device(device).type


def _precision_here(model: str, requested: str, device: str) -> str:
    if (model, requested, device) not in _HERE:
        from .model import MODELS
        from .precision import decide
        from .provenance import pick_device

        workload = MODELS.get(model).precision_workload if model in MODELS else None
        _HERE[model, requested, device] = decide(requested, pick_device(device), workload).precision
    return _HERE[model, requested, device]


def per_configuration(dirs: Iterable[Path | str], value: Callable[[Any], float | None],
                      keep: Callable[[Any], bool] | None = computed_here) -> dict[SpeedKey, list[float]]:
    """``value(run)`` of every finished run in ``dirs`` (one row per run) that ``keep(run)`` accepts (by
    default: computed here), grouped by ``speed_key``; runs for which it is None, not finite or not
    positive are left out."""
    from .results import read_table

    runs = read_table([d for d in dirs if Path(d).is_dir()], "runs")
    if runs.empty:
        return {}
    runs = runs[(runs.status == "finished")].drop_duplicates("run_id")
    found: dict[SpeedKey, list[float]] = {}
    for r in runs.itertuples():
        if keep is not None and not keep(r):
            continue
        v = value(r)
        if isinstance(v, float) and math.isfinite(v) and v > 0:
            found.setdefault(config_speed_key(r.config), []).append(v)
    return found


def speeds_from_results(dirs: Iterable[Path | str]) -> dict[SpeedKey, Speed]:
    """Median measured steps/s per configuration over the finished runs in ``dirs``."""
    found = per_configuration(dirs, lambda r: r.steps_per_s)
    return {k: Speed(statistics.median(v), f"results ({len(v)} runs)") for k, v in found.items()}


def committed_results_dirs() -> list[Path]:
    """The repository's committed results directories (``results/*`` with runs, never ``results/local``)."""
    from .paths import REPO_ROOT

    root = REPO_ROOT / "results"
    return [d for d in (sorted(root.iterdir()) if root.is_dir() else [])
            if d.name != "local" and (d / "runs").is_dir()]


def recorded_speeds() -> dict[SpeedKey, Speed]:
    """Speeds recorded in the committed results (``results/*`` of the repository): what ``--dry-run``
    estimates from before anything ran here. Measured on the machine that made them, said as such."""
    out: dict[SpeedKey, Speed] = {}
    for d in committed_results_dirs():
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


# -- GPU-hours before compute ------------------------------------------------------------------------
# An evaluated example costs about a third of a trained one (a forward pass against forward + backward):
# a stated rule of thumb, used only to price the full-split evaluations beside the training steps.
EVAL_COST = 1 / 3


@dataclass(frozen=True)
class Planned:
    """One run as the estimate sees it: enough to price it, with or without its data prepared."""

    task: str
    model: str
    backbone: str
    steps_left: int
    budget: object  # benchmark.profiles.Budget
    num_gpus: float
    device: str
    val_size: int
    test_size: int
    key: SpeedKey | None = None  # the measured-speed key, where the run could be configured here


def evaluated_examples(budget, steps_left: int, val_size: int, test_size: int) -> int:
    """Examples evaluated by the rest of a run: a full validation split per evaluation, the test split once."""
    evals = steps_left // budget.eval_every + (1 if budget.eval_at_start and steps_left == budget.steps else 0)
    return evals * val_size + test_size


def eval_examples(p: Planned) -> int:
    return evaluated_examples(p.budget, p.steps_left, p.val_size, p.test_size)


def eval_seconds(examples: int, batch_size: int, steps_per_s: float) -> float:
    """Evaluation time priced at ``EVAL_COST`` of a trained example per evaluated example."""
    return examples * EVAL_COST / batch_size / steps_per_s


def plan_profile(profile: str, device: str, num_gpus: float, jobs: list[Job], results: Path) -> list[Planned]:
    """Every run of a profile's suite, priced from its budget; runs already configured here (their data is
    prepared) count only the steps their checkpoint has not done, finished ones nothing."""
    from .model import get_adapter
    from .profiles import expected_budget, get_profile
    from .task import get_task

    by_run = {(j.config.task, j.config.model, j.config.backbone, j.config.seed): j for j in jobs}
    prof = get_profile(profile)
    out: list[Planned] = []
    for entry in prof.suite:
        adapter = get_adapter(entry.model, entry.backbone)
        backbone = adapter.backbone or "none"
        spec = get_task(entry.task).spec
        for seed in entry.seeds:
            job = by_run.get((entry.task, entry.model, backbone, seed))
            budget = job.config.budget if job else expected_budget(profile, entry.task, entry.model, adapter)
            left = budget.steps if job is None else job_left(job, results)
            out.append(Planned(entry.task, entry.model, backbone, left, budget, num_gpus, device,
                               spec.splits["val"].size, spec.splits["test"].size, speed_key(job.config) if job else None))
    return out


def plan_jobs(jobs: list[Job], results: Path) -> list[Planned]:
    from .task import get_task

    out = []
    for j in jobs:
        c = j.config
        spec = get_task(c.task).spec
        out.append(Planned(c.task, c.model, c.backbone, job_left(j, results), c.budget, j.resources.num_gpus,
                           c.device, spec.splits["val"].size, spec.splits["test"].size, speed_key(c)))
    return out


def job_left(job: Job, results: Path) -> int:
    """Steps left, 0 for a finished run."""
    from .record import finished_run_exists

    return 0 if finished_run_exists(results, job.config) else job_steps_left(job, results)


def gpu_hours(planned: list[Planned], profile: str, measured: dict[SpeedKey, Speed]) -> list[str]:
    """Lines: GPU-hours per task (training, evaluation) and in total, with where each speed came from.

    Speed: the median measured in the results for the same configuration, else the profile's stated
    speed for the backbone and device (``Profile.speeds``: its source is printed), else unknown.
    """
    from .profiles import get_profile

    prof = get_profile(profile)
    device_type = lambda d: "cuda" if d.startswith("cuda") or d == "auto" else d  # noqa: E731
    per_task: dict[str, list[float]] = {}
    sources: dict[str, str] = {}
    unknown: list[str] = []
    for p in planned:
        speed = measured.get(p.key) if p.key else None
        if speed is not None and speed.steps_per_s:
            rate, src = speed.steps_per_s, f"measured: {speed.source}"
        else:
            stated = prof.stated_speed(p.backbone, device_type(p.device))
            if stated is None:
                unknown.append(f"{p.task}/{p.model}/{p.backbone}")
                continue
            rate, src = stated.steps_per_s, f"{stated.source}"
        who = p.backbone if p.backbone != "none" else "backbone-free models"
        sources.setdefault(f"{who} on {device_type(p.device)}: {rate:g} steps/s", src)
        gpus = p.num_gpus or 1.0
        train_h = p.steps_left / rate / 3600 * gpus
        eval_h = eval_seconds(eval_examples(p), p.budget.batch_size, rate) / 3600 * gpus
        row = per_task.setdefault(p.task, [0, 0, 0.0, 0.0])
        row[0] += 1
        row[1] += p.steps_left
        row[2] += train_h
        row[3] += eval_h
    lines = [f"GPU-hours of the runs left (profile {profile}; evaluation priced at {EVAL_COST:.2g} of a training "
             "example per evaluated example):",
             f"  {'task':<18} {'runs':>5} {'steps':>10} {'train h':>9} {'eval h':>8} {'GPU-h':>8}"]
    tot = [0, 0, 0.0, 0.0]
    for task, row in per_task.items():
        lines.append(f"  {task:<18} {row[0]:>5} {row[1]:>10,} {row[2]:>9.1f} {row[3]:>8.1f} {row[2] + row[3]:>8.1f}")
        tot = [a + b for a, b in zip(tot, row)]
    lines.append(f"  {'total':<18} {tot[0]:>5} {tot[1]:>10,} {tot[2]:>9.1f} {tot[3]:>8.1f} {tot[2] + tot[3]:>8.1f}"
                 f"  (~{(tot[2] + tot[3]) / 24:.1f} GPU-days)")
    for what, src in sources.items():
        lines.append(f"  speed {what} ({src})")
    if unknown:
        lines.append(f"  not priced ({len(unknown)} runs, no measured or stated speed): "
                     + ", ".join(sorted(set(unknown))[:6]))
    return lines
