"""Resolve names into a RunConfig and run it: the one path the CLI, sweeps, probes and tests share.

Why one path: a run's task and adapter are resolved here once (the task instance, with its
fingerprint, and the adapter, with typed options and the run's profile) and handed to the
``Trainer``; callers that build a Trainer themselves skipped ``run_profile`` and resolved the task
a second time. Everything that can be refused is refused here, before any compute: the budget,
the device, the options, the data, and the results directory the run will write into.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Callable

from .config import RunConfig, check_device
from .errors import FptError
from .model import ModelAdapter, get_adapter
from .profiles import Budget, expected_budget
from .task import Task, get_task


def backbone_arg(recorded: str | None) -> str | None:
    """The one place the recorded backbone ``"none"`` (an adapter without one) turns back into None."""
    return None if recorded in (None, "none") else recorded


@dataclass
class Planned:
    """A run resolved once: its config, task instance and adapter, ready for ``run``."""

    config: RunConfig
    task: Task
    adapter: ModelAdapter


def plan(task: str, model: str, *, backbone: str | None = None, seed: int = 0, profile: str = "cpu",
         max_steps: int | None = None, device: str = "auto", options: dict[str, Any] | None = None,
         budget_overrides: dict[str, Any] | None = None) -> Planned:
    """Resolve (task, model, backbone, options, profile, budget changes) into a run, refusing bad input."""
    check_device(device)
    t = get_task(task)
    t.require_data()
    adapter = get_adapter(model, backbone, **(options or {}))
    backbone_id = adapter.resolve_backbone()  # a folder / hub backbone: its hash names the run too
    budget = expected_budget(profile, task, model, adapter)  # the one derivation, with this adapter's lr
    if budget_overrides:
        known = {f.name for f in fields(Budget)}
        unknown = sorted(set(budget_overrides) - known)
        if unknown:
            raise FptError(f"budget field {unknown[0]!r} does not exist; choose from {', '.join(sorted(known))}")
        budget = replace(budget, **budget_overrides)
    if max_steps is not None:
        if not isinstance(max_steps, int) or isinstance(max_steps, bool) or max_steps <= 0:
            raise FptError(f"--max-steps must be a positive integer, got {max_steps!r}")
        budget = replace(budget, steps=max_steps, eval_every=min(budget.eval_every, max_steps))
    cfg = RunConfig(
        task=task, task_version=t.spec.version, task_fingerprint=t.fingerprint, model=model,
        backbone=adapter.backbone or "none", seed=seed, profile=profile, budget=budget,
        model_options=dict(adapter.options), device=device, backbone_id=backbone_id,
    )
    return Planned(cfg, t, adapter_for(cfg, adapter))


def make_config(task: str, model: str, **kwargs: Any) -> RunConfig:
    """The RunConfig of a (task, model, ...) as ``plan`` resolves it."""
    return plan(task, model, **kwargs).config


def adapter_for(cfg: RunConfig, adapter: ModelAdapter | None = None) -> ModelAdapter:
    """The run's adapter, told the run's profile as ``adapter.run_profile``.

    Budgets are the trainer's business, but an adapter may have a profile-dependent default of its own
    (bit-memory-pretrained pretrains under the run's profile unless told otherwise). The profile is
    already in the config hash, so following it needs no extra recorded option. A caller-supplied
    adapter keeps a profile it was given explicitly.
    """
    if adapter is None:
        adapter = get_adapter(cfg.model, backbone_arg(cfg.backbone), **cfg.model_options)
    if getattr(adapter, "run_profile", None) is None:
        adapter.run_profile = cfg.profile  # type: ignore[attr-defined]
    adapter.expected_backbone_id = cfg.backbone_id  # type: ignore[attr-defined]  # the weights the run id names
    return adapter


def check_results_dir(results_dir: Path | str, run_id: str) -> None:
    """Refuse, before training, a results directory the run could not write its result into.

    Why: the result is written at the end; a file, read-only or immutable directory used to cost the
    whole budget and then a traceback. A corrupt runs file for this very run would be read by the
    "already finished?" check: it is refused here with the file to delete.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .results import run_path

    root = Path(results_dir)
    if root.exists() and not root.is_dir():
        raise FptError(f"--results {root} is a file, not a directory; pass a directory")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FptError(f"cannot create results directory {root} ({exc.strerror or exc}); pass another --results") from exc
    for folder in [root] + [root / sub for sub in ("runs", "curves", "predictions", "checkpoints")]:
        if not folder.exists():
            continue  # made when written, inside a root just shown writable
        if not folder.is_dir():
            raise FptError(f"{folder} is a file, not a directory; move it away or pass another --results")
        try:
            fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-probe-")
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise FptError(f"results directory {folder} is not writable ({exc.strerror or exc}); fix its "
                           "permissions or pass another --results") from exc
    own = run_path(root, run_id)
    if own.exists():
        try:
            pq.read_table(own, columns=["config_hash"])
        except (pa.ArrowException, OSError) as exc:
            raise FptError(f"results file {own} is corrupt ({str(exc)[:80]}); delete it and rerun") from exc


def trainer_for(cfg: RunConfig, results_dir: Path | str, *, task: Task | None = None,
                adapter: ModelAdapter | None = None, progress: bool = True,
                on_step: Callable[[int], None] | None = None) -> Any:
    """The one way to a ``Trainer``: the task and adapter resolved once (or as given) and handed over."""
    from .trainer import Trainer

    return Trainer(cfg, results_dir, progress=progress, on_step=on_step, task=task or get_task(cfg.task),
                   adapter=adapter_for(cfg, adapter))


def run(cfg: RunConfig | Planned, results_dir: Path | str, progress: bool = True, **kwargs: Any) -> str:
    """Run a config (or a ``Planned`` run) into ``results_dir``: finished, diverged or skipped."""
    if isinstance(cfg, Planned):
        kwargs.setdefault("task", cfg.task)
        kwargs.setdefault("adapter", cfg.adapter)
        cfg = cfg.config
    check_results_dir(results_dir, cfg.run_id)
    return trainer_for(cfg, results_dir, progress=progress, **kwargs).run()
