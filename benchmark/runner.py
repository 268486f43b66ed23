"""Resolve names into a RunConfig and run it: the one path the CLI, sweeps and tests share."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from .config import RunConfig
from .model import ModelAdapter, get_adapter
from .profiles import get_profile
from .task import get_task
from .trainer import Trainer


def make_config(task: str, model: str, *, backbone: str | None = None, seed: int = 0, profile: str = "cpu",
                max_steps: int | None = None, device: str = "auto", options: dict[str, Any] | None = None,
                budget_overrides: dict[str, Any] | None = None) -> RunConfig:
    t = get_task(task)
    t.require_data()
    adapter = get_adapter(model, backbone, **(options or {}))
    backbone_id = adapter.resolve_backbone()  # a folder / hub backbone: its hash names the run too
    budget = get_profile(profile).budget(task, model, adapter.default_lr)
    if budget_overrides:
        budget = replace(budget, **budget_overrides)
    if max_steps is not None:
        budget = replace(budget, steps=max_steps, eval_every=min(budget.eval_every, max_steps))
    return RunConfig(
        task=task, task_version=t.spec.version, task_fingerprint=t.fingerprint, model=model,
        backbone=adapter.backbone or "none", seed=seed, profile=profile, budget=budget,
        model_options=dict(options or {}), device=device, backbone_id=backbone_id,
    )


def adapter_for(cfg: RunConfig, adapter: ModelAdapter | None = None) -> ModelAdapter:
    """The run's adapter, told the run's profile as ``adapter.run_profile``.

    Budgets are the trainer's business, but an adapter may have a profile-dependent default of its own
    (bit-memory-pretrained pretrains under the run's profile unless told otherwise). The profile is
    already in the config hash, so following it needs no extra recorded option. A caller-supplied
    adapter keeps a profile it was given explicitly.
    """
    if adapter is None:
        adapter = get_adapter(cfg.model, None if cfg.backbone == "none" else cfg.backbone, **cfg.model_options)
    if getattr(adapter, "run_profile", None) is None:
        adapter.run_profile = cfg.profile  # type: ignore[attr-defined]
    adapter.expected_backbone_id = cfg.backbone_id  # type: ignore[attr-defined]  # the weights the run id names
    return adapter


def run(cfg: RunConfig, results_dir: Path | str, progress: bool = True, **kwargs: Any) -> str:
    kwargs["adapter"] = adapter_for(cfg, kwargs.get("adapter"))
    return Trainer(cfg, results_dir, progress=progress, **kwargs).run()
