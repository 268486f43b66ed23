"""Resolve names into a RunConfig and run it: the one path the CLI, sweeps and tests share."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from .config import RunConfig
from .model import get_adapter
from .profiles import get_profile
from .task import get_task
from .trainer import Trainer


def make_config(task: str, model: str, *, backbone: str | None = None, seed: int = 0, profile: str = "cpu",
                max_steps: int | None = None, device: str = "auto", options: dict[str, Any] | None = None,
                budget_overrides: dict[str, Any] | None = None) -> RunConfig:
    t = get_task(task)
    t.require_data()
    adapter = get_adapter(model, backbone, **(options or {}))
    budget = get_profile(profile).budget(task, model, adapter.default_lr)
    if budget_overrides:
        budget = replace(budget, **budget_overrides)
    if max_steps is not None:
        budget = replace(budget, steps=max_steps, eval_every=min(budget.eval_every, max_steps))
    return RunConfig(
        task=task, task_version=t.spec.version, task_fingerprint=t.fingerprint, model=model,
        backbone=adapter.backbone or "none", seed=seed, profile=profile, budget=budget,
        model_options=dict(options or {}), device=device,
    )


def run(cfg: RunConfig, results_dir: Path | str, progress: bool = True, **kwargs: Any) -> str:
    return Trainer(cfg, results_dir, progress=progress, **kwargs).run()
