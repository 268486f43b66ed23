"""Profiles: budgets only (steps, batch size, eval cadence, learning rate), never task definitions.

A profile is recorded with every result. Rules refine the base budget for a task and/or model
(``"*"`` matches anything); later rules win. A profile may also carry a *suite*: the grid that
``fptbench sweep`` (and ``make reproduce``) runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .errors import FptError
from .registry import Registry


@dataclass(frozen=True)
class Budget:
    steps: int = 1000
    batch_size: int = 16
    lr: float = 1e-3
    eval_every: int = 100
    eval_batch_size: int = 64
    checkpoint_every: int = 200
    grad_clip: float = 1.0
    precision: str = "fp32"  # fp32 | bf16 | fp16 (autocast on GPU)
    eval_at_start: bool = True  # evaluate the untrained model at step 0 (costly for long sequences on CPU)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every", "eval_batch_size", "checkpoint_every"):
            if getattr(self, name) <= 0:
                raise FptError(f"budget '{name}' must be positive, got {getattr(self, name)}")
        if self.precision not in ("fp32", "bf16", "fp16"):
            raise FptError(f"precision must be fp32, bf16 or fp16, got {self.precision!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SuiteEntry:
    task: str
    model: str
    backbone: str | None = None
    seeds: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    base: Budget
    rules: tuple[tuple[str, str, dict[str, Any]], ...] = ()
    suite: tuple[SuiteEntry, ...] = field(default_factory=tuple)

    def budget(self, task: str, model: str, adapter_lr: float | None = None) -> Budget:
        """Resolve the budget of one (task, model): base, then the adapter's lr, then matching rules."""
        budget = self.base if adapter_lr is None else replace(self.base, lr=adapter_lr)
        for task_pat, model_pat, changes in self.rules:
            if task_pat in ("*", task) and model_pat in ("*", model):
                budget = replace(budget, **changes)
        return budget


PROFILES: Registry[Profile] = Registry("profile", "fptbench.profiles", builtins=("benchmark.profile_defs",))


def register_profile(profile: Profile) -> Profile:
    PROFILES.add(profile.name, profile)
    return profile


def get_profile(name: str) -> Profile:
    profile = PROFILES.get(name)
    if not isinstance(profile, Profile):
        raise FptError(f"'{name}' is not a fptbench Profile")
    return profile
