"""Profiles: budgets only (steps, batch size, eval cadence, learning rate), never task definitions.

A profile is recorded with every result. Rules refine the base budget for a task and/or model
(``"*"`` matches anything); later rules win. A profile may also carry a *suite*: the grid that
``fptbench sweep`` (and ``make reproduce``) runs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from .errors import FptError
from .registry import Registry


PRECISIONS = ("auto", "fp32", "bf16", "fp16")
INT_FIELDS = ("steps", "batch_size", "eval_every", "eval_batch_size", "checkpoint_every")
BOOL_FIELDS = ("eval_at_start", "compile")
BOOL_WORDS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


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
        """Every field typed and in range, one line each: a bad budget must fail before any compute
        (``lr=nan`` or ``grad_clip=-1`` would otherwise train, and be recorded, as a normal run)."""
        for name in INT_FIELDS:
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise FptError(f"budget '{name}' must be a positive integer, got {v!r}")
        for name in ("lr", "grad_clip"):
            v = getattr(self, name)
            if not _is_number(v) or not math.isfinite(v) or v <= 0:
                raise FptError(f"budget '{name}' must be a finite number > 0, got {v!r}")
        for name in BOOL_FIELDS:
            if not isinstance(getattr(self, name), bool):
                raise FptError(f"budget '{name}' must be true or false, got {getattr(self, name)!r}")
        if not _is_number(self.train_fraction) or not 0.0 < self.train_fraction <= 1.0:
            raise FptError(f"budget 'train_fraction' must be a number in (0, 1], got {self.train_fraction!r}")
        if not isinstance(self.precision, str) or self.precision not in PRECISIONS:
            raise FptError(f"budget 'precision' must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def parse_field(cls, key: str, text: str) -> Any:
        """One ``KEY=VALUE`` from the command line, typed by the field (the dataclass then checks the range).

        ``true``/``false`` for flags, integers for counts (``steps=2.5`` is refused, not truncated),
        decimal numbers for rates; unknown keys name the known ones."""
        kinds = {f.name: f.type for f in fields(cls)}
        if key not in kinds:
            raise FptError(f"--budget '{key}' is not a budget field; choose from {', '.join(kinds)}")
        kind = kinds[key] if isinstance(kinds[key], str) else kinds[key].__name__
        value = text.strip()
        if kind == "bool":
            if value.lower() not in BOOL_WORDS:
                raise FptError(f"--budget {key}={text!r} is not true or false")
            return BOOL_WORDS[value.lower()]
        if kind == "int":
            try:
                return int(value)
            except ValueError:
                raise FptError(f"--budget {key}={text!r} is not an integer") from None
        if kind == "float":
            try:
                return float(value)
            except ValueError:
                raise FptError(f"--budget {key}={text!r} is not a number") from None
        return value


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


# Built-in profiles are found, not listed: every core module named ``profile_*.py`` registers its own
# (docs/adding-a-profile.md); other packages use the ``fptbench.profiles`` entry-point group.
PROFILES: Registry[Profile] = Registry("profile", "fptbench.profiles", scan=("benchmark", "profile_"), of=Profile)


def register_profile(profile: Profile) -> Profile:
    PROFILES.add(profile.name, profile)
    return profile


get_profile = PROFILES.get  # typed: the registry checked every entry is a Profile


def expected_budget(profile: str, task: str, model: str, adapter: Any = None) -> Budget:
    """The budget ``fptbench run`` gives (task, model) under ``profile`` with no override: the profile's
    base, the adapter's own ``default_lr``, then the profile's rules.

    The one derivation of a run's expected budget: the runner builds new runs with it (``runner.plan``)
    and every reader of old runs compares a stored budget against it (``benchmark.runview``), so
    "modified budget" and "the profile's own learning rate" mean the same thing everywhere.
    ``adapter`` (an adapter instance or class) is the one whose ``default_lr`` applies when the caller
    already has it: the runner does, and a model given by path need not be registered here. Without
    it, the registered class of ``model`` is looked up; raises FptError naming the profile or model when
    either is not registered here (a submitter's own cannot be checked).
    """
    if adapter is None:
        from .model import MODELS  # lazy: model.py imports torch; reading profiles must not

        adapter = MODELS.get(model)
    return get_profile(profile).budget(task, model, getattr(adapter, "default_lr", None))
