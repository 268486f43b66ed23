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


PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass(frozen=True)
class Budget:
    steps: int = 1000
    batch_size: int = 16
    lr: float = 1e-3
    eval_every: int = 100
    eval_batch_size: int = 64
    checkpoint_every: int = 200
    grad_clip: float = 1.0
    # auto: bf16 autocast where the hardware computes bf16 natively (CPU with AVX512-BF16 or AMX, CUDA
    # with bf16), fp32 elsewhere; the precision actually used is recorded with every run. fp32 | bf16 |
    # fp16 force one (fp16 only on CUDA).
    precision: str = "auto"
    eval_at_start: bool = True  # evaluate the untrained model at step 0 (costly for long sequences on CPU)
    compile: bool = False  # opt-in torch.compile of the model's forward (first steps pay the compile time)
    # Data efficiency: train on a fixed, seeded, nested subset of this fraction of a dataset task's
    # training split (benchmark/array_task.py); the task's fingerprint is unchanged, the run's config is not.
    train_fraction: float = 1.0

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every", "eval_batch_size", "checkpoint_every"):
            if getattr(self, name) <= 0:
                raise FptError(f"budget '{name}' must be positive, got {getattr(self, name)}")
        if not 0.0 < self.train_fraction <= 1.0:
            raise FptError(f"budget 'train_fraction' must be in (0, 1], got {self.train_fraction}")
        if self.precision not in PRECISIONS:
            raise FptError(f"budget 'precision' must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SuiteEntry:
    task: str
    model: str
    backbone: str | None = None
    seeds: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class StatedSpeed:
    """A training speed a profile states for cost estimates where nothing was measured (``sweep --dry-run``).

    ``backbone`` is a backbone name, or ``"none"`` for backbone-free models (the LSTM); ``device`` a device
    type (``cuda``, ``cpu``). ``source`` says where the number comes from, and is printed beside it.
    """

    backbone: str
    device: str
    steps_per_s: float
    source: str

    def __post_init__(self) -> None:
        if self.steps_per_s <= 0:
            raise FptError(f"stated speed for {self.backbone}/{self.device} must be positive, got {self.steps_per_s}")


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    base: Budget
    rules: tuple[tuple[str, str, dict[str, Any]], ...] = ()
    suite: tuple[SuiteEntry, ...] = field(default_factory=tuple)
    # Where the suite is meant to run: ``device`` is the sweep's default (``cuda``: refuse to fall back to a
    # CPU unless --device cpu is given) and ``gpus_per_run`` what each run asks a Ray cluster for on CUDA.
    device: str = "auto"
    gpus_per_run: float = 0.0
    speeds: tuple[StatedSpeed, ...] = ()

    def stated_speed(self, backbone: str, device: str) -> StatedSpeed | None:
        return next((s for s in self.speeds if s.backbone == backbone and s.device == device), None)

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
