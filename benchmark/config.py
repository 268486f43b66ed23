"""RunConfig: one frozen, serializable description of a run; its hash names the run.

What changes numbers goes into the hash (task fingerprint, model, backbone, options, seed,
profile, resolved budget); the device is recorded beside it but not hashed, so the same command
finds its finished or half-done run again on the same machine.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from .hashing import sha256_json
from .profiles import Budget


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

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=str)
