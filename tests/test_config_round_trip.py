"""One config round trip: ``RunConfig.to_json`` and ``RunConfig.from_json``, and no private copies (issue 22)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from benchmark.config import RunConfig
from benchmark.errors import FptError
from benchmark.profiles import Budget

ROOT = Path(__file__).resolve().parent.parent


def _cfg(**kw) -> RunConfig:
    base = dict(task="bit-xor", task_version="1", task_fingerprint="f" * 16, model="fpt", backbone="tiny-gpt2", seed=3,
                profile="ci", budget=Budget(steps=40, lr=3e-4), model_options={"train_norm": False}, device="cpu")
    return RunConfig(**{**base, **kw})


def test_to_json_and_from_json_are_inverse() -> None:
    cfg = _cfg()
    back = RunConfig.from_json(cfg.to_json())
    assert back == cfg and back.config_hash == cfg.config_hash and back.run_id == cfg.run_id
    assert RunConfig.from_json(cfg.to_json(), device="cuda").config_hash == cfg.config_hash  # device is not hashed


def test_budget_fields_added_since_keep_their_defaults() -> None:
    raw = json.loads(_cfg().to_json())
    raw["budget"].pop("train_fraction")
    assert RunConfig.from_json(json.dumps(raw)).budget.train_fraction == 1.0


@pytest.mark.parametrize("edit, words", [
    (lambda r: r["budget"].update(lr="fast"), "lr"),
    (lambda r: r["budget"].update(turbo=True), "turbo"),
    (lambda r: r.update(colour="red"), "colour"),
    (lambda r: r.pop("budget"), "budget"),
    (lambda r: r.pop("task"), "task"),
    (lambda r: r.update(seed="0"), "seed"),
    (lambda r: r.update(device="tpu"), "tpu"),
])
def test_malformed_stored_configs_are_refused_in_one_line(edit, words: str) -> None:
    raw = json.loads(_cfg().to_json())
    edit(raw)
    with pytest.raises(FptError, match=words):
        RunConfig.from_json(json.dumps(raw))


def test_no_module_rebuilds_a_config_from_json_by_hand() -> None:
    """The harness and the adapters rebuild configs only through ``RunConfig.from_json``."""
    pattern = re.compile(r"\b(RunConfig|Budget)\(\*\*")
    offenders = [str(p.relative_to(ROOT)) for d in ("benchmark", "baselines", "tasks") for p in (ROOT / d).rglob("*.py")
                 if p.name != "config.py" and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_replace_keeps_validation() -> None:
    with pytest.raises(FptError, match="grad_clip"):
        replace(Budget(), grad_clip=-1.0)


def test_the_runner_is_the_one_way_into_the_trainer() -> None:
    """Only ``benchmark.runner`` builds a ``Trainer`` (so every run gets its task and adapter resolved
    once, and ``run_profile`` set)."""
    pattern = re.compile(r"\bTrainer\(")
    allowed = {"benchmark/runner.py", "benchmark/trainer.py"}
    offenders = [str(p.relative_to(ROOT)) for d in ("benchmark", "baselines", "tasks", "report") for p in (ROOT / d).rglob("*.py")
                 if str(p.relative_to(ROOT)) not in allowed and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_none_backbone_turns_into_none_in_one_place() -> None:
    pattern = re.compile(r"""== ["']none["'] else""")
    offenders = [str(p.relative_to(ROOT)) for d in ("benchmark", "baselines") for p in (ROOT / d).rglob("*.py")
                 if p.name not in ("speed.py",) and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == ["benchmark/trainer.py"] or offenders == []  # trainer.py: its own fallback (GPU helper's file)


def test_configs_stored_before_backbone_ids_still_load() -> None:
    """Rows written before RunConfig.backbone_id existed (every committed result) rebuild to the same run."""
    cfg = _cfg()
    raw = json.loads(cfg.to_json())
    del raw["backbone_id"]
    back = RunConfig.from_json(raw)
    assert back == cfg and back.run_id == cfg.run_id
