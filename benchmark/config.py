"""RunConfig: one frozen, serializable description of a run; its hash names the run.

What changes numbers goes into the hash (task fingerprint, model, backbone, options, seed,
profile, resolved budget); the device is recorded beside it but not hashed, so the same command
finds its finished or half-done run again on the same machine.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .errors import FptError
from .hashing import sha256_json
from .profiles import Budget

# What `--device` may name: torch device strings the harness can run on (provenance.pick_device
# then checks the hardware is there). Anything else is refused before the run is built.
DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:[0-9]{1,2})?)$")


def check_device(device: Any) -> str:
    if not isinstance(device, str) or not DEVICE_RE.match(device):
        raise FptError(f"device {device!r} is not one of auto, cpu, cuda, cuda:N, mps; fix --device")
    return device


def _slug(name: str) -> str:
    """A file-name-safe label (``pkg.mod:Obj`` -> ``pkg.mod_Obj``; a folder is named by its last part)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


@dataclass(frozen=True)
class RunConfig:
    task: str
    task_version: str
    task_fingerprint: str
    model: str
    backbone: str
    seed: int
    profile: str
    budget: Budget
    model_options: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"
    # sha256 of a folder / hub backbone's config and weights ("" when the backbone's name pins them):
    # two different models given by folder never share a run id. Left out of the hash when empty, so
    # the ids of runs on registered backbones are unchanged.
    backbone_id: str = ""

    def hashed_part(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("device")
        if not d["backbone_id"]:
            d.pop("backbone_id")
        return d

    @property
    def config_hash(self) -> str:
        return sha256_json(self.hashed_part())

    @property
    def run_id(self) -> str:
        model = _slug(self.model)
        backbone = _slug(self.backbone.rstrip("/").rsplit("/", 1)[-1] if self.backbone.startswith("/") else self.backbone)
        return f"{self.task}__{model}__{backbone}__s{self.seed}__{self.profile}__{self.config_hash[:10]}"

    def __post_init__(self) -> None:
        check_device(self.device)
        for name in ("task", "task_version", "task_fingerprint", "model", "backbone", "profile"):
            if not isinstance(getattr(self, name), str):
                raise FptError(f"run config field '{name}' must be text, got {getattr(self, name)!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise FptError(f"seed must be an integer, got {self.seed!r}")
        if not isinstance(self.model_options, dict):
            raise FptError(f"model options must be a mapping, got {type(self.model_options).__name__}")
        if not isinstance(self.budget, Budget):
            raise FptError(f"budget must be a Budget, got {type(self.budget).__name__}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str | dict[str, Any], *, device: str | None = None) -> "RunConfig":
        """The one way back from the JSON a results row stores (``to_json``) to a RunConfig.

        Why one home: results, the rerun check and submissions all rebuild configs; three private
        copies had drifted (one refused budget fields it did not know, one dropped them). Budget
        fields added since a row was written keep their defaults (the stored hash then differs and
        the caller says so); unknown fields, a missing budget or wrong types are refused as FptError.
        ``device`` replaces the recorded device (not hashed: a rerun chooses its own).
        """
        try:
            raw = json.loads(text) if isinstance(text, str) else dict(text)
        except ValueError as exc:
            raise FptError(f"stored run config is not JSON ({str(exc)[:80]})") from exc
        if not isinstance(raw, dict) or not isinstance(raw.get("budget"), dict):
            raise FptError("stored run config has no budget object")
        budget_fields = {f.name for f in fields(Budget)}
        extra = sorted(set(raw["budget"]) - budget_fields)
        names = {f.name for f in fields(cls)}
        extra += sorted(set(raw) - names)
        if extra:
            raise FptError(f"stored run config has fields this harness does not know: {extra[:5]}")
        missing = sorted(names - set(raw) - {"device", "model_options", "backbone_id"})  # to_json drops an empty backbone_id
        if missing:
            raise FptError(f"stored run config lacks {missing}")
        try:
            budget = Budget(**raw["budget"])
            kwargs = {k: v for k, v in raw.items() if k != "budget"}
            if device is not None:
                kwargs["device"] = device
            return cls(budget=budget, **kwargs)
        except TypeError as exc:
            raise FptError(f"stored run config is malformed ({str(exc)[:120]})") from exc
