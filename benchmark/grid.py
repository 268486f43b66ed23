"""Grid files: a TOML description of a sweep, expanded into the exact runs ``fptbench run`` makes.

Every expanded run goes through ``benchmark.runner.make_config`` with the same arguments the
``run`` command would pass (``--budget lr=X`` for a learning rate, ``--option preset=P`` for a
preset), so a grid run has the same config hash and run id as the equivalent ``fptbench run``: a
rerun skips finished runs, resumes checkpointed ones, and never clashes with runs made another way.
A learning rate equal to the profile's resolved one leaves the budget unchanged, so the fixed-lr
(paper) run of a profile is the same run whether a grid or ``fptbench sweep --profile`` made it.

Keys (unknown keys are refused)::

    name = "cpu-lr"                 # optional, shown in the live view (default: the file's stem)
    description = "..."             # optional
    profile = "ci"                  # required: the budget profile every run records
    tasks = ["bit-xor"]             # required
    models = ["fpt", "full"]        # required
    backbones = ["tiny-gpt2"]       # optional: default each model's own; ignored for backbone-free models
    seeds = [0, 1]                  # optional: default [0]
    lrs = [1e-3, 3e-3]              # optional: default the profile's lr (no override)
    presets = ["", "+ln"]           # optional: "" = no preset; else option preset=NAME
    options = {extend_positions = true}  # optional: model options of every run
    max_steps = 100                 # optional: as `fptbench run --max-steps`
    device = "auto"                 # optional: recorded, not hashed
    [budget]                        # optional: budget overrides of every run (as --budget KEY=VALUE)
    steps = 40
    [resources]                     # optional: what one run needs (Ray's task resources; threads per run)
    num_cpus = 1
    num_gpus = 0

The order of expansion is tasks, models, backbones, presets, lrs, seeds (seeds innermost), so the
first results of a long sweep already cover every learning rate of the first configuration.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import RunConfig
from .errors import FptError

KNOWN_KEYS = ("name", "description", "profile", "tasks", "models", "backbones", "seeds", "lrs", "presets",
              "options", "max_steps", "device", "budget", "resources")
RESOURCE_KEYS = ("num_cpus", "num_gpus")
BUILTIN_PACKAGE = "benchmark.grids"


@dataclass(frozen=True)
class Resources:
    """What one run asks of an executor. ``num_cpus`` is also the torch thread count of every run,
    whatever the executor, because CPU kernels may sum in a different order on a different number
    of threads: same grid, same threads, same numbers."""

    num_cpus: int = 1
    num_gpus: float = 0.0

    def __post_init__(self) -> None:
        if self.num_cpus < 1:
            raise FptError(f"grid [resources] num_cpus must be >= 1, got {self.num_cpus}")
        if self.num_gpus < 0:
            raise FptError(f"grid [resources] num_gpus must be >= 0, got {self.num_gpus}")


@dataclass(frozen=True)
class Grid:
    """A parsed, validated grid file (not yet expanded: expansion needs the registries)."""

    name: str
    profile: str
    tasks: tuple[str, ...]
    models: tuple[str, ...]
    backbones: tuple[str | None, ...] = (None,)
    seeds: tuple[int, ...] = (0,)
    lrs: tuple[float | None, ...] = (None,)
    presets: tuple[str | None, ...] = (None,)
    options: dict[str, Any] = field(default_factory=dict)
    budget: dict[str, Any] = field(default_factory=dict)
    max_steps: int | None = None
    device: str = "auto"
    resources: Resources = Resources()
    description: str = ""
    source: str = ""


@dataclass(frozen=True)
class Job:
    """One expanded run: its config plus what the grid says about it (for display and selection)."""

    config: RunConfig
    preset: str
    lr: float
    resources: Resources
    pin_threads: bool = True  # run with resources.num_cpus torch threads (False: the process's own setting)

    @property
    def run_id(self) -> str:
        return self.config.run_id


def _list(data: dict, key: str, kind: type | tuple[type, ...], where: str, default: tuple = ()) -> tuple:
    if key not in data:
        if default:
            return default
        raise FptError(f"grid {where} needs '{key}' (a non-empty list)")
    value = data[key]
    if not isinstance(value, list) or not value:
        raise FptError(f"grid {where}: '{key}' must be a non-empty list, got {value!r}")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, kind):
            raise FptError(f"grid {where}: '{key}' holds {item!r}; expected {getattr(kind, '__name__', kind)}")
    if len(set(value)) != len(value):
        raise FptError(f"grid {where}: '{key}' repeats a value: {value}")
    return tuple(value)


def parse_grid(data: dict[str, Any], source: str = "<grid>") -> Grid:
    """Validate a grid mapping (as read from TOML) into a ``Grid``; one-line errors name the key."""
    unknown = sorted(set(data) - set(KNOWN_KEYS))
    if unknown:
        raise FptError(f"grid {source}: unknown keys {unknown}; known keys: {', '.join(KNOWN_KEYS)}")
    profile = data.get("profile")
    if not isinstance(profile, str) or not profile:
        raise FptError(f"grid {source} needs 'profile' (e.g. profile = \"cpu\")")
    lrs = _list(data, "lrs", (int, float), source, default=(None,))
    if lrs != (None,) and any(lr <= 0 for lr in lrs):
        raise FptError(f"grid {source}: learning rates must be positive, got {list(lrs)}")
    presets = tuple(p or None for p in _list(data, "presets", str, source, default=(None,)))
    for key in ("options", "budget", "resources"):
        if not isinstance(data.get(key, {}), dict):
            raise FptError(f"grid {source}: '{key}' must be a table ([{key}] or {key} = {{...}})")
    if "preset" in data.get("options", {}):
        raise FptError(f"grid {source}: put presets in 'presets = [...]', not in options")
    if "lr" in data.get("budget", {}):
        raise FptError(f"grid {source}: put learning rates in 'lrs = [...]', not in [budget]")
    from dataclasses import fields

    from .profiles import Budget

    known_budget = [f.name for f in fields(Budget)]
    bad_budget = sorted(set(data.get("budget", {})) - set(known_budget))
    if bad_budget:
        raise FptError(f"grid {source}: unknown [budget] keys {bad_budget}; known: {', '.join(known_budget)}")
    res = data.get("resources", {})
    bad = sorted(set(res) - set(RESOURCE_KEYS))
    if bad:
        raise FptError(f"grid {source}: unknown [resources] keys {bad}; known: {', '.join(RESOURCE_KEYS)}")
    max_steps = data.get("max_steps")
    if max_steps is not None and (not isinstance(max_steps, int) or max_steps <= 0):
        raise FptError(f"grid {source}: max_steps must be a positive integer, got {max_steps!r}")
    return Grid(
        name=str(data.get("name") or Path(source).stem), profile=profile,
        tasks=_list(data, "tasks", str, source), models=_list(data, "models", str, source),
        backbones=_list(data, "backbones", str, source, default=(None,)),
        seeds=_list(data, "seeds", int, source, default=(0,)),
        lrs=tuple(None if lr is None else float(lr) for lr in lrs), presets=presets,
        options=dict(data.get("options", {})), budget=dict(data.get("budget", {})), max_steps=max_steps,
        device=str(data.get("device", "auto")),
        resources=Resources(int(res.get("num_cpus", 1)), float(res.get("num_gpus", 0))),
        description=str(data.get("description", "")), source=source,
    )


def builtin_grids() -> dict[str, str]:
    """Name -> TOML text of the grids shipped in ``benchmark/grids/`` (package data)."""
    from importlib import resources

    root = resources.files(BUILTIN_PACKAGE)
    return {p.name[: -len(".toml")]: p.read_text(encoding="utf-8") for p in root.iterdir() if p.name.endswith(".toml")}


def _toml_loads(text: str, source: str) -> dict[str, Any]:
    try:
        import tomllib  # Python 3.11+
    except ImportError:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError as exc:
            raise FptError("reading grid files on Python 3.10 needs tomli; `pip install tomli`") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FptError(f"grid {source} is not valid TOML ({exc})") from exc


def load_grid(spec: str | Path) -> Grid:
    """Read a grid from a TOML file, or a built-in grid by name (``cpu-lr``, ``paper-lr``)."""
    path = Path(spec)
    if path.is_file():
        return parse_grid(_toml_loads(path.read_text(encoding="utf-8"), str(path)), str(path))
    builtins = builtin_grids()
    if str(spec) in builtins:
        return parse_grid(_toml_loads(builtins[str(spec)], str(spec)), f"builtin:{spec}")
    raise FptError(f"grid '{spec}' is neither a file nor a built-in grid ({', '.join(sorted(builtins))})")


def _uses_backbone(model: str) -> bool:
    from .model import MODELS

    return bool(getattr(MODELS.get(model), "uses_backbone", True))


def expand(grid: Grid, skipped: list[str] | None = None) -> list[Job]:
    """Every run of the grid as ``fptbench run`` would make it, deduplicated by run id, in grid order.

    A model that takes no backbone (``lstm``) runs once however many backbones are listed. A task
    whose data is not prepared raises ``NeedsData`` (with the command that prepares it), or, when
    ``skipped`` is a list, is left out and its message appended there once.
    """
    from .errors import NeedsData
    from .runner import make_config

    jobs: dict[str, Job] = {}
    missing: set[str] = set()
    for task, model, backbone, preset, lr, seed in itertools.product(
            grid.tasks, grid.models, grid.backbones, grid.presets, grid.lrs, grid.seeds):
        if task in missing:
            continue
        bb = backbone if _uses_backbone(model) else None
        options = dict(grid.options)
        if preset is not None:
            options["preset"] = preset
        budget = dict(grid.budget)
        if lr is not None:
            budget["lr"] = lr
        try:
            cfg = make_config(task, model, backbone=bb, seed=seed, profile=grid.profile, max_steps=grid.max_steps,
                              device=grid.device, options=options, budget_overrides=budget)
        except NeedsData as exc:
            if skipped is None:
                raise
            missing.add(task)
            skipped.append(f"skip {task}: {exc}")
            continue
        except TypeError as exc:  # a [budget] value of the wrong kind
            raise FptError(f"grid {grid.source}: bad [budget] {json.dumps(grid.budget)} ({exc})") from exc
        jobs.setdefault(cfg.run_id, Job(cfg, preset or "", cfg.budget.lr, grid.resources))
    return list(jobs.values())
