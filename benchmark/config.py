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

    def hashed_part(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("device")
        return d

    @property
    def config_hash(self) -> str:
        return sha256_json(self.hashed_part())

    @property
    def run_id(self) -> str:
        model = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.model)
        return f"{self.task}__{model}__{self.backbone}__s{self.seed}__{self.profile}__{self.config_hash[:10]}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=str)
