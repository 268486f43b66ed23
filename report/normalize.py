"""Normalized score: 0 = chance (the majority-class rate of the task's test split), 100 = perfect.

Why: raw accuracies of tasks with 2 and with 10 classes (or with skewed labels) are not on one
scale, so a mean over tasks lets the easy-chance tasks dominate. The Open LLM Leaderboard normalizes
so that chance is 0; we take *chance* to be what always answering the most frequent class of the test
split scores (per output token for multi-token tasks, averaged like the task's accuracy), read from
the task's own test labels through the task registry. A model below chance gets a negative score.
"""

from __future__ import annotations

import numpy as np

from benchmark.errors import FptError

DEFINITION = ("normalized score = 100 \u00d7 (accuracy \u2212 chance) / (100 % \u2212 chance), where chance is the "
              "majority-class rate of the task's test split (0 = always answering the most frequent class, "
              "100 = perfect; negative = below chance)")

_CACHE: dict[str, float | None] = {}


def majority_rate_of_labels(y: np.ndarray) -> float:
    """Accuracy (fraction) of always predicting each output position's most frequent test label."""
    y = np.asarray(y)
    if y.size == 0:
        raise FptError("majority_rate_of_labels: empty label array")
    cols = y.reshape(y.shape[0], -1)
    rates = [np.unique(cols[:, j], return_counts=True)[1].max() / cols.shape[0] for j in range(cols.shape[1])]
    return float(np.mean(rates))


def test_labels(task_name: str) -> np.ndarray:
    """The test labels of a registered task (dataset tasks read their label array, without encoding inputs)."""
    from benchmark.array_task import ArrayTask
    from benchmark.task import get_task

    task = get_task(task_name)
    if isinstance(task, ArrayTask):
        return np.asarray(task.arrays("test")[1])
    return task.fixed_split("test").y.numpy()


def majority_rate(task_name: str) -> float | None:
    """Chance rate (fraction) of a task's test split, or None when the task or its data is not here."""
    if task_name not in _CACHE:
        try:
            _CACHE[task_name] = majority_rate_of_labels(test_labels(task_name))
        except (FptError, OSError, FileNotFoundError):
            _CACHE[task_name] = None
    return _CACHE[task_name]


def normalized(accuracy_pct: float, chance_pct: float) -> float | None:
    """Score in [.., 100]: 0 at chance, 100 at a perfect score; None if chance is already perfect."""
    if chance_pct >= 100.0:
        return None
    return 100.0 * (accuracy_pct - chance_pct) / (100.0 - chance_pct)
