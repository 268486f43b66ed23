"""Shared fixtures: isolated caches and a helper to run tiny configurations through the real harness."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tiny models gain nothing from intra-op threads, and two spinning OpenMP pools per core thrash when
# tests run beside other work; subprocesses started by tests inherit this too.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    return tmp_path / "results"


@pytest.fixture
def tiny_run(results_dir: Path):
    """Run a tiny configuration through the real harness and return (cfg, status, results_dir)."""
    from benchmark.runner import make_config, run

    def _run(task: str = "bit-xor", model: str = "full", backbone: str | None = "tiny-gpt2", steps: int = 20,
             seed: int = 0, out: Path | None = None, **kwargs):
        budget = {"eval_every": 10, "checkpoint_every": 10, "eval_batch_size": 256, **kwargs.pop("budget", {})}
        cfg = make_config(task, model, backbone=backbone, seed=seed, profile="ci", max_steps=steps,
                          budget_overrides=budget, **kwargs)
        status = run(cfg, out or results_dir, progress=False)
        return cfg, status, out or results_dir

    return _run
