"""Committed per-task split statistics and the check that rebuilt splits still match them.

``tasks/stats/<task>.json`` records, per split, its size, its label counts and a content hash
(the same hashes that enter the task fingerprint). ``fptbench validate`` rebuilds every split from
the prepared data (or the generator) and compares: a changed download, a different carve, a new
tokenizer or a generator bug shows up as a named difference instead of silently different numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..array_task import ArrayTask
from ..atomic import atomic_path
from ..paths import REPO_ROOT
from ..task import Task, get_task

STATS_DIR = REPO_ROOT / "tasks" / "stats"


def _label_counts(y: np.ndarray) -> dict[str, int]:
    values, counts = np.unique(np.asarray(y).reshape(-1), return_counts=True)
    return {str(int(v)): int(c) for v, c in zip(values, counts)}


def compute_stats(task: Task) -> dict:
    """Sizes, label counts and content hashes of a task's splits (requires its data)."""
    task.require_data()
    splits: dict[str, dict] = {}
    for split in ("train", "val", "test"):
        if split == "train":
            if isinstance(task, ArrayTask):
                _, y = task.arrays("train")
                splits[split] = {"size": int(len(y)), "label_counts": _label_counts(y), "hash": task.train_hash()}
            else:
                splits[split] = {"size": None, "label_counts": None, "hash": task.train_hash()}
            continue
        data = task._fixed(split)
        splits[split] = {"size": len(data), "label_counts": _label_counts(data.y.numpy()), "hash": task.split_hash(split)}
    s = task.spec
    return {"task": s.name, "version": s.version, "code_version": task.code_version, "fingerprint": task.fingerprint,
            "splits": splits}


def stats_path(name: str, stats_dir: Path | None = None) -> Path:
    return (stats_dir or STATS_DIR) / f"{name}.json"


def write_stats(name: str, stats_dir: Path | None = None) -> Path:
    """Compute and (atomically) write ``tasks/stats/<name>.json``; returns its path."""
    stats = compute_stats(get_task(name))
    path = stats_path(name, stats_dir)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(stats, indent=1, sort_keys=True) + "\n")
    return path


def _diff(expected: object, actual: object, where: str, out: list[str]) -> None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual)):
            if key not in actual:
                out.append(f"{where}{key}: missing (expected {expected[key]!r:.60})")
            elif key not in expected:
                out.append(f"{where}{key}: unexpected (got {actual[key]!r:.60})")
            else:
                _diff(expected[key], actual[key], f"{where}{key}.", out)
    elif expected != actual:
        out.append(f"{where.rstrip('.')}: expected {expected!r:.70}, got {actual!r:.70}")


def validate_task(name: str, stats_dir: Path | None = None) -> list[str]:
    """Differences between the rebuilt splits of ``name`` and its committed stats (empty: valid).
    Raises NeedsData when the task's data is not prepared."""
    path = stats_path(name, stats_dir)
    task = get_task(name)
    task.require_data()
    if not path.exists():
        return [f"no stats file {path}: run `fptbench validate --write {name}` and commit it"]
    expected = json.loads(path.read_text())
    problems: list[str] = []
    _diff(expected, compute_stats(task), "", problems)
    return problems


__all__ = ["compute_stats", "write_stats", "validate_task", "stats_path", "STATS_DIR"]
