"""The ``train_fraction`` budget field: a fixed, seeded, nested subset of a dataset task's training split."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.array_task import ArrayTask
from benchmark.errors import FptError
from benchmark.profiles import Budget
from benchmark.task import SplitSpec, TaskSpec

N = 1000


class Toy(ArrayTask):
    """An unregistered in-memory dataset task (no prepared data needed)."""

    spec = TaskSpec(name="toy", version="1", modality="numerical", input_kind="continuous", input_dim=1, seq_len=1,
                    output_tokens=1, output_dim=2,
                    splits={"train": SplitSpec(N), "val": SplitSpec(10), "test": SplitSpec(10)})
    code_version = "1"

    def arrays(self, split: str):
        n = {"train": N, "val": 10, "test": 10}[split]
        x = np.arange(n, dtype=np.float32).reshape(n, 1, 1)
        return x, (np.arange(n) % 2)

    def encode(self, x, rng):
        return torch.as_tensor(x), None


def test_subset_is_nested_fixed_and_sized() -> None:
    small, mid, full = (set(ArrayTask.subset_indices(N, f).tolist()) for f in (0.01, 0.1, 1.0))
    assert (len(small), len(mid), len(full)) == (10, 100, N)
    assert small < mid < full
    assert set(ArrayTask.subset_indices(N, 0.1).tolist()) == mid  # fixed: the same on every call
    assert len(ArrayTask.subset_indices(7, 0.01)) == 1  # never empty


def test_training_reads_only_the_subset_for_every_seed_and_covers_it() -> None:
    task = Toy()
    task.set_train_fraction(0.1)
    subset = set(ArrayTask.subset_indices(N, 0.1).tolist())
    for seed in (0, 1, 2):
        seen = np.concatenate([task.train_indices(10, step, seed) for step in range(10)])  # one epoch of the subset
        assert set(seen.tolist()) == subset
        assert len(seen) == len(subset)
        # the next epoch stays inside the subset too
        assert set(task.train_indices(10, 10, seed).tolist()) <= subset


def test_full_fraction_keeps_the_original_batches() -> None:
    task = Toy()
    for step in (0, 3, 150):
        pos = np.arange(step * 8, (step + 1) * 8)
        epochs, offsets = np.divmod(pos, N)
        want = np.array([np.random.default_rng([5, int(e), 7]).permutation(N)[o] for e, o in zip(epochs, offsets)])
        assert np.array_equal(task.train_indices(8, step, 5), want)


def test_fraction_validated() -> None:
    with pytest.raises(FptError, match="train_fraction"):
        Budget(train_fraction=0.0)
    with pytest.raises(FptError, match="train_fraction"):
        Budget(train_fraction=1.5)
    with pytest.raises(FptError, match="train_fraction"):
        Toy().set_train_fraction(0)


def test_trainer_applies_the_fraction_and_refuses_stream_tasks(tmp_path: Path) -> None:
    from benchmark.runner import make_config
    from benchmark.trainer import Trainer

    cfg = make_config("bit-xor", "lstm", profile="ci", options={"hidden": 4, "layers": 1},
                      budget_overrides={"train_fraction": 0.1})
    base = make_config("bit-xor", "lstm", profile="ci", options={"hidden": 4, "layers": 1})
    # recorded in the run's config (its hash), not in the task's fingerprint
    assert cfg.config_hash != base.config_hash and cfg.task_fingerprint == base.task_fingerprint
    assert cfg.budget.train_fraction == 0.1 and base.budget.train_fraction == 1.0
    toy = Toy()
    Trainer(cfg, tmp_path, task=toy, progress=False)
    assert toy.train_fraction == 0.1
    with pytest.raises(FptError, match="dataset tasks only"):
        Trainer(cfg, tmp_path, progress=False)  # bit-xor is an endless stream: nothing to subsample
    Trainer(replace(cfg, budget=replace(cfg.budget, train_fraction=1.0)), tmp_path, progress=False)
