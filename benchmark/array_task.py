"""Base class for dataset-backed tasks: fixed arrays per split, epoch permutations, per-batch encoding.

Subclasses provide raw arrays (typically memory-mapped ``.npy`` files of a prepared dataset) and an
``encode`` that turns raw rows into model inputs (patching, tokenisation, augmentation). Training
walks a permutation per epoch drawn from ``default_rng([seed, epoch])``, so batch ``t`` depends
only on (seed, t): resumable and deterministic without any stored sampler state.

Data efficiency (budget field ``train_fraction``): a run may train on a fraction of the training
split. The subset is the first ``ceil(fraction * n)`` rows of one fixed permutation drawn from
``default_rng([SUBSET_SEED, n])``: the same for every run seed and model (so pretrained and control
see the same rows) and nested (the 1% rows are inside the 10% rows). Epochs then walk permutations of
the subset. The task's fingerprint does not change; the run's config (its budget) does.
"""

from __future__ import annotations

import abc
import math
from functools import lru_cache
from typing import ClassVar

import numpy as np
import torch

from .errors import FptError
from .hashing import sha256_arrays
from .task import Batch, Task


class ArrayTask(Task):
    """A task over fixed arrays. Override ``arrays`` and ``encode``; name the prepared ``dataset``."""

    dataset: ClassVar[str] = ""  # the registered dataset (benchmark.data) whose prepared copy this reads
    SUBSET_SEED: ClassVar[int] = 20210309  # fixed: every run and model trains on the same nested subset
    train_fraction: float = 1.0  # per instance (get_task returns a fresh one); set by the trainer from the budget

    def set_train_fraction(self, fraction: float) -> None:
        """Train on a fixed nested subset of ``fraction`` of the training split (1.0: all of it)."""
        if not 0.0 < float(fraction) <= 1.0:
            raise FptError(f"task '{self.spec.name}': train_fraction must be in (0, 1], got {fraction}")
        self.train_fraction = float(fraction)

    @staticmethod
    @lru_cache(maxsize=16)
    def subset_indices(n: int, fraction: float) -> np.ndarray:
        """Sorted indices of the nested subset: a prefix of one fixed permutation of ``range(n)``."""
        k = max(1, math.ceil(fraction * n))
        order = np.random.default_rng([ArrayTask.SUBSET_SEED, n]).permutation(n)
        return np.sort(order[:k])

    def available(self) -> tuple[bool, str]:
        from .data import DataDamaged, NeedsData, prepared_dir

        try:
            prepared_dir(self.dataset)
        except DataDamaged:
            return False, f"fptbench data prepare {self.dataset} --force"
        except NeedsData:
            return False, f"fptbench data prepare {self.dataset}"
        return True, ""

    def require_data(self) -> None:
        """As ``Task.require_data``; a damaged prepared copy is refused with what is wrong and the fix."""
        from .data import DataDamaged, prepared_dir

        try:
            prepared_dir(self.dataset)
        except DataDamaged as exc:
            raise DataDamaged(f"task '{self.spec.name}': {exc}") from None
        except FptError:
            pass
        super().require_data()

    @abc.abstractmethod
    def arrays(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, labels) of a split: raw rows in dataset order (may be np.memmap)."""

    @abc.abstractmethod
    def encode(self, x: np.ndarray, rng: np.random.Generator | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Raw rows -> (model inputs, padding mask or None). ``rng`` is None for val/test
        (no augmentation) and a seeded generator for training batches."""

    @staticmethod
    @lru_cache(maxsize=64)
    def _permutation(n: int, seed: int, epoch: int) -> np.ndarray:
        return np.random.default_rng([seed, epoch, 7]).permutation(n)

    def train_indices(self, batch_size: int, step: int, seed: int) -> np.ndarray:
        x, _ = self.arrays("train")
        n = len(x)
        subset = None if self.train_fraction >= 1.0 else self.subset_indices(n, self.train_fraction)
        m = n if subset is None else len(subset)
        pos = np.arange(step * batch_size, (step + 1) * batch_size)
        epochs, offsets = np.divmod(pos, m)
        local = np.array([self._permutation(m, seed, int(e))[o] for e, o in zip(epochs, offsets)])
        return local if subset is None else subset[local]

    def train_batch(self, rng: np.random.Generator, batch_size: int, step: int, seed: int) -> Batch:
        x, y = self.arrays("train")
        idx = np.sort(self.train_indices(batch_size, step, seed))  # sorted reads are kinder to memmaps
        inputs, mask = self.encode(np.asarray(x[idx]), rng)
        return Batch(inputs, torch.as_tensor(np.asarray(y[idx]), dtype=torch.long), mask)

    def fixed_split(self, split: str) -> Batch:
        x, y = self.arrays(split)
        inputs, mask = self.encode(np.asarray(x), None)
        return Batch(inputs, torch.as_tensor(np.asarray(y), dtype=torch.long), mask)

    def train_hash(self) -> str:
        x, y = self.arrays("train")
        return sha256_arrays(np.asarray(x), np.asarray(y))
